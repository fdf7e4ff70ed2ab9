"""The in-process bus: a direct call, for the single-process SQLite deployment."""

from __future__ import annotations

from .base import BusListener, Event


class LocalBus:
    def __init__(self) -> None:
        self._listener: BusListener | None = None

    async def start(self, listener: BusListener) -> None:
        self._listener = listener

    async def publish(self, event: Event) -> None:
        if self._listener is not None:
            self._listener.deliver(event)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._listener = None
