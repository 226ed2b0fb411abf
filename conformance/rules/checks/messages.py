"""Message streaming: messages/metadata before partials; messages-tuple pairs with ids."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.rules.context import StreamContext, Violation


def metadata_before_partial(context: StreamContext) -> Iterator[Violation]:
    announced: set[str] = set()
    for view in context.events:
        if view.base_name == "messages/metadata" and isinstance(view.payload, dict):
            announced.update(key for key in view.payload if isinstance(key, str))
        elif view.base_name in ("messages/partial", "messages/complete"):
            if not isinstance(view.payload, list):
                continue
            for position, message in enumerate(view.payload):
                message_id = message.get("id") if isinstance(message, dict) else None
                if isinstance(message_id, str) and message_id not in announced:
                    yield Violation(
                        "messages.metadata-before-partial",
                        f"{view.name} of message {message_id!r} before its messages/metadata",
                        event_index=view.index,
                        pointer=f"/{position}/id",
                        actual=message_id,
                    )
                    announced.add(message_id)  # one finding per message


def tuple_pairs(context: StreamContext) -> Iterator[Violation]:
    modes = context.requested_modes
    if modes is not None and "messages-tuple" not in modes:
        return  # a bare "messages" event is then modes.requested-only's business
    for view in context.events:
        if view.base_name != "messages" or not view.is_json:
            continue
        payload = view.payload
        if not (
            isinstance(payload, list)
            and len(payload) == 2
            and isinstance(payload[0], dict)
            and isinstance(payload[1], dict)
        ):
            yield Violation(
                "messages.tuple-shape",
                "a messages event's data is not [message chunk, metadata]",
                event_index=view.index,
                expected="[{...}, {...}]",
                actual=payload,
            )
            continue
        chunk_id = payload[0].get("id")
        if not isinstance(chunk_id, str) or not chunk_id:
            yield Violation(
                "messages.tuple-id",
                "a messages-tuple chunk has no id"
                if "id" not in payload[0]
                else f"a messages-tuple chunk's id is {chunk_id!r}",
                event_index=view.index,
                pointer="/0/id",
                expected="<non-empty string>",
                actual=chunk_id,
            )


CHECKS = (metadata_before_partial, tuple_pairs)
