"""Stream response headers: content type, caching, proxy buffering, where the run lives."""

from __future__ import annotations

import re
from collections.abc import Iterator

from conformance.rules.context import StreamContext, Violation

_LOCATION = re.compile(r"/runs/(?P<run>[^/?#]+)/stream/?(?:[?#].*)?$")
_CONTENT_LOCATION = re.compile(r"/runs/(?P<run>[^/?#]+)/?(?:[?#].*)?$")


def _media_type(value: str) -> tuple[str, dict[str, str]]:
    kind, *parameters = value.split(";")
    parsed: dict[str, str] = {}
    for parameter in parameters:
        name, _, argument = parameter.partition("=")
        parsed[name.strip().lower()] = argument.strip().strip('"').lower()
    return kind.strip().lower(), parsed


def content_type(context: StreamContext) -> Iterator[Violation]:
    value = context.headers.get("content-type")
    if value is None:
        yield Violation(
            "headers.content-type",
            "the stream has no Content-Type header",
            expected="text/event-stream; charset=utf-8",
        )
        return
    kind, parameters = _media_type(value)
    if kind != "text/event-stream":
        yield Violation(
            "headers.content-type",
            f"the stream's Content-Type is {value!r}, not text/event-stream",
            expected="text/event-stream; charset=utf-8",
            actual=value,
        )
    elif parameters.get("charset", "utf-8") not in ("utf-8", "utf8"):
        yield Violation(
            "headers.content-type",
            f"the stream's charset is {parameters['charset']!r}: an event stream is UTF-8",
            expected="text/event-stream; charset=utf-8",
            actual=value,
        )


def cache_control(context: StreamContext) -> Iterator[Violation]:
    value = context.headers.get("cache-control", "")
    directives = {part.strip().lower() for part in value.split(",")}
    if "no-store" not in directives:
        yield Violation(
            "headers.cache-control",
            f"Cache-Control is {value!r}" if value else "no Cache-Control header",
            expected="no-store",
            actual=value or None,
        )


def accel_buffering(context: StreamContext) -> Iterator[Violation]:
    value = context.headers.get("x-accel-buffering")
    if (value or "").strip().lower() != "no":
        yield Violation(
            "headers.x-accel-buffering",
            f"X-Accel-Buffering is {value!r}" if value else "no X-Accel-Buffering header",
            expected="no",
            actual=value,
        )


def _names_run(
    context: StreamContext, rule: str, header: str, pattern: re.Pattern[str], shape: str
) -> Iterator[Violation]:
    value = context.headers.get(header)
    if value is None:
        yield Violation(rule, f"the run stream has no {header} header", expected=shape)
        return
    match = pattern.search(value)
    if match is None:
        yield Violation(
            rule, f"{header} {value!r} does not have the form {shape}", expected=shape, actual=value
        )
        return
    run_id = context.metadata_run_id
    if run_id is not None and match.group("run") != run_id:
        yield Violation(
            rule,
            f"{header} {value!r} names run {match.group('run')!r}, but the stream's metadata "
            f"says run {run_id!r}",
            expected=run_id,
            actual=match.group("run"),
        )


def location(context: StreamContext) -> Iterator[Violation]:
    # Only a new run's stream: that is where clients read it (to reconnect, to find the run).
    if context.creates_run:
        yield from _names_run(
            context, "headers.location", "location", _LOCATION, "<...>/runs/<run id>/stream"
        )


def content_location(context: StreamContext) -> Iterator[Violation]:
    if context.creates_run:
        yield from _names_run(
            context,
            "headers.content-location",
            "content-location",
            _CONTENT_LOCATION,
            "<...>/runs/<run id>",
        )


CHECKS = (content_type, cache_control, accel_buffering, location, content_location)
