"""The `bus` fixture: every contract test runs on each Bus implementation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from hellow.bus.base import Bus, Event


class Recorder:
    """A `BusListener` that keeps what it hears."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.lost = 0
        self.restored = 0

    def deliver(self, event: Event) -> None:
        self.events.append(event)

    def bus_lost(self) -> None:
        self.lost += 1

    def bus_restored(self) -> None:
        self.restored += 1

    async def wait(self, check: Callable[[], bool], within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; heard {self.events!r:.300}")
            await asyncio.sleep(0.01)


@pytest.fixture(params=["local", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    impl: Bus
    if request.param == "local":
        from hellow.bus.local import LocalBus

        impl = LocalBus()
    else:
        from hellow.bus.redis import RedisBus

        impl = RedisBus(request.getfixturevalue("redis_url"))
    yield impl
    await impl.close()
