"""A throwaway Postgres cluster from the distribution's binaries, for tests and benchmarks.

``with throwaway_postgres() as url:`` makes a cluster in a temporary folder (``initdb``, run as
the ``postgres`` user when we are root, as Postgres refuses root), starts it on a free loopback
port with trust authentication and no fsync (nothing in it needs to survive), yields its
``postgresql://`` URL, then stops it and removes the folder. Only the cluster started here is
ever stopped, through its own data folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from conformance.processes import free_port

POSTGRES_BINARIES_ENVIRONMENT_VARIABLE = "POSTGRES_BINARIES"
"""A folder holding ``initdb`` and ``pg_ctl``, when they are not where Debian puts them."""
_DEBIAN_BINARIES = Path("/usr/lib/postgresql")
_SERVICE_USER = "postgres"


class PostgresUnavailableError(RuntimeError):
    """No Postgres binaries here, or the cluster would not start; the message says which."""


def postgres_binaries() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``: $POSTGRES_BINARIES, else the newest Debian one."""
    configured = os.environ.get(POSTGRES_BINARIES_ENVIRONMENT_VARIABLE)
    if configured:
        return Path(configured)
    versions = sorted(
        (path for path in _DEBIAN_BINARIES.glob("*/bin") if (path / "initdb").is_file()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not versions:
        raise PostgresUnavailableError(
            f"no Postgres binaries under {_DEBIAN_BINARIES}: install them with "
            "`apt-get install -y postgresql`, or set $POSTGRES_BINARIES"
        )
    return versions[-1]


@contextmanager
def throwaway_postgres(*, max_connections: int = 200) -> Iterator[str]:
    """A fresh cluster's URL (database ``postgres``, user ``postgres``) for the block's time."""
    binaries = postgres_binaries()
    folder = Path(tempfile.mkdtemp(prefix="reference-server-postgres-"))
    data = folder / "data"
    as_root = os.geteuid() == 0
    if as_root:
        shutil.chown(folder, user=_SERVICE_USER, group=_SERVICE_USER)
    port = free_port()
    started = False
    try:
        _run(
            [
                str(binaries / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                "postgres",
                "--auth",
                "trust",
                "--no-sync",
                "--encoding",
                "UTF8",
            ],
            as_root=as_root,
        )
        options = (
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off -c max_connections={max_connections}"
        )
        _run(
            [
                str(binaries / "pg_ctl"),
                "--pgdata",
                str(data),
                "--options",
                options,
                "--log",
                str(folder / "postgres.log"),
                "--wait",
                "--timeout",
                "60",
                "start",
            ],
            as_root=as_root,
        )
        started = True
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        try:
            if started:
                _run(
                    [
                        str(binaries / "pg_ctl"),
                        "--pgdata",
                        str(data),
                        "--mode",
                        "immediate",
                        "--wait",
                        "stop",
                    ],
                    as_root=as_root,
                )
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _run(argv: Sequence[str], *, as_root: bool) -> None:
    command = ["runuser", "-u", _SERVICE_USER, "--", *argv] if as_root else list(argv)
    completed = subprocess.run(
        command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    if completed.returncode != 0:
        raise PostgresUnavailableError(
            f"{Path(argv[0]).name} failed ({completed.returncode}): "
            f"{(completed.stderr or completed.stdout).strip()[-2000:]}"
        )
