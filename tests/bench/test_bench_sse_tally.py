from __future__ import annotations

import orjson
import pytest

from bench.sse_tally import (
    SseTally,
    langgraph_token,
    message_has_text,
    openai_token,
)


def _event(name: str, data: object, newline: bytes = b"\r\n") -> bytes:
    payload = orjson.dumps(data)
    return b"event: " + name.encode() + newline + b"data: " + payload + newline + newline


def _tuple_chunk(content: str) -> list[object]:
    return [{"content": content, "type": "AIMessageChunk", "id": "lc_run--1"}, {"node": "model"}]


STREAM = b"".join(
    [
        _event("metadata", {"run_id": "r", "attempt": 1}),
        b": heartbeat\r\n\r\n",
        _event("values", {"messages": [{"content": "hi"}]}),
        _event("messages", _tuple_chunk("")),
        _event("messages", _tuple_chunk("Hello")),
        _event("messages", _tuple_chunk("!")),
        _event("messages", _tuple_chunk("")),
        _event("values", {"messages": []}),
    ]
)


def _feed_all(tally: SseTally, data: bytes, step: int) -> None:
    for offset in range(0, len(data), step):
        tally.feed(data[offset : offset + step], at=float(offset))


def test_counts_events_and_tokens_but_not_comments() -> None:
    reader = SseTally(langgraph_token)
    reader.feed(STREAM, at=0.5)
    tally = reader.close()
    assert tally.events == 7
    assert tally.token_events == 2
    assert tally.first_event_at == 0.5
    assert tally.first_token_at == 0.5
    assert tally.error_events == 0


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64])
def test_any_chunking_gives_the_same_counts(step: int) -> None:
    reader = SseTally(langgraph_token)
    _feed_all(reader, STREAM, step)
    tally = reader.close()
    assert (tally.events, tally.token_events) == (7, 2)


def test_first_and_last_token_times_come_from_the_chunks_that_completed_them() -> None:
    first = _event("metadata", {"run_id": "r"}) + _event("messages", _tuple_chunk("a"))
    second = _event("messages", _tuple_chunk("b"))
    reader = SseTally(langgraph_token)
    reader.feed(first[:-1], at=1.0)  # the last LF is missing: the token event is not complete
    assert reader.tally.token_events == 0
    reader.feed(first[-1:], at=2.0)
    reader.feed(second, at=3.0)
    tally = reader.close()
    assert (tally.first_token_at, tally.last_token_at) == (2.0, 3.0)


def test_lf_and_cr_line_endings_are_accepted() -> None:
    for newline in (b"\n", b"\r"):
        reader = SseTally(langgraph_token)
        reader.feed(_event("messages", _tuple_chunk("x"), newline), at=0.0)
        assert reader.close().token_events == 1


def test_a_crlf_split_between_chunks_is_one_line_ending() -> None:
    data = _event("metadata", {"a": 1}) + _event("messages", _tuple_chunk("x"))
    split_at = data.index(b"\r\n\r\n") + 1  # between the first CR and its LF
    reader = SseTally(langgraph_token)
    reader.feed(data[:split_at], at=0.0)
    reader.feed(data[split_at:], at=0.0)
    tally = reader.close()
    assert (tally.events, tally.token_events) == (2, 1)


def test_an_unterminated_last_event_is_dropped() -> None:
    reader = SseTally(langgraph_token)
    reader.feed(_event("metadata", {"a": 1}) + b"event: messages\r\ndata: [1]", at=0.0)
    assert reader.close().events == 1


def test_error_events_are_counted_and_kept_short() -> None:
    reader = SseTally(langgraph_token)
    reader.feed(_event("error", {"error": "ValueError", "message": "x" * 1000}), at=0.0)
    tally = reader.close()
    assert tally.error_events == 1
    assert tally.first_error is not None
    assert tally.first_error.startswith('{"error":"ValueError"')
    assert len(tally.first_error) == 300


def test_messages_partial_and_subgraph_names_carry_tokens() -> None:
    assert langgraph_token("messages/partial", orjson.dumps([{"content": "Hel"}]))
    assert not langgraph_token("messages/partial", orjson.dumps([{"content": ""}]))
    assert langgraph_token("messages|research:1", orjson.dumps(_tuple_chunk("x")))
    assert not langgraph_token("values", orjson.dumps(_tuple_chunk("x")))
    assert not langgraph_token("messages", b"not json")
    assert not langgraph_token("messages", b"{}")


def test_content_blocks_count_as_text_only_when_they_hold_text() -> None:
    assert message_has_text([{"type": "text", "text": "a"}])
    assert not message_has_text([{"type": "text", "text": ""}])
    assert not message_has_text([])
    assert not message_has_text(None)


def test_openai_chunks_with_content_are_tokens() -> None:
    def chunk(delta: dict[str, object]) -> bytes:
        return orjson.dumps({"choices": [{"index": 0, "delta": delta}]})

    assert openai_token("message", chunk({"content": "Hi"}))
    assert not openai_token("message", chunk({"role": "assistant", "content": ""}))
    assert not openai_token("message", chunk({"tool_calls": [{"index": 0}]}))
    assert not openai_token("message", b"[DONE]")
    assert not openai_token("message", orjson.dumps({"choices": [], "usage": {}}))


def test_kept_data_is_every_event_payload_in_order() -> None:
    reader = SseTally(openai_token, keep_data=True)
    reader.feed(b'data: {"a":1}\n\ndata: [DONE]\n\n', at=0.0)
    assert reader.close().kept_data == [b'{"a":1}', b"[DONE]"]
