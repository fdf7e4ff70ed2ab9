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


def _opt(default: Any, env: str | tuple[str, ...], help: str) -> Any:
    names = (env,) if isinstance(env, str) else env
    return field(default=default, metadata={"env": names, "help": help})


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = _opt("127.0.0.1", "HELLOW_HOST", "listen address")
    port: int = _opt(8000, "HELLOW_PORT", "listen port")
    data_dir: Path = _opt(
        Path("./hellow-data"), "HELLOW_DATA_DIR", "SQLite database and the generated secret"
    )
    redis_url: str | None = _opt(
        None,
        ("HELLOW_REDIS_URL", "REDIS_URL", "KV_URL"),
        "set: Redis store and bus instead of SQLite",
    )
    redis_prefix: str = _opt("hellow:v1:", "HELLOW_REDIS_PREFIX", "Redis key prefix")
    jwt_secret: str | None = _opt(
        None, ("HELLOW_JWT_SECRET", "JWT_SECRET"), "token signing key (default: generated, kept)"
    )
    idle_timeout_s: int = _opt(300, "HELLOW_IDLE_TIMEOUT_S", "auto-logout after this inactivity")
    session_max_s: int = _opt(43200, "HELLOW_SESSION_MAX_S", "longest life of one session")
    heartbeat_s: float = _opt(15.0, "HELLOW_HEARTBEAT_S", "SSE ping interval")
    log_format: str = _opt("text", "HELLOW_LOG_FORMAT", "`json` for structured logs")
    retention_days: float | None = _opt(
        None, "HELLOW_RETENTION_DAYS", "trim resume-log events older than this (messages stay)"
    )
    send_rate_per_s: float = _opt(
        20.0, "HELLOW_SEND_RATE_PER_S", "sends per user per second (bursts of 3x allowed)"
    )
    login_max_failures: int = _opt(
        10, "HELLOW_LOGIN_MAX_FAILURES", "failed sign-ins per account per window (per address 5x)"
    )
    login_window_s: int = _opt(300, "HELLOW_LOGIN_WINDOW_S", "sign-in throttle window")
    stream_queue_bytes: int = _opt(
        1 << 20, "HELLOW_STREAM_QUEUE_BYTES", "bytes queued for a slow stream before it is cut"
    )
    test_hooks: bool = _opt(False, "HELLOW_TEST_HOOKS", "enable /api/test/* hooks (tests only)")

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
