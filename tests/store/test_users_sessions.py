"""Store contract: users, sessions, throttling and presence."""

from __future__ import annotations

import asyncio

import pytest

from hellow.errors import Conflict
from hellow.records import UserRecord, new_id, now_ms
from hellow.store.base import Store

from ._util import session, user


async def test_user_round_trip_and_lookup_by_name_ignores_case(store: Store) -> None:
    alice = await user(store, "alice_1", "Alice Liddell")
    assert await store.get_user(alice.id) == alice
    assert await store.get_user_by_name("ALICE_1") == alice
    assert await store.get_user(new_id()) is None
    assert await store.get_user_by_name("nobody") is None


async def test_username_is_unique_ignoring_case(store: Store) -> None:
    await user(store, "bob")
    with pytest.raises(Conflict):
        await store.create_user(UserRecord(new_id(), "bob", "Other Bob", "h", now_ms()))


async def test_get_users_leaves_out_unknown_ids(store: Store) -> None:
    a, b = await user(store), await user(store)
    found = await store.get_users([a.id, new_id(), b.id, a.id])
    assert found == {a.id: a, b.id: b}
    assert await store.get_users([]) == {}


async def test_search_by_username_or_display_name_prefix(store: Store) -> None:
    tag = new_id()[:6]
    zed = await user(store, f"z{tag}zed", f"Q{tag} Zed")
    amy = await user(store, f"a{tag}amy", f"Q{tag} Amy")
    await user(store, f"m{tag}max", "Someone Else")
    by_name = await store.search_users(f"A{tag}", 10)
    assert [u.id for u in by_name] == [amy.id]
    by_display = await store.search_users(f"q{tag}", 10)
    assert [u.id for u in by_display] == [amy.id, zed.id]  # ordered by username
    assert [u.id for u in await store.search_users(f"q{tag}", 1)] == [amy.id]


async def test_set_last_seen(store: Store) -> None:
    u = await user(store)
    await store.set_last_seen(u.id, 1234)
    found = await store.get_user(u.id)
    assert found is not None and found.last_seen_at == 1234


async def test_session_touch_moves_forward_only_and_revoke(store: Store) -> None:
    u = await user(store)
    s = await session(store, u)
    assert await store.get_session(s.id) == s
    await store.touch_session(s.id, s.last_active_at + 5000)
    await store.touch_session(s.id, s.last_active_at + 1000)  # older: ignored
    found = await store.get_session(s.id)
    assert found is not None and found.last_active_at == s.last_active_at + 5000
    assert not found.revoked
    await store.revoke_session(s.id)
    found = await store.get_session(s.id)
    assert found is not None and found.revoked
    assert await store.get_session(new_id()) is None


async def test_touch_or_revoke_of_unknown_session_creates_nothing(store: Store) -> None:
    missing = new_id()
    await store.touch_session(missing, now_ms())
    await store.revoke_session(missing)
    assert await store.get_session(missing) is None


async def test_throttle_counts_in_a_fixed_window(store: Store) -> None:
    key = f"login:{new_id()}"
    assert await store.throttle_peek(key) == (0, 0.0)
    assert (await store.throttle_hit(key, 1))[0] == 1
    hits, left = await store.throttle_hit(key, 1)
    assert hits == 2 and 0 < left <= 1
    peek_hits, peek_left = await store.throttle_peek(key)
    assert peek_hits == 2 and 0 < peek_left <= 1
    await asyncio.sleep(1.1)
    assert await store.throttle_peek(key) == (0, 0.0)
    assert (await store.throttle_hit(key, 1))[0] == 1  # a new window


async def test_throttle_clear(store: Store) -> None:
    key = f"login:{new_id()}"
    await store.throttle_hit(key, 60)
    await store.throttle_clear(key)
    assert await store.throttle_peek(key) == (0, 0.0)
    assert (await store.throttle_hit(key, 60))[0] == 1


async def test_presence_counts_streams_across_instances(store: Store) -> None:
    u, other = await user(store), await user(store)
    assert await store.presence_join(u.id, "i1") is True  # came online
    assert await store.presence_join(u.id, "i1") is False
    assert await store.presence_join(u.id, "i2") is False
    assert await store.online([u.id, other.id]) == {u.id}
    assert await store.presence_leave(u.id, "i1", 1000) is False
    assert await store.presence_leave(u.id, "i2", 2000) is False
    assert await store.online([u.id]) == {u.id}
    assert await store.presence_leave(u.id, "i1", 3000) is True  # the last stream went
    assert await store.online([u.id]) == set()
    found = await store.get_user(u.id)
    assert found is not None and found.last_seen_at == 3000
    assert await store.presence_join(u.id, "i2") is True
