"""The check functions, one module per area. Each takes a ``StreamContext`` and yields
``Violation``s citing rules of ``conformance.rules.catalog``; ``CHECKS`` lists them all, in the
order findings are reported."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from conformance.rules.checks import (
    delivery,
    framing,
    headers,
    lifecycle,
    messages,
    modes,
    resumable,
    runs,
)
from conformance.rules.context import StreamContext, Violation

Check = Callable[[StreamContext], Iterable[Violation]]

CHECKS: tuple[Check, ...] = (
    *headers.CHECKS,
    *framing.CHECKS,
    *lifecycle.CHECKS,
    *modes.CHECKS,
    *messages.CHECKS,
    *delivery.CHECKS,
    *resumable.CHECKS,
    *runs.CHECKS,
)
