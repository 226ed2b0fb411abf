"""``reference-server``: serve a langgraph.json like ``langgraph dev``, on granian.

One granian worker process serves the Quart app by default; ``--workers N`` starts N behind the
same port, which needs ``--database postgresql://...``: the workers share runs, their event
logs, cancellation and multitask locks through it. The settings reach each worker through the
``REFERENCE_SERVER_SETTINGS`` environment variable; ``reference_server.asgi`` reads it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from reference_server.settings import (
    DEFAULT_DATABASE_PATH,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_WRITE_INTERVAL_SECONDS,
    SETTINGS_ENVIRONMENT_VARIABLE,
    AuthSettings,
    Settings,
    is_postgres_url,
    settings_to_json,
)

_APP_FACTORY = "reference_server.asgi:create_app_from_environment"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reference-server",
        description="Serve the graphs of a langgraph.json with the LangGraph Platform API.",
    )
    parser.add_argument("--config", type=Path, default=Path("langgraph.json"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2024)
    storage = parser.add_mutually_exclusive_group()
    storage.add_argument(
        "--database",
        default=str(DEFAULT_DATABASE_PATH),
        help="a SQLite file holding everything, or a postgresql:// URL shared by every worker "
        f"(default: {DEFAULT_DATABASE_PATH})",
    )
    storage.add_argument(
        "--in-memory", action="store_true", help="keep everything in memory, lost on exit"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes behind the one port (more than 1 needs a postgresql:// database)",
    )
    parser.add_argument("--max-concurrent-runs", type=int, default=4, help="per worker")
    parser.add_argument("--heartbeat-seconds", type=float, default=5.0)
    parser.add_argument(
        "--write-interval-seconds",
        type=float,
        default=DEFAULT_WRITE_INTERVAL_SECONDS,
        help="once a stream has written a burst, write it at most once per interval, "
        "packing the events that arrived meanwhile (0: write every event at once; "
        "default: %(default)s)",
    )
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument(
        "--cors-allow-origin",
        action="append",
        dest="cors_allow_origins",
        help="an allowed CORS origin (repeatable; default: any)",
    )
    auth = parser.add_argument_group("auth (off unless one key source is given)")
    keys = auth.add_mutually_exclusive_group()
    keys.add_argument("--auth-hs256-secret", help="verify HS256 tokens with this secret")
    keys.add_argument("--auth-jwks-url", help="verify RS256/ES256 tokens with this JWKS url")
    keys.add_argument("--auth-jwks-file", type=Path, help="verify with the JWKS in this file")
    auth.add_argument("--auth-audience", help="required 'aud' claim")
    auth.add_argument("--auth-issuer", help="required 'iss' claim")
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    return parser


def settings_from_arguments(arguments: argparse.Namespace) -> Settings:
    return Settings(
        config_path=arguments.config.resolve(),
        host=arguments.host,
        port=arguments.port,
        database_path=None
        if arguments.in_memory or is_postgres_url(arguments.database)
        else Path(arguments.database).resolve(),
        database_url=arguments.database if is_postgres_url(arguments.database) else None,
        workers=arguments.workers,
        max_concurrent_runs=arguments.max_concurrent_runs,
        heartbeat_seconds=arguments.heartbeat_seconds,
        write_interval_seconds=arguments.write_interval_seconds,
        max_body_bytes=arguments.max_body_bytes,
        cors_allow_origins=tuple(arguments.cors_allow_origins or ("*",)),
        auth=AuthSettings(
            hs256_secret=arguments.auth_hs256_secret,
            jwks_url=arguments.auth_jwks_url,
            jwks_file=arguments.auth_jwks_file.resolve() if arguments.auth_jwks_file else None,
            audience=arguments.auth_audience,
            issuer=arguments.auth_issuer,
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        settings = settings_from_arguments(arguments)
    except ValueError as error:
        parser.error(str(error))
    if not settings.config_path.is_file():
        parser.error(f"--config: {settings.config_path} does not exist")
    # Load the graphs once here so a broken langgraph.json fails with its reason, before the
    # worker starts.
    from reference_server.graphs import GraphConfigError, GraphRegistry

    try:
        GraphRegistry(settings.config_path).load()
    except GraphConfigError as error:
        print(f"reference-server: {error}", file=sys.stderr)
        return 2
    if settings.database_path is not None:
        settings.database_path.parent.mkdir(parents=True, exist_ok=True)
    if settings.database_url is not None:
        from conformance.extras import MissingExtra, require

        try:
            require("postgres", "--database postgresql://...")
        except MissingExtra as error:
            print(f"reference-server: {error}", file=sys.stderr)
            return 2

    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    os.environ[SETTINGS_ENVIRONMENT_VARIABLE] = settings_to_json(settings)
    server = Server(
        _APP_FACTORY,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        factory=True,
        log_level=LogLevels(arguments.log_level),
        websockets=False,
    )
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
