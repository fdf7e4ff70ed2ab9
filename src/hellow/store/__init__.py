"""Durable storage: the `Store` protocol and the backend chosen by settings."""

from __future__ import annotations

from ..config import Settings
from .base import Store


def open_store(settings: Settings) -> Store:
    if settings.redis_url:
        from .redis import RedisStore

        return RedisStore(settings.redis_url, prefix=settings.redis_prefix)
    from .sqlite import SqliteStore

    return SqliteStore(settings.data_dir / "hellow.db")


__all__ = ["Store", "open_store"]
