"""The SSE framing and the JSON encoding match what ``langgraph dev`` puts on the wire."""

from __future__ import annotations

import dataclasses
import json

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langgraph.types import Interrupt, Send

from reference_server.streaming.serialise import dumps
from reference_server.streaming.sse import HEARTBEAT, encode_event


def test_event_lines_end_in_crlf_in_upstream_field_order() -> None:
    assert encode_event("values", b'{"a":1}') == b'event: values\r\ndata: {"a":1}\r\n\r\n'
    assert (
        encode_event("metadata", b"{}", "1795510500331-00000001")
        == b"event: metadata\r\ndata: {}\r\nid: 1795510500331-00000001\r\n\r\n"
    )


def test_heartbeat_is_the_upstream_comment() -> None:
    assert HEARTBEAT == b": heartbeat\r\n\r\n"


def test_json_is_compact_and_keeps_non_ascii_unescaped() -> None:
    assert dumps({"text": "21°C à Paris", "list": [1, 2]}) == (
        '{"text":"21°C à Paris","list":[1,2]}'.encode()
    )


def test_null_bytes_falsy_values_and_escapes_survive_a_round_trip() -> None:
    payload = {"nul": "a\x00b", "zero": 0, "empty": "", "false": False, "slash": "\\u00e9"}
    assert json.loads(dumps(payload)) == payload


def test_messages_encode_as_upstream_field_order() -> None:
    human = HumanMessage(content="hi", id="h1")
    assert dumps(human) == (
        b'{"content":"hi","additional_kwargs":{},"response_metadata":{},"type":"human",'
        b'"name":null,"id":"h1"}'
    )
    ai = AIMessage(content="yo", id="a1")
    assert dumps(ai).endswith(b'"tool_calls":[],"invalid_tool_calls":[],"usage_metadata":null}')
    chunk = AIMessageChunk(content="y", id="c1")
    assert dumps(chunk).endswith(b'"tool_call_chunks":[],"chunk_position":null}')


def test_interrupts_tuples_and_sends_encode() -> None:
    interrupt = Interrupt(value={"question": "ok?"}, id="i1")
    encoded = json.loads(dumps({"__interrupt__": (interrupt,)}))
    assert encoded["__interrupt__"][0]["value"] == {"question": "ok?"}
    assert encoded["__interrupt__"][0]["id"] == "i1"
    send = json.loads(dumps(Send("node", {"x": 1})))
    assert (send["node"], send["arg"]) == ("node", {"x": 1})


def test_slotted_dataclasses_and_sets_encode() -> None:
    @dataclasses.dataclass(slots=True)
    class Point:
        x: int
        y: int

    assert json.loads(dumps({"point": Point(1, 2), "tags": {"a"}})) == {
        "point": {"x": 1, "y": 2},
        "tags": ["a"],
    }
