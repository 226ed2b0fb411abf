"""CPU seconds and resident memory of a server process and all its descendants, from /proc.

A server may fork workers (``langgraph dev`` runs its server in a child), so every figure covers
the whole process tree under the pid the benchmark started. CPU counts each live process's own
user+system time plus the time of children it has already reaped (``cutime``/``cstime``), so a
worker that exits between two readings is not lost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC_ROOT = Path("/proc")
_CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class TreeSnapshot:
    """One reading of a process tree."""

    pids: tuple[int, ...]
    cpu_seconds: float
    rss_bytes: int
    pss_bytes: int
    """Proportional set size: pages shared between the tree's processes (a forked worker
    shares its parent's imports) counted once in all, not once per process as RSS does."""


def _stat_fields(pid: int, proc_root: Path) -> list[str] | None:
    try:
        text = (proc_root / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces or parentheses itself:
    # the fields after it start after the LAST closing parenthesis.
    closing = text.rfind(")")
    if closing < 0:
        return None
    return text[closing + 2 :].split()


def _parent_pid(pid: int, proc_root: Path) -> int | None:
    fields = _stat_fields(pid, proc_root)
    # After the command name: state (0), ppid (1).
    return int(fields[1]) if fields and len(fields) > 1 else None


def process_tree(root_pid: int, proc_root: Path = PROC_ROOT) -> tuple[int, ...]:
    """The root and every live descendant, root first; empty when the root is gone."""
    if _stat_fields(root_pid, proc_root) is None:
        return ()
    children: dict[int, list[int]] = {}
    for entry in proc_root.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        parent = _parent_pid(pid, proc_root)
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    tree: list[int] = []
    frontier = [root_pid]
    while frontier:
        pid = frontier.pop()
        tree.append(pid)
        frontier.extend(sorted(children.get(pid, ()), reverse=True))
    return tuple(tree)


def cpu_seconds(pid: int, proc_root: Path = PROC_ROOT) -> float:
    """utime + stime + cutime + cstime of one process, in seconds (0 when it is gone)."""
    fields = _stat_fields(pid, proc_root)
    if fields is None or len(fields) < 15:
        return 0.0
    # Fields 14-17 of /proc/<pid>/stat (1-based) are utime, stime, cutime, cstime; the list here
    # starts at field 3.
    ticks = sum(int(value) for value in fields[11:15])
    return ticks / _CLOCK_TICKS_PER_SECOND


def rss_bytes(pid: int, proc_root: Path = PROC_ROOT) -> int:
    """VmRSS of one process in bytes (0 when it is gone or is a zombie without one)."""
    try:
        text = (proc_root / str(pid) / "status").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            parts = line.split()
            unit = parts[2].lower() if len(parts) > 2 else "kb"
            if unit != "kb":
                raise ValueError(f"unexpected VmRSS unit {parts[2]!r} in /proc/{pid}/status")
            return int(parts[1]) * 1024
    return 0


def pss_bytes(pid: int, proc_root: Path = PROC_ROOT) -> int:
    """Pss of one process in bytes, from smaps_rollup (0 when it is gone or unreadable)."""
    try:
        text = (proc_root / str(pid) / "smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def snapshot(root_pid: int, proc_root: Path = PROC_ROOT) -> TreeSnapshot:
    """CPU and RSS summed over the tree under ``root_pid``."""
    pids = process_tree(root_pid, proc_root)
    return TreeSnapshot(
        pids=pids,
        cpu_seconds=sum(cpu_seconds(pid, proc_root) for pid in pids),
        rss_bytes=sum(rss_bytes(pid, proc_root) for pid in pids),
        pss_bytes=sum(pss_bytes(pid, proc_root) for pid in pids),
    )
