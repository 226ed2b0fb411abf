"""The strict SSE parser on the web-platform-tests ``eventsource/format-*`` behaviours (written
from the WHATWG spec), each also fed one byte at a time and in uneven slices: same result."""

from __future__ import annotations

import random

import pytest

from conformance.sse import ParsedStream, SSEParser, parse_stream
from conformance.sse.parser import DiagnosticCode, LineEnding


def _parse_sliced(stream: bytes, sizes: list[int]) -> ParsedStream:
    chunks: list[bytes] = []
    position = 0
    index = 0
    while position < len(stream):
        size = sizes[index % len(sizes)]
        chunks.append(stream[position : position + size])
        position += size
        index += 1
    return parse_stream(chunks)


def _parse_everyway(stream: bytes) -> ParsedStream:
    """Parse whole, one byte at a time and in random slices; all must agree."""
    whole = parse_stream(stream)
    assert _parse_sliced(stream, [1]) == whole
    generator = random.Random(len(stream))
    assert _parse_sliced(stream, [generator.randint(1, 9) for _ in range(32)]) == whole
    assert _parse_sliced(stream, [2, 3]) == whole
    return whole


def _datas(stream: bytes) -> list[str]:
    return [event.data for event in _parse_everyway(stream).events]


def _codes(parsed: ParsedStream) -> list[DiagnosticCode]:
    return [diagnostic.code for diagnostic in parsed.diagnostics]


# --- format-* cases ----------------------------------------------------------------------------


def test_bom_only_the_first_is_stripped() -> None:
    # format-bom: the second BOM makes "\ufeffdata" an unknown field.
    stream = "\ufeffdata:1\n\n\ufeffdata:2\n\ndata:3\n\n".encode()
    parsed = _parse_everyway(stream)
    assert [event.data for event in parsed.events] == ["1", "3"]
    assert _codes(parsed) == [DiagnosticCode.BOM_STRIPPED, DiagnosticCode.UNKNOWN_FIELD]


def test_two_leading_boms_lose_the_first_event() -> None:
    # format-bom-2
    assert _datas("\ufeff\ufeffdata:1\n\ndata:2\n\ndata:3\n\n".encode()) == ["2", "3"]


def test_comments_between_data_lines_with_mixed_line_endings() -> None:
    # format-comments
    long_comment = "x" * 2049
    stream = (
        "data:1\r:\x00\n:\r\ndata:2\n:"
        + long_comment
        + "\rdata:3\n:data:fail\r:"
        + long_comment
        + "\ndata:4\n\n"
    ).encode()
    parsed = _parse_everyway(stream)
    assert [event.data for event in parsed.events] == ["1\n2\n3\n4"]
    assert [comment.text for comment in parsed.comments] == [
        "\x00",
        "",
        long_comment,
        "data:fail",
        long_comment,
    ]
    assert parsed.diagnostics == ()


def test_data_before_final_empty_line_is_dropped() -> None:
    # format-data-before-final-empty-line
    parsed = _parse_everyway(b"retry:1000\ndata:test1\n\nid:test\ndata:test2")
    assert [event.data for event in parsed.events] == ["test1"]
    assert parsed.events[0].retry == 1000
    assert _codes(parsed) == [DiagnosticCode.UNTERMINATED_EVENT]


def test_data_field_with_and_without_colon() -> None:
    # format-field-data: "data:" gives "", "data\ndata" gives "\n".
    assert _datas(b"data:\n\ndata\ndata\n\ndata:test\n\n") == ["", "\n", "test"]


def test_field_parsing_fun() -> None:
    # format-field-parsing: only the exact field name "data" counts; one leading space removed.
    stream = (
        b"data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\n"
        b"data:3\rdata:\r\n data:32\ndata:4\n\n"
    )
    assert _datas(stream) == ["\x00\n 2\n1\n3\n\n4"]


def test_unknown_fields_and_text_without_colon() -> None:
    # format-field-unknown
    stream = b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n"
    parsed = _parse_everyway(stream)
    assert [event.data for event in parsed.events] == ["test\n\ntest"]
    assert _codes(parsed) == [DiagnosticCode.UNKNOWN_FIELD] * 3


def test_empty_event_field_means_message() -> None:
    # format-field-event-empty
    parsed = _parse_everyway(b"event: \ndata:data\n\n")
    assert [(event.event, event.data) for event in parsed.events] == [("message", "data")]


