"""The hub puts durable events back in log order and fills gaps from the log.

Real parts: a real SqliteStore in a temp folder and the in-process bus.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from hellow import sse
from hellow.bus.base import Event
from hellow.bus.local import LocalBus
from hellow.hub import Hub, from_record
from hellow.records import ConversationRecord, NewMessage, SessionRecord, UserRecord, now_ms
from hellow.store.sqlite import SqliteStore


async def _setup(tmp_path: Path) -> tuple[SqliteStore, Hub, list[Event]]:
    store = SqliteStore(tmp_path / "hub.db")
    await store.open()
    now = now_ms()
    for uid in ("a", "b"):
        await store.create_user(UserRecord(uid, uid + "name", uid, "x", now))
    conv = ConversationRecord("c", "group", "t", now, member_ids=["a", "b"])
    await store.create_conversation(conv, b"{}")
    events = []
    for n in range(5):
        new = NewMessage("c", "a", f"m{n}", f"body {n}", None, now)
        _, record = await store.append_message(new)
        assert record is not None
        events.append(from_record(record, frozenset(["a", "b"])))
    hub = Hub(store, LocalBus(), idle_timeout_s=300, heartbeat_s=3600, queue_bytes=1 << 20)
    hub.delivered = events[0].id - 1  # as if started just before these were written
    return store, hub, events


def _ids(stream_queue: list[tuple[int | None, bytes]]) -> list[int | None]:
    return [event_id for event_id, _ in stream_queue]


async def test_out_of_order_events_are_delivered_in_log_order(tmp_path: Path) -> None:
    store, hub, events = await _setup(tmp_path)
    now = now_ms()
    stream = hub.open(SessionRecord("s", "b", now, now + 10_000, now))
    e1, e2, e3, *_ = events
    hub.deliver(e2)
    hub.deliver(e3)
    assert list(stream.queue) == []  # held back: e1 has not been seen
    hub.deliver(e1)
    assert _ids(list(stream.queue)) == [e1.id, e2.id, e3.id]
    hub.deliver(e2)  # a duplicate changes nothing
    assert len(stream.queue) == 3
    await store.close()


async def test_a_gap_is_filled_from_the_log(tmp_path: Path) -> None:
    store, hub, events = await _setup(tmp_path)
    now = now_ms()
    stream = hub.open(SessionRecord("s", "b", now, now + 10_000, now))
    hub.deliver(events[0])
    hub.deliver(events[3])  # events[1] and [2] were lost on the way (never published)
    for _ in range(100):
        if len(stream.queue) == 4:
            break
        await asyncio.sleep(0.02)
    assert _ids(list(stream.queue)) == [e.id for e in events[:4]]
    # The frames read from the log are the same bytes as those published.
    assert list(stream.queue)[1][1] == events[1].frame
    await store.close()


async def test_a_slow_stream_is_closed_not_buffered(tmp_path: Path) -> None:
    store, hub, events = await _setup(tmp_path)
    hub.queue_bytes = len(events[0].frame) * 2 + 1
    now = now_ms()
    stream = hub.open(SessionRecord("s", "b", now, now + 10_000, now))
    for event in events[:3]:
        hub.deliver(event)
    assert stream.closed and stream.close_reason == "slow"
    assert len(stream.queue) == 2
    assert hub.slow_closed == 1
    await store.close()


async def test_session_ended_goes_only_to_that_session(tmp_path: Path) -> None:
    store, hub, _ = await _setup(tmp_path)
    now = now_ms()
    mine = hub.open(SessionRecord("s1", "b", now, now + 10_000, now))
    other = hub.open(SessionRecord("s2", "b", now, now + 10_000, now))
    hub.deliver(Event("session.ended", b'{"reason":"logout"}', frozenset(["b"]), session_id="s1"))
    assert mine.closed and not other.closed
    assert list(mine.queue)[-1][1] == sse.frame("session.ended", b'{"reason":"logout"}')
    await store.close()


async def test_events_that_arrive_during_a_catch_up_are_not_held_back(tmp_path: Path) -> None:
    store, hub, events = await _setup(tmp_path)
    now = now_ms()
    stream = hub.open(SessionRecord("s", "b", now, now + 10_000, now))
    *logged, newest = events
    # The bus came back: the log has everything up to `logged[-1]`, and `newest` was
    # published while the catch-up was reading (so it waits in the pending set).
    hub._pending[newest.id] = newest
    last = await store.last_event_id()
    assert last == newest.id
    # Pretend the log's end was read just before `newest` was written.
    hub.store = _LogEndingAt(store, logged[-1].id)
    await hub._catch_up()
    assert _ids(list(stream.queue)) == [e.id for e in events]
    assert hub._pending == {}
    await store.close()


class _LogEndingAt:
    """The real store, answering `last_event_id` as it was a moment earlier."""

    def __init__(self, store: SqliteStore, last: int) -> None:
        self._store, self._last = store, last

    async def last_event_id(self) -> int:
        return self._last

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)
