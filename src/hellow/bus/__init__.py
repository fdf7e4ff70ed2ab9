"""Live fan-out: the `Bus` protocol and the implementation chosen by settings."""

from __future__ import annotations

from ..config import Settings
from .base import Bus, Event
from .local import LocalBus


def open_bus(settings: Settings) -> Bus:
    if settings.redis_url:
        from .redis import RedisBus

        return RedisBus(settings.redis_url, prefix=settings.redis_prefix)
    return LocalBus()


__all__ = ["Bus", "Event", "LocalBus", "open_bus"]
