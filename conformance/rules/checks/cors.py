"""Cross-origin access (the Fetch standard's CORS protocol) as a browser applies it: on every
exchange whose request carried an ``Origin`` header, stream or not, preflight or not.

Only what the browser itself enforces is judged, so that a server choosing other words than
langgraph dev (its origin echoed instead of ``*``, 204 instead of 200, the methods it was
asked for instead of all of them) passes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from conformance.rules.context import Violation

_SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})
"""Fetch: a preflight need not list these in Access-Control-Allow-Methods."""
_SAFELISTED_REQUEST_HEADERS = frozenset({"accept", "accept-language", "content-language"})
"""Fetch: request headers a preflight need not allow (content-type is one only for the form
and plain-text types, never for application/json, so it is judged)."""
SDK_READ_HEADERS = ("content-location", "x-pagination-next")
"""Response headers the JS SDK reads: a cross-origin page sees them only when exposed."""


@dataclass(frozen=True, slots=True)
class CrossOriginExchange:
    """What the CORS checks read of one exchange."""

    method: str
    request_headers: Sequence[tuple[str, str]]
    status: int
    response_headers: Sequence[tuple[str, str]]

    def request_header(self, name: str) -> str | None:
        return _first(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        return _first(self.response_headers, name)


def _first(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def _tokens(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


def is_preflight(exchange: CrossOriginExchange) -> bool:
    return (
        exchange.method.upper() == "OPTIONS"
        and exchange.request_header("origin") is not None
        and exchange.request_header("access-control-request-method") is not None
    )


def _origin_allowed(exchange: CrossOriginExchange) -> Violation | None:
    origin = exchange.request_header("origin")
    allowed = exchange.response_header("access-control-allow-origin")
    if allowed is not None and allowed.strip() in ("*", origin):
        return None
    rule = "cors.preflight" if is_preflight(exchange) else "cors.allow-origin"
    return Violation(
        rule,
        f"Access-Control-Allow-Origin is {allowed!r}: the browser withholds the answer from a "
        f"page of {origin}"
        if allowed is not None
        else f"no Access-Control-Allow-Origin: the browser withholds the answer from a page of "
        f"{origin}",
        expected=f"* or {origin}",
        actual=allowed,
    )


def preflight(exchange: CrossOriginExchange) -> Iterator[Violation]:
    if not 200 <= exchange.status < 300:
        yield Violation(
            "cors.preflight",
            f"the preflight is answered {exchange.status}: the browser sends no request after it",
            expected="2xx",
            actual=exchange.status,
        )
        return
    refused = _origin_allowed(exchange)
    if refused is not None:
        yield refused
        return
    method = (exchange.request_header("access-control-request-method") or "").strip().upper()
    methods = {
        token.upper() for token in _tokens(exchange.response_header("access-control-allow-methods"))
    }
    if method not in _SAFELISTED_METHODS and method not in methods and "*" not in methods:
        yield Violation(
            "cors.preflight",
            f"Access-Control-Allow-Methods does not allow {method}",
            expected=method,
            actual=exchange.response_header("access-control-allow-methods"),
        )
    asked = _tokens(exchange.request_header("access-control-request-headers"))
    allowed = _tokens(exchange.response_header("access-control-allow-headers"))
    missing = sorted(asked - allowed - _SAFELISTED_REQUEST_HEADERS)
    if missing and "*" not in allowed:
        yield Violation(
            "cors.preflight",
            f"Access-Control-Allow-Headers does not allow {', '.join(missing)}",
            expected=", ".join(sorted(asked)),
            actual=exchange.response_header("access-control-allow-headers"),
        )


def response(exchange: CrossOriginExchange) -> Iterator[Violation]:
    refused = _origin_allowed(exchange)
    if refused is not None:
        yield refused
        return
    exposed = _tokens(exchange.response_header("access-control-expose-headers"))
    hidden = [
        name
        for name in SDK_READ_HEADERS
        if exchange.response_header(name) is not None and name not in exposed
    ]
    if hidden and "*" not in exposed:
        yield Violation(
            "cors.expose-headers",
            f"{', '.join(hidden)} not in Access-Control-Expose-Headers: a page's SDK reads "
            "null there",
            expected=", ".join(hidden),
            actual=exchange.response_header("access-control-expose-headers"),
        )


def check(exchange: CrossOriginExchange) -> Iterator[Violation]:
    """Every CORS violation of one exchange; nothing when its request had no Origin."""
    if exchange.request_header("origin") is None:
        return
    yield from (preflight if is_preflight(exchange) else response)(exchange)
