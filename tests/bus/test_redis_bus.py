"""What only the Redis bus has: several processes, duplicates, losing and regaining Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hellow.bus.base import Event
from hellow.bus.redis import RedisBus
from hellow.errors import Unavailable
from hellow.records import NewMessage, new_id, now_ms
from hellow.store.redis import RedisStore
from store._util import group, users

from .conftest import Recorder


async def test_one_process_hears_another(redis_url: str) -> None:
    one, two = RedisBus(redis_url), RedisBus(redis_url)
    heard_one, heard_two = Recorder(), Recorder()
    await one.start(heard_one)
    await two.start(heard_two)
    try:
        await one.publish(Event("typing", b"{}", frozenset({"u"})))
        await heard_two.wait(lambda: len(heard_two.events) == 1)
        await heard_one.wait(lambda: len(heard_one.events) == 1)  # its own too
    finally:
        await one.close()
        await two.close()


async def test_a_durable_id_is_delivered_once(redis_url: str) -> None:
    bus = RedisBus(redis_url)
    heard = Recorder()
    await bus.start(heard)
    try:
        event = Event("message.created", b"{}", frozenset({"u"}), 7, "c")
        await bus.publish(event)
        await bus.publish(event)
        await bus.publish(Event("message.created", b"{}", frozenset({"u"}), 8, "c"))
        await heard.wait(lambda: [e.id for e in heard.events] == [7, 8])
    finally:
        await bus.close()


async def test_the_store_publishes_each_write_in_id_order(redis_url: str) -> None:
    """The write script publishes in the step that gives the id: nobody has to call publish."""
    bus, store = RedisBus(redis_url), RedisStore(redis_url)
    heard = Recorder()
    await bus.start(heard)
    await store.open()
    try:
        a, b = await users(store, 2)
        conv, created = await group(store, a, b)
        sends = [
            store.append_message(NewMessage(conv.id, a.id, new_id(), f"m{n}", None, now_ms()))
            for n in range(20)
        ]
        results = await asyncio.gather(*sends)
        await heard.wait(lambda: len(heard.events) == 21)
        ids = [e.id or 0 for e in heard.events]
        assert ids == sorted(ids) and ids[0] == created.id
        by_id = {e.id: e for e in heard.events}
        for _, record in results:
            assert record is not None
            live = by_id[record.id]
            assert live.data == record.data and live.audience == frozenset({a.id, b.id})
            assert live.conversation_id == conv.id and live.kind == "message.created"
    finally:
        await store.close()
        await bus.close()


async def test_lost_and_restored_when_redis_restarts(redis_url: str, redis_server: Any) -> None:
    bus = RedisBus(redis_url)
    heard = Recorder()
    await bus.start(heard)
    try:
        redis_server.stop()
        try:
            await heard.wait(lambda: heard.lost == 1, within=10)
            with pytest.raises(Unavailable):
                await bus.ping()
            with pytest.raises(Unavailable):
                await bus.publish(Event("typing", b"{}", frozenset({"u"})))
        finally:
            redis_server.start()
        await heard.wait(lambda: heard.restored == 1, within=15)
        await bus.ping()
        await bus.publish(Event("typing", b"{}", frozenset({"u"})))
        await heard.wait(lambda: len(heard.events) == 1)
        assert heard.lost == 1
    finally:
        await bus.close()


async def test_starting_while_redis_is_away_reports_lost_then_restored() -> None:
    bus = RedisBus("redis://127.0.0.1:1/0")
    heard = Recorder()
    await asyncio.wait_for(bus.start(heard), 5)
    assert heard.lost == 1
    await bus.close()
