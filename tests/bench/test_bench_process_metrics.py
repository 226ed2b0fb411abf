from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import process_metrics
from bench.process_metrics import cpu_seconds, process_tree, rss_bytes, snapshot

TICKS = os.sysconf("SC_CLK_TCK")


def _fake_process(
    root: Path,
    pid: int,
    parent: int,
    *,
    name: str = "python",
    ticks: tuple[int, int, int, int] = (0, 0, 0, 0),
    rss_kb: int | None = 1000,
) -> None:
    folder = root / str(pid)
    folder.mkdir()
    utime, stime, cutime, cstime = ticks
    # Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
    # cmajflt utime stime cutime cstime ...
    rest = f"S {parent} 1 1 0 -1 0 0 0 0 0 {utime} {stime} {cutime} {cstime} 20 0 1 0"
    (folder / "stat").write_text(f"{pid} ({name}) {rest}\n")
    status = f"Name:\t{name}\nState:\tS (sleeping)\n"
    if rss_kb is not None:
        status += f"VmRSS:\t  {rss_kb} kB\n"
        (folder / "smaps_rollup").write_text(f"Rss: {rss_kb} kB\nPss:  {rss_kb // 2} kB\n")
    (folder / "status").write_text(status)


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    _fake_process(tmp_path, 1, 0, name="init")
    _fake_process(tmp_path, 100, 1, ticks=(TICKS, TICKS, 0, 0), rss_kb=2000)
    # A name with spaces and parentheses must not shift the fields.
    _fake_process(tmp_path, 101, 100, name="uvicorn (worker) 1", ticks=(2 * TICKS, 0, 0, 0))
    _fake_process(tmp_path, 102, 101, ticks=(0, 0, TICKS, TICKS), rss_kb=500)
    _fake_process(tmp_path, 200, 1, ticks=(50 * TICKS, 0, 0, 0), rss_kb=9999)
    _fake_process(tmp_path, 103, 100, name="zombie", rss_kb=None)
    (tmp_path / "self").mkdir()  # not a pid: ignored
    return tmp_path


def test_the_tree_holds_the_root_and_every_descendant_only(proc: Path) -> None:
    assert sorted(process_tree(100, proc)) == [100, 101, 102, 103]
    assert process_tree(100, proc)[0] == 100


def test_cpu_counts_own_and_reaped_children_time(proc: Path) -> None:
    assert cpu_seconds(100, proc) == 2.0
    assert cpu_seconds(101, proc) == 2.0
    assert cpu_seconds(102, proc) == 2.0  # cutime + cstime


def test_snapshot_sums_the_tree(proc: Path) -> None:
    reading = snapshot(100, proc)
    assert reading.cpu_seconds == 6.0
    assert reading.rss_bytes == (2000 + 1000 + 500) * 1024  # the zombie has no VmRSS
    assert reading.pss_bytes == (1000 + 500 + 250) * 1024


def test_a_process_that_is_gone_reads_as_nothing(proc: Path) -> None:
    assert process_tree(999, proc) == ()
    assert cpu_seconds(999, proc) == 0.0
    assert rss_bytes(999, proc) == 0
    assert snapshot(999, proc).pids == ()


def test_an_unexpected_rss_unit_is_an_error_naming_it(proc: Path) -> None:
    (proc / "100" / "status").write_text("VmRSS:\t 5 MB\n")
    with pytest.raises(ValueError, match="unexpected VmRSS unit 'MB'"):
        rss_bytes(100, proc)


def test_the_real_proc_sees_this_process() -> None:
    reading = snapshot(os.getpid(), process_metrics.PROC_ROOT)
    assert reading.pids[0] == os.getpid()
    assert reading.rss_bytes > 0
    assert reading.cpu_seconds > 0
