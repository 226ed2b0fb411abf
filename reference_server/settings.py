"""Everything the reference server is configured with, gathered in one immutable value.

The CLI builds it from flags; tests build it directly. Nothing else reads the environment or
the command line, so a ``Settings`` fully describes a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SETTINGS_ENVIRONMENT_VARIABLE = "REFERENCE_SERVER_SETTINGS"
"""How the CLI hands the settings to the ASGI worker process."""
DEFAULT_DATABASE_PATH = Path(".reference_server") / "state.sqlite"
POSTGRES_URL_PREFIXES = ("postgresql://", "postgres://")
# Quart's own default; large enough for long conversations sent as run input.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_WRITE_INTERVAL_SECONDS = 0.004


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """JWT verification. Auth is on when a secret or a JWKS source is given."""

    hs256_secret: str | None = None
    jwks_url: str | None = None
    jwks_file: Path | None = None
    audience: str | None = None
    issuer: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.hs256_secret or self.jwks_url or self.jwks_file)


@dataclass(frozen=True, slots=True)
class Settings:
    config_path: Path = Path("langgraph.json")
    host: str = "127.0.0.1"
    port: int = 2024
    database_path: Path | None = DEFAULT_DATABASE_PATH
    """The SQLite file holding everything; None keeps everything in memory (unless
    ``database_url`` is set)."""
    database_url: str | None = None
    """A ``postgresql://`` URL: everything in that database, shared by every worker."""
    workers: int = 1
    """Worker processes serving one port; more than one needs ``database_url``."""
    max_concurrent_runs: int = 4
    heartbeat_seconds: float = 5.0
    write_interval_seconds: float = DEFAULT_WRITE_INTERVAL_SECONDS
    """Once a stream has written a burst, it writes at most once per interval (0: every event
    at once). The bytes are the same; see ``streaming.response``."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    cors_allow_origins: tuple[str, ...] = ("*",)
    auth: AuthSettings = field(default_factory=AuthSettings)

    def __post_init__(self) -> None:
        if self.max_concurrent_runs < 1:
            raise ValueError(
                f"max_concurrent_runs must be at least 1, got {self.max_concurrent_runs}"
            )
        if self.heartbeat_seconds <= 0:
            raise ValueError(f"heartbeat_seconds must be positive, got {self.heartbeat_seconds}")
        if not 0 <= self.write_interval_seconds < self.heartbeat_seconds:
            raise ValueError(
                "write_interval_seconds must be at least 0 and shorter than the heartbeat, got "
                f"{self.write_interval_seconds}"
            )
        if self.max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be positive, got {self.max_body_bytes}")
        if self.database_url is not None and not is_postgres_url(self.database_url):
            raise ValueError(f"database_url must be a postgresql:// URL, got {self.database_url!r}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.workers > 1 and self.database_url is None:
            # Each worker would keep its own SQLite writers or memory: runs, events and
            # locks would not be shared.
            raise ValueError(
                f"{self.workers} workers need a shared database: give a postgresql:// URL"
            )

    @property
    def in_memory(self) -> bool:
        return self.database_path is None and self.database_url is None

    @property
    def database(self) -> Path | str | None:
        """What ``open_storage`` opens: the Postgres URL, the SQLite path, or None."""
        return self.database_url if self.database_url is not None else self.database_path


def is_postgres_url(database: str) -> bool:
    return database.startswith(POSTGRES_URL_PREFIXES)


def settings_to_json(settings: Settings) -> str:
    """Settings as JSON, to hand them to the ASGI worker process through its environment."""
    import json

    return json.dumps(
        {
            "config_path": str(settings.config_path),
            "host": settings.host,
            "port": settings.port,
            "database_path": str(settings.database_path) if settings.database_path else None,
            "database_url": settings.database_url,
            "workers": settings.workers,
            "max_concurrent_runs": settings.max_concurrent_runs,
            "heartbeat_seconds": settings.heartbeat_seconds,
            "write_interval_seconds": settings.write_interval_seconds,
            "max_body_bytes": settings.max_body_bytes,
            "cors_allow_origins": list(settings.cors_allow_origins),
            "auth": {
                "hs256_secret": settings.auth.hs256_secret,
                "jwks_url": settings.auth.jwks_url,
                "jwks_file": str(settings.auth.jwks_file) if settings.auth.jwks_file else None,
                "audience": settings.auth.audience,
                "issuer": settings.auth.issuer,
            },
        }
    )


def settings_from_json(text: str) -> Settings:
    import json

    data = json.loads(text)
    auth = data.pop("auth")
    return Settings(
        config_path=Path(data["config_path"]),
        host=data["host"],
        port=int(data["port"]),
        database_path=Path(data["database_path"]) if data["database_path"] else None,
        database_url=data.get("database_url"),
        workers=int(data.get("workers", 1)),
        max_concurrent_runs=int(data["max_concurrent_runs"]),
        heartbeat_seconds=float(data["heartbeat_seconds"]),
        write_interval_seconds=float(data["write_interval_seconds"]),
        max_body_bytes=int(data["max_body_bytes"]),
        cors_allow_origins=tuple(data["cors_allow_origins"]),
        auth=AuthSettings(
            hs256_secret=auth["hs256_secret"],
            jwks_url=auth["jwks_url"],
            jwks_file=Path(auth["jwks_file"]) if auth["jwks_file"] else None,
            audience=auth["audience"],
            issuer=auth["issuer"],
        ),
    )
