"""Settings: one table of name, default and help, read from the environment.

`hellow serve` flags override the environment; tests build `Settings` directly.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = field(default="127.0.0.1", metadata={"env": ("HELLOW_HOST",), "help": "listen address"})
    port: int = field(default=8000, metadata={"env": ("HELLOW_PORT",), "help": "listen port"})
    data_dir: Path = field(
        default=Path("./hellow-data"),
        metadata={"env": ("HELLOW_DATA_DIR",), "help": "SQLite database and the generated secret"},
    )
    redis_url: str | None = field(
        default=None,
        metadata={
            "env": ("HELLOW_REDIS_URL", "REDIS_URL", "KV_URL"),
            "help": "set: Redis store and bus instead of SQLite",
        },
    )
    redis_prefix: str = field(
        default="hellow:v1:", metadata={"env": ("HELLOW_REDIS_PREFIX",), "help": "Redis key prefix"}
    )
    jwt_secret: str | None = field(
        default=None,
        metadata={"env": ("HELLOW_JWT_SECRET", "JWT_SECRET"), "help": "token signing key"},
    )
    idle_timeout_s: int = field(
        default=300,
        metadata={"env": ("HELLOW_IDLE_TIMEOUT_S",), "help": "auto-logout after this much inactivity"},
    )
    session_max_s: int = field(
        default=43200,
        metadata={"env": ("HELLOW_SESSION_MAX_S",), "help": "longest life of one session"},
    )
    heartbeat_s: float = field(
        default=15.0, metadata={"env": ("HELLOW_HEARTBEAT_S",), "help": "SSE ping interval"}
    )
    log_format: str = field(
        default="text", metadata={"env": ("HELLOW_LOG_FORMAT",), "help": "`json` for structured logs"}
    )
    retention_days: float | None = field(
        default=None,
        metadata={"env": ("HELLOW_RETENTION_DAYS",), "help": "trim resume-log events older than this"},
    )
    send_rate_per_s: float = field(
        default=20.0,
        metadata={"env": ("HELLOW_SEND_RATE_PER_S",), "help": "sends per user per second (burst 3x)"},
    )
    login_max_failures: int = field(
        default=10,
        metadata={
            "env": ("HELLOW_LOGIN_MAX_FAILURES",),
            "help": "failed sign-ins per account per window before 429 (per address: 5x)",
        },
    )
    login_window_s: int = field(
        default=300, metadata={"env": ("HELLOW_LOGIN_WINDOW_S",), "help": "sign-in throttle window"}
    )
    stream_queue_bytes: int = field(
        default=1 << 20,
        metadata={
            "env": ("HELLOW_STREAM_QUEUE_BYTES",),
            "help": "bytes queued for one slow event stream before it is closed",
        },
    )
    test_hooks: bool = field(
        default=False,
        metadata={"env": ("HELLOW_TEST_HOOKS",), "help": "enable /api/test/* hooks (tests only)"},
    )

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = _env(*f.metadata["env"])
            if raw is not None:
                values[f.name] = _coerce(f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def signing_key(self) -> str:
        """The JWT key: configured, or generated once and kept in the data dir (mode 0600)."""
        if self.jwt_secret:
            return self.jwt_secret
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "jwt-secret"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            key = secrets.token_urlsafe(48)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key)
            return key


def _coerce(kind: Any, raw: str) -> Any:
    kind = str(kind)
    if "Path" in kind:
        return Path(raw)
    if "bool" in kind:
        return raw.lower() in ("1", "true", "yes", "on")
    if kind.startswith("int"):
        return int(raw)
    if "float" in kind:
        return float(raw)
    return raw


def settings_table() -> list[tuple[str, str, str]]:
    """(variables, default, help) for the README and `hellow serve --help`."""
    rows = []
    for f in fields(Settings):
        rows.append((", ".join(f.metadata["env"]), str(f.default), f.metadata["help"]))
    return rows
