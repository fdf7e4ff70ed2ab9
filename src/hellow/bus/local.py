"""The in-process bus: a direct call, for the single-process SQLite deployment."""

from __future__ import annotations

from .base import Deliver, Event, Resync


class LocalBus:
    def __init__(self) -> None:
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        self._deliver = deliver

    async def publish(self, event: Event) -> None:
        if self._deliver is not None:
            self._deliver(event)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._deliver = None