def test_event_field_names_the_event() -> None:
    # format-field-event
    parsed = _parse_everyway(b"event:test\ndata:x\n\ndata:y\n\n")
    assert [(event.event, event.data) for event in parsed.events] == [
        ("test", "x"),
        ("message", "y"),
    ]


def test_event_without_data_dispatches_nothing() -> None:
    parsed = _parse_everyway(b"event: end\n\nevent: values\ndata: {}\n\n")
    assert [(event.event, event.index) for event in parsed.events] == [("values", 0)]
    assert _codes(parsed) == [DiagnosticCode.EVENT_WITHOUT_DATA]


def test_id_persists_until_changed_and_empty_id_resets() -> None:
    # format-field-id, format-field-id-2
    stream = b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\nid\ndata: d\n\nid:\ndata: e\n\n"
    parsed = _parse_everyway(stream)
    assert [(event.data, event.last_event_id, event.id) for event in parsed.events] == [
        ("a", "1", "1"),
        ("b", "1", None),
        ("c", "2", "2"),
        ("d", "", ""),
        ("e", "", ""),
    ]


def test_id_with_nul_is_ignored() -> None:
    # format-field-id-null
    parsed = _parse_everyway(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [(event.last_event_id, event.id) for event in parsed.events] == [
        ("1", "1"),
        ("1", None),
    ]
    assert _codes(parsed) == [DiagnosticCode.ID_WITH_NUL]


def test_id_without_data_sets_the_last_event_id() -> None:
    # An id-only block dispatches nothing but still sets the last event id.
    parsed = _parse_everyway(b"id: 7\n\n: keepalive\n\ndata: x\n\n")
    assert [(event.data, event.last_event_id, event.id) for event in parsed.events] == [
        ("x", "7", None)
    ]


@pytest.mark.parametrize("value", ["-5", "1.5", "abc", "  10", "1e3", "", "\u0661\u0662"])
def test_bogus_retry_is_ignored(value: str) -> None:
    # format-field-retry-bogus
    parsed = _parse_everyway(f"retry:{value}\ndata:x\n\n".encode())
    assert [(event.data, event.retry) for event in parsed.events] == [("x", None)]
    assert _codes(parsed) == [DiagnosticCode.INVALID_RETRY]


def test_valid_retry() -> None:
    parser = SSEParser()
    events = parser.feed(b"retry: 3000\ndata: x\n\n") + parser.close()
    assert events[0].retry == 3000
    assert parser.reconnection_time == 3000


def test_leading_space_removed_only_once() -> None:
    # format-leading-space
    assert _datas(b"data:\ttest\rdata: \r\ndata:   x\n\n") == ["\ttest\n\n  x"]


@pytest.mark.parametrize(
    ("newline", "ending"),
    [(b"\r\n", LineEnding.CRLF), (b"\n", LineEnding.LF), (b"\r", LineEnding.CR)],
)
def test_each_line_ending(newline: bytes, ending: LineEnding) -> None:
    # format-newlines
    stream = newline.join([b"event: metadata", b'data: {"run_id":"r"}', b"", b""])
    parsed = _parse_everyway(stream)
    assert [(event.event, event.data) for event in parsed.events] == [
        ("metadata", '{"run_id":"r"}')
    ]
    assert parsed.events[0].line_endings == (ending, ending, ending)
    assert parsed.line_endings == {ending: 3}
    assert parsed.diagnostics == ()


def test_crlf_split_across_writes_is_one_line_ending() -> None:
    parser = SSEParser()
    events = parser.feed(b"data: a\r")
    assert events == []
    events += parser.feed(b"\n\r")
    # The blank line's CR dispatches at once: the event does not wait for the next write.
    assert [event.data for event in events] == ["a"]
    events += parser.feed(b"\n")
    events += parser.close()
    assert [event.data for event in events] == ["a"]
    # The LF after each CR completes a CRLF: two line endings, both CRLF, never a blank line.
    assert parser.line_endings == {LineEnding.CRLF: 2}
    assert parser.diagnostics == []
    # Seen whole, the event's bytes are the same whichever way the writes were cut.
    whole = parse_stream([b"data: a\r", b"\n\r", b"\n"])
    assert [(e.raw, e.line_endings) for e in whole.events] == [
        (b"data: a\r\n\r\n", (LineEnding.CRLF, LineEnding.CRLF))
    ]


def test_cr_ends_an_event_at_once_when_the_server_pauses() -> None:
    # A server framing with CR alone that pauses after an event: the event is dispatched by
    # the feed that brought its blank line's CR, not held until the next byte.
    parser = SSEParser()
    stream = b'event: metadata\rdata: {"run_id":"r"}\r\r'
    dispatched_at = []
    for position in range(len(stream)):
        if parser.feed(stream[position : position + 1]):
            dispatched_at.append(position)
    assert dispatched_at == [len(stream) - 1]
    # The next event starts with a field line, not an LF: nothing is skipped or merged.
    assert [e.data for e in parser.feed(b"data: 2\r\r")] == ["2"]


def test_lf_after_cr_is_skipped_once_only() -> None:
    # CR then LF is one line ending; a second LF is a line ending of its own (a blank line).
    parser = SSEParser()
    assert parser.feed(b"data: 1\r") == []
    assert [e.data for e in parser.feed(b"\n\n")] == ["1"]
    assert _datas(b"data: 1\r\n\ndata: 2\r\r\ndata: 3\n\r\n") == ["1", "2", "3"]


def test_null_character_kept_in_data() -> None:
    # format-null-character
    assert _datas(b"data:\x00\n\n") == ["\x00"]


def test_utf8_data_and_invalid_utf8_replaced() -> None:
    # format-utf-8: a multi-byte character split across writes is still one character.
    assert _datas("data: Ünïcödé 𝄞\n\n".encode()) == ["Ünïcödé 𝄞"]
    parsed = _parse_everyway(b"data: \xff\xfe\n\n")
    assert [event.data for event in parsed.events] == ["\ufffd\ufffd"]
    assert _codes(parsed) == [DiagnosticCode.INVALID_UTF8]


def test_offsets_and_raw_bytes_of_events() -> None:
    stream = b": heartbeat\r\n\r\nevent: a\r\ndata: 1\r\n\r\n: note\r\nevent: b\r\ndata: 2\r\n\r\n"
    parsed = _parse_everyway(stream)
    first, second = parsed.events
    assert (first.offset, first.raw) == (15, b"event: a\r\ndata: 1\r\n\r\n")
    # A comment inside a block belongs to that block's raw bytes.
    assert second.raw == b": note\r\nevent: b\r\ndata: 2\r\n\r\n"
    assert stream[second.offset :].startswith(b": note")
    assert [comment.offset for comment in parsed.comments] == [0, 36]


def test_offsets_count_a_stripped_bom() -> None:
    parsed = _parse_everyway(b"\xef\xbb\xbfdata: x\n\n")
    assert parsed.events[0].offset == 3


def test_unterminated_comment_at_end() -> None:
    parsed = _parse_everyway(b"data: x\n\n: heart")
    assert [event.data for event in parsed.events] == ["x"]
    assert _codes(parsed) == [DiagnosticCode.UNTERMINATED_LINE]


def test_stream_ending_in_cr_is_a_complete_line() -> None:
    assert _datas(b"data: x\r\r") == ["x"]


def test_feed_after_close_is_ignored_and_said() -> None:
    parser = SSEParser()
    parser.feed(b"data: x\n\n")
    parser.close()
    assert parser.feed(b"data: y\n\n") == []
    assert [diagnostic.code for diagnostic in parser.diagnostics] == [
        DiagnosticCode.DATA_AFTER_CLOSE
    ]


def test_empty_and_bom_only_streams() -> None:
    assert parse_stream(b"").events == ()
    parsed = _parse_everyway(b"\xef\xbb")
    assert parsed.events == ()
    assert _codes(parsed) == [DiagnosticCode.UNTERMINATED_EVENT]


def test_event_indexes_count_dispatched_events_only() -> None:
    parsed = _parse_everyway(b"data: a\n\n: c\n\nevent: x\n\nid: 3\n\ndata: b\n\n")
    assert [(event.index, event.data) for event in parsed.events] == [(0, "a"), (1, "b")]


def test_langgraph_dev_style_stream() -> None:
    stream = (
        b'event: metadata\r\ndata: {"run_id":"1f0","attempt":1}\r\nid: 1700000000000-0\r\n\r\n'
        b": heartbeat\r\n\r\n"
        b'event: values\r\ndata: {"messages":[]}\r\nid: 1700000000001-0\r\n\r\n'
    )
    parsed = _parse_everyway(stream)
    assert [(event.event, event.id) for event in parsed.events] == [
        ("metadata", "1700000000000-0"),
        ("values", "1700000000001-0"),
    ]
    assert [comment.text for comment in parsed.comments] == [" heartbeat"]
    assert parsed.diagnostics == ()
