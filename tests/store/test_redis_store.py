"""What only the Redis store has: typed keys, quarantine, several instances, outages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from hellow.doctor import doctor, scan
from hellow.errors import StoreCorrupt, Unavailable
from hellow.records import new_id, now_ms
from hellow.redis_keys import QUARANTINE, Keys, classify, quarantine_name
from hellow.store.redis import RedisStore
from hellow.store.redis_conn import make_client

from ._util import all_events, direct, group, send, session, user, users

KEYS = Keys("hellow:v1:")


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = make_client(redis_url)
    yield client
    await client.aclose()


async def _quarantined(raw: aioredis.Redis) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    async for key in raw.scan_iter(match=QUARANTINE + "*"):
        out[key.decode()] = await raw.dump(key)
    return out


async def _workload(store: RedisStore) -> None:
    a, b, c = await users(store, 3)
    conv, _ = await group(store, a, b, c)
    await direct(store, a, b)
    quoted, _ = await send(store, conv, a, "quote me")
    await send(store, conv, b, "reply", reply_to=quoted.id)
    await store.edit_message(conv.id, quoted.id, "edited", now_ms())
    await store.update_receipt(conv.id, c.id, 1, 1)
    await store.remove_member(conv.id, c.id, b"{}")
    await session(store, a)
    await store.throttle_hit("login:x", 60)
    await store.presence_join(a.id, "instance-1")


async def test_every_key_written_is_in_the_table_with_its_type(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    await _workload(redis_store)
    names = [bytes(k).decode() async for k in raw.scan_iter(match="*")]
    assert len(names) > 20
    for name in names:
        found = classify("hellow:v1:", name)
        assert found is not None, f"{name} is not in redis_keys.TABLE"
        kind = await raw.type(name)
        assert (kind.decode() if isinstance(kind, bytes) else kind) == found[0].type, name
    findings, scanned = await scan(raw, "hellow:v1:")
    assert scanned == len(names) and findings == []


async def test_conversation_keys_share_a_hash_tag() -> None:
    cid, mid = new_id(), new_id()
    for key in [KEYS.conv(cid), KEYS.members(cid), KEYS.events(cid), KEYS.message(cid, mid)]:
        assert key[key.index("{") + 1 : key.index("}")] == cid
    assert quarantine_name(KEYS.conv(cid), 5) == f"{QUARANTINE}hellow:v1:conv:{{{cid}}}:5"
    assert quarantine_name("hellow:v1:user:u", 5) == f"{QUARANTINE}{{hellow:v1:user:u}}:5"


async def test_a_wrong_typed_conversation_is_quarantined_and_others_go_on(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    a, b = await users(redis_store, 2)
    bad, _ = await group(redis_store, a, b)
    good, _ = await group(redis_store, a, b)
    await raw.delete(KEYS.members(bad.id))
    await raw.set(KEYS.members(bad.id), "planted")  # a string where a zset belongs
    with pytest.raises(StoreCorrupt):
        await redis_store.get_conversation(bad.id)
    moved = await _quarantined(raw)
    assert len(moved) == 1 and KEYS.members(bad.id) in next(iter(moved))
    assert await raw.get(next(iter(moved))) == b"planted"  # kept, not deleted
    message, event = await send(redis_store, good, a, "still fine")
    assert event is not None and message.seq == 1
    assert await redis_store.get_conversation(bad.id) is not None  # now simply without members


async def test_unparseable_message_is_quarantined_for_that_request_only(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    a, b = await users(redis_store, 2)
    conv, _ = await group(redis_store, a, b)
    first, _ = await send(redis_store, conv, a, "one")
    await send(redis_store, conv, a, "two")
    await raw.set(KEYS.message(conv.id, first.id), b"{not json")
    with pytest.raises(StoreCorrupt):
        await redis_store.list_messages(conv.id, None, None, 50)
    messages, _ = await redis_store.list_messages(conv.id, None, None, 50)
    assert [m.body for m in messages] == ["two"]
    assert len(await _quarantined(raw)) == 1


async def test_a_wrong_typed_event_log_of_one_conversation(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    a, b, c = await users(redis_store, 3)
    ab, _ = await group(redis_store, a, b)
    bc, _ = await group(redis_store, b, c)
    await raw.rename(KEYS.events(ab.id), "elsewhere")
    await raw.hset(KEYS.events(ab.id), "x", "y")
    assert len(await redis_store.events_for_user(c.id, 0, 100)) == 1  # bc only: untouched
    with pytest.raises(StoreCorrupt):
        await redis_store.events_for_user(a.id, 0, 100)
    await raw.hset(KEYS.events(ab.id), "x", "y")  # planted again
    with pytest.raises(StoreCorrupt):
        await send(redis_store, ab, a, "into a broken log")  # the script checks types first
    assert (await redis_store.get_conversation(ab.id)).last_seq == 0  # type: ignore[union-attr]
    await send(redis_store, bc, b, "fine")
    assert [e.kind for e in await redis_store.events_for_user(a.id, 0, 100)] == []


async def test_ids_never_go_back_even_when_the_counter_is_quarantined(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    a, b = await users(redis_store, 2)
    conv, _ = await group(redis_store, a, b)
    _, before = await send(redis_store, conv, a)
    await raw.set(KEYS.event_counter, "garbage")
    with pytest.raises(StoreCorrupt):
        await send(redis_store, conv, a)
    _, after = await send(redis_store, conv, a)
    assert before is not None and after is not None and after.id == before.id + 1


async def test_doctor_reports_and_repairs_without_deleting(
    redis_store: RedisStore, raw: aioredis.Redis, redis_url: str
) -> None:
    a, b = await users(redis_store, 2)
    conv, _ = await group(redis_store, a, b)
    message, _ = await send(redis_store, conv, a, "hi")
    await raw.set(KEYS.message(conv.id, message.id), b"[]")  # unparseable
    await raw.delete(KEYS.user(a.id))
    await raw.hset(KEYS.user(a.id), "id", a.id)  # fields missing
    await raw.set(KEYS.username("ghost"), "no-such-user")  # dangling
    await raw.set("hellow:v1:mystery", "?")  # unknown
    size = await raw.dbsize()
    lines: list[str] = []
    assert await doctor(redis_url, "hellow:v1:", repair=False, out=lines.append) == 1
    report = "\n".join(lines)
    assert "unparseable" in report and "dangling" in report and "unknown" in report
    assert await raw.dbsize() == size  # a report changes nothing
    lines.clear()
    assert await doctor(redis_url, "hellow:v1:", repair=True, out=lines.append) == 0
    # the three, and what hung on them: the user's name and conversations, the message's events
    assert len(await _quarantined(raw)) == 6
    assert await raw.dbsize() == size  # moved, not deleted
    lines.clear()
    assert await doctor(redis_url, "hellow:v1:", repair=False, out=lines.append) == 0
    assert "1 problems" in lines[-1]  # only the unknown key, reported again


async def test_two_instances_share_ids_and_idempotency(redis_url: str) -> None:
    one, two = RedisStore(redis_url), RedisStore(redis_url)
    await one.open()
    await two.open()
    try:
        a, b = await users(one, 2)
        conv, _ = await group(two, a, b)
        first, e1 = await send(one, conv, a, "x", client_id="k")
        again, e2 = await send(two, conv, a, "x", client_id="k")
        assert again == first and e2 is None
        _, e3 = await send(two, conv, b, "y")
        assert e1 is not None and e3 is not None and e3.id > e1.id
        assert [e.id for e in await all_events(one)] == [e.id for e in await all_events(two)]
    finally:
        await one.close()
        await two.close()


async def test_presence_of_a_dead_instance_expires(
    redis_store: RedisStore, raw: aioredis.Redis
) -> None:
    u = await user(redis_store)
    assert await redis_store.presence_join(u.id, "crashed")
    assert await redis_store.online([u.id]) == {u.id}
    # The instance stops refreshing its deadline (it crashed): its streams count no more.
    await raw.zadd(KEYS.instances, {"crashed": now_ms() - 1})
    assert await redis_store.online([u.id]) == set()
    assert await redis_store.presence_join(u.id, "alive") is True  # online again, freshly


async def test_unreachable_redis_is_unavailable_quickly() -> None:
    store = RedisStore("redis://127.0.0.1:1/0")
    await store.open()
    try:
        started = time.monotonic()
        with pytest.raises(Unavailable):
            await store.get_user("x")
        with pytest.raises(Unavailable):
            await store.ping()
        assert time.monotonic() - started < 5
    finally:
        await store.close()


async def test_recovers_by_itself_after_a_redis_restart(
    redis_store: RedisStore, redis_server: Any
) -> None:
    a, b = await users(redis_store, 2)
    conv, _ = await group(redis_store, a, b)
    await send(redis_store, conv, a, "before")
    redis_server.stop()
    try:
        with pytest.raises(Unavailable):
            await send(redis_store, conv, a, "during")
    finally:
        redis_server.start()
    await asyncio.sleep(0.1)
    message, event = await send(redis_store, conv, a, "after")
    assert message.seq == 2 and event is not None  # appendonly kept the first one
