"""The hub: this process's open event streams and the fan-out of events to them.

It receives every event from the bus (its `BusListener`), puts durable events back in
log order, and hands each event's SSE bytes, encoded once, to the streams of its
audience. One timer loop sends every stream's heartbeat and re-checks sessions whose
idle deadline has passed, rather than a task per stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Callable

from . import sse, wire
from .bus.base import Bus, Event
from .errors import Unavailable
from .records import EventRecord, SessionRecord, now_ms
from .store.base import Store

log = logging.getLogger("hellow.hub")

# How long an out-of-order event waits for the ones before it before the hub reads
# the gap from the log: publishes from one process arrive in order, so a gap only
# lasts as long as another process's publish is in flight (well under 50 ms).
GAP_WAIT_S = 0.05
# Sessions are re-checked against the store when their idle deadline passes, at most
# this late: the idle timeout ends a stream within a second of the deadline.
SWEEP_S = 1.0
# Every stream's session is read again at least this often (see Hub._deadline).
RECHECK_MS = 60_000
# `delivered` while the store could not be asked at start.
UNKNOWN = -1
# How long a closed stream's last frames may take to reach a slow reader.
WRITE_GRACE_S = 5.0


class Stream:
    """One open `/api/events` connection: a bounded queue of SSE frames."""

    __slots__ = (
        "_wake",
        "close_reason",
        "closed",
        "deadline",
        "last_id",
        "queue",
        "queued_bytes",
        "session_id",
        "user_id",
        "writer",
    )

    def __init__(self, user_id: str, session_id: str, deadline: int, last_id: int) -> None:
        self.user_id = user_id
        self.session_id = session_id
        self.deadline = deadline  # ms: when its session must be checked again
        self.last_id = last_id  # the newest durable event id this stream has sent
        self.queue: deque[tuple[int | None, bytes]] = deque()
        self.queued_bytes = 0
        self.closed = False
        self.close_reason = ""
        self.writer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def push(self, frame: bytes, event_id: int | None, limit: int) -> bool:
        """Queue a frame; False (and the stream closes) when the reader is too far behind."""
        if self.closed:
            return False
        if self.queued_bytes + len(frame) > limit:
            self.close("slow")
            return False
        self.queue.append((event_id, frame))
        self.queued_bytes += len(frame)
        self._wake.set()
        return True

    def close(self, reason: str, final: bytes | None = None) -> None:
        """Stop after the queued frames (and `final`, which ignores the bound)."""
        if self.closed:
            return
        if final is not None:
            self.queue.append((None, final))
        self.closed = True
        self.close_reason = reason
        self._wake.set()
        if self.writer is not None:
            # A writer still blocked on a reader that does not read gives up after
            # WRITE_GRACE_S; one that drains normally finishes long before.
            asyncio.get_running_loop().call_later(WRITE_GRACE_S, self.writer.cancel)

    async def take(self) -> bytes | None:
        """Everything queued, as one chunk (durable events the stream already sent are
        skipped); None once closed and drained."""
        while not self.queue:
            if self.closed:
                return None
            self._wake.clear()
            await self._wake.wait()
        parts = []
        while self.queue:
            event_id, frame = self.queue.popleft()
            self.queued_bytes -= len(frame)
            if event_id is not None:
                if event_id <= self.last_id:
                    continue
                self.last_id = event_id
            parts.append(frame)
        return b"".join(parts)


class Hub:
    def __init__(
        self,
        store: Store,
        bus: Bus,
        idle_timeout_s: int,
        heartbeat_s: float,
        queue_bytes: int,
    ) -> None:
        self.store = store
        self.bus = bus
        self.idle_ms = idle_timeout_s * 1000
        self.heartbeat_s = heartbeat_s
        self.queue_bytes = queue_bytes
        self.instance_id = uuid.uuid4().hex
        self.by_user: dict[str, set[Stream]] = {}
        self.streams: set[Stream] = set()
        self.delivered = 0  # the newest durable event id routed, in log order
        self._pending: dict[int, Event] = {}
        self._gap_task: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.slow_closed = 0
        self.events_routed = 0
        # Told of every session ended by sign-out on any process (Auth forgets it).
        self.on_session_ended: Callable[[str], None] | None = None

    async def start(self) -> None:
        try:
            self.delivered = await self.store.last_event_id()
        except Unavailable:
            # The store is away (Redis down at boot): start anyway and learn the position
            # at the first event or catch-up, so the process recovers by itself.
            log.warning("store unavailable at start; the event position is learnt later")
            self.delivered = UNKNOWN
        await self.bus.start(self)
        self._tasks = [
            asyncio.create_task(self._heartbeats(), name="hub-heartbeats"),
            asyncio.create_task(self._sweep_sessions(), name="hub-sessions"),
        ]

    async def stop(self) -> None:
        self.close_all("shutdown")
        for task in [*self._tasks, self._gap_task]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def close_all(self, reason: str) -> None:
        for stream in list(self.streams):
            stream.close(reason)

    # -- streams -------------------------------------------------------------------
    def open(self, session: SessionRecord) -> Stream:
        """Register a stream: from now on it queues every live event of its user."""
        deadline = self._deadline(session, now_ms())
        stream = Stream(session.user_id, session.id, deadline, self.delivered)
        self.streams.add(stream)
        self.by_user.setdefault(session.user_id, set()).add(stream)
        return stream

    def forget(self, stream: Stream) -> None:
        stream.writer = None  # its writing is over: nothing left to cancel later
        stream.close(stream.close_reason or "gone")
        self.streams.discard(stream)
        peers = self.by_user.get(stream.user_id)
        if peers is not None:
            peers.discard(stream)
            if not peers:
                del self.by_user[stream.user_id]

    async def presence_changed(self, user_id: str, online: bool) -> None:
        """Tell everyone who shares a conversation with the user."""
        user = await self.store.get_user(user_id)
        audience = await self.store.contacts(user_id)
        if user is None or not audience:
            return
        data = wire.presence(user_id, online, user.last_seen_at)
        await self.bus.publish(Event("presence", data, frozenset(audience)))

    # -- BusListener -----------------------------------------------------------------
    def deliver(self, event: Event) -> None:
        if event.id is None:
            self._route(event)
            return
        if self.delivered == UNKNOWN:
            self.delivered = event.id - 1
        if event.id <= self.delivered:
            return  # already routed (a gap fill read it from the log first)
        if event.id == self.delivered + 1:
            self._advance(event)
            return
        self._pending[event.id] = event
        if self._gap_task is None or self._gap_task.done():
            self._gap_task = asyncio.create_task(self._fill_gap(), name="hub-gap")

    def bus_lost(self) -> None:
        log.warning("bus connection lost: closing %d streams", len(self.streams))
        self.close_all("unavailable")

    def bus_restored(self) -> None:
        log.info("bus connection restored: catching up from the log")
        if self._gap_task is None or self._gap_task.done():
            self._gap_task = asyncio.create_task(self._catch_up(), name="hub-catch-up")

    # -- ordering ----------------------------------------------------------------------
    def _advance(self, event: Event) -> None:
        assert event.id is not None
        self.delivered = event.id
        self._route(event)
        while self.delivered + 1 in self._pending:
            nxt = self._pending.pop(self.delivered + 1)
            self.delivered += 1
            self._route(nxt)

    async def _fill_gap(self) -> None:
        await asyncio.sleep(GAP_WAIT_S)
        try:
            await self._drain_pending()
        except Exception:
            # The store is away: the events stay pending until the next event or the
            # bus's catch-up after it reconnects.
            log.exception("could not fill a gap in the event log")

    async def _drain_pending(self) -> None:
        while self._pending:
            first = min(self._pending)
            if first > self.delivered + 1:
                await self._route_from_log(self.delivered, first - 1)
                self.delivered = max(self.delivered, first - 1)
            nxt = self._pending.pop(first, None)
            if nxt is not None and nxt.id is not None and nxt.id > self.delivered:
                self._advance(nxt)

    async def _catch_up(self) -> None:
        try:
            last = await self.store.last_event_id()
        except Exception:
            log.exception("could not catch up from the event log")
            return
        if self.delivered == UNKNOWN:  # started blind: no stream has missed anything
            self.delivered = last
            return
        if last > self.delivered:
            await self._route_from_log(self.delivered, last)
            self.delivered = max(self.delivered, last)
        for stale in [i for i in self._pending if i <= self.delivered]:
            del self._pending[stale]
        # Events that arrived during the catch-up wait in `_pending`; no gap task was
        # started for them while this one ran.
        try:
            await self._drain_pending()
        except Exception:
            log.exception("could not fill a gap in the event log")

    async def _route_from_log(self, after: int, upto: int) -> None:
        records = await self.store.events_between(after, upto)
        audiences: dict[str, frozenset[str]] = {}
        for record in records:
            if record.conversation_id not in audiences:
                conv = await self.store.get_conversation(record.conversation_id)
                audiences[record.conversation_id] = frozenset(conv.member_ids if conv else ())
            if record.id <= self.delivered:  # checked after the await: a live event may
                continue  # have been routed meanwhile
            self.delivered = record.id
            self._route(from_record(record, audiences[record.conversation_id]))

    def _route(self, event: Event) -> None:
        self.events_routed += 1
        if event.session_id is not None:
            if self.on_session_ended is not None:
                self.on_session_ended(event.session_id)
            for stream in list(self.by_user.get(next(iter(event.audience), ""), ())):
                if stream.session_id == event.session_id:
                    stream.close(event.kind, final=event.frame)
            return
        frame = event.frame
        limit = self.queue_bytes
        for user_id in event.audience:
            for stream in self.by_user.get(user_id, ()):
                if not stream.push(frame, event.id, limit):
                    self.slow_closed += 1

    # -- timers ------------------------------------------------------------------------
    async def _heartbeats(self) -> None:
        # One loop for every stream: a ping every heartbeat_s keeps proxies that cut idle
        # connections at 60 s from doing so, and lets clients see a dead link.
        while True:
            await asyncio.sleep(self.heartbeat_s)
            for stream in list(self.streams):
                stream.push(sse.PING, None, self.queue_bytes)

    async def _sweep_sessions(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                await self.check_sessions(now_ms())
            except Exception:
                log.exception("session sweep failed")

    def _deadline(self, session: SessionRecord, now: int) -> int:
        """When a stream's session must be looked at again: its idle or final deadline,
        and at least every RECHECK_MS, in case a sign-out's bus message was lost."""
        return min(session.last_active_at + self.idle_ms, session.expires_at, now + RECHECK_MS)

    async def check_sessions(self, now: int) -> None:
        """End the streams of sessions that ended (idle, expired, revoked)."""
        due: dict[str, list[Stream]] = {}
        for stream in self.streams:
            if stream.deadline <= now:
                due.setdefault(stream.session_id, []).append(stream)
        for session_id, streams in due.items():
            session = await self.store.get_session(session_id)
            reason = session_end_reason(session, now, self.idle_ms)
            if reason is None:
                assert session is not None
                deadline = self._deadline(session, now)
                for stream in streams:
                    stream.deadline = deadline
                continue
            final = sse.frame("session.ended", wire.dumps({"reason": reason}))
            for stream in streams:
                stream.close("session.ended", final=final)


def session_end_reason(session: SessionRecord | None, now: int, idle_ms: int) -> str | None:
    """Why a session is over, or None while it lives."""
    if session is None or session.revoked:
        return "logout"
    if now >= session.expires_at:
        return "expired"
    if now >= session.last_active_at + idle_ms:
        return "idle"
    return None


def from_record(record: EventRecord, audience: frozenset[str]) -> Event:
    return Event(record.kind, record.data, audience, record.id, record.conversation_id)
