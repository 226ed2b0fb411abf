"""Only the contestant whose turn it is may run: the others are stopped (SIGSTOP) and continued
(SIGCONT) when their turn comes.

All contestants are started at once so that they can take turns round by round; but an idle
server is not idle on the CPU (``langgraph dev`` polls its queue, about a tenth of a core here),
and on two cores that would be charged to whoever is being measured. Signals go to the pids of
each contestant's process tree, which this benchmark started, and to nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable

from bench.process_metrics import process_tree


class Freezer:
    def __init__(self, pids: Iterable[int], *, never_frozen: Iterable[int] = ()) -> None:
        self._roots = [pid for pid in dict.fromkeys(pids) if pid not in set(never_frozen)]
        self._frozen: dict[int, tuple[int, ...]] = {}

    def only(self, running_pid: int) -> bool:
        """Let ``running_pid`` (and anything never frozen) run; stop every other contestant.
        True when ``running_pid`` had been stopped and has just been continued."""
        thawed = False
        for root in self._roots:
            if root == running_pid:
                thawed = self._thaw(root)
            else:
                self._freeze(root)
        return thawed

    def thaw_all(self) -> None:
        for root in list(self._frozen):
            self._thaw(root)

    @property
    def frozen(self) -> tuple[int, ...]:
        return tuple(self._frozen)

    def _freeze(self, root: int) -> None:
        if root in self._frozen:
            return
        tree = process_tree(root)
        for pid in tree:
            _signal(pid, signal.SIGSTOP)
        self._frozen[root] = tree

    def _thaw(self, root: int) -> bool:
        tree = self._frozen.pop(root, None)
        if tree is None:
            return False
        for pid in tree:
            _signal(pid, signal.SIGCONT)
        return True


def _signal(pid: int, signal_number: signal.Signals) -> None:
    # A process that ended on its own meanwhile needs no signal.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal_number)
