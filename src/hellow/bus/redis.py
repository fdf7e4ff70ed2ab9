"""`RedisBus`: fan-out between server processes over one Redis pub/sub channel.

Every process subscribes to `<prefix>bus`; every message is `Event.to_bytes()`.

Durable events are published by the Redis store's write script, in the same atomic step
that gives out the event id (so every instance sees them in id order, and an instance
dying right after its write cannot swallow the notification); the store says so with
`publishes_events`, and the domain then publishes only ephemeral events itself. A durable
id that arrives twice all the same (a caller that publishes anyway) is delivered once.

Pub/sub is at-most-once. When the subscription drops, the listener hears `bus_lost()`; the
bus reconnects with backoff (0.1 s doubling to 5 s), subscribes, and only then says
`bus_restored()`, so streams that catch up from the log are already subscribed (rule 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Iterable

import redis.asyncio as aioredis

from ..errors import Unavailable
from ..redis_keys import Keys
from ..store.redis_conn import UNAVAILABLE, make_client
from .base import BusListener, Event

log = logging.getLogger("hellow.bus")

SEEN_IDS = 65536  # durable ids remembered for dropping the second copy (minutes of traffic)
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.1, 5.0
PING_EVERY_S = 5.0  # a silent half-open connection is found within about this long


def durable_parts(
    kind: str, data: bytes, audience: Iterable[str], conversation_id: str
) -> tuple[bytes, bytes]:
    """`Event.to_bytes()` of a durable event cut around its id, which a script fills in.

    `"i":null` cannot occur earlier in the bytes: every value before it is a JSON string,
    whose quotes are escaped."""
    raw = Event(kind, data, frozenset(audience), None, conversation_id).to_bytes()
    head, sep, tail = raw.partition(b'"i":null')
    if not sep:
        raise ValueError('Event.to_bytes() no longer carries the id as "i"')
    return head + b'"i":', tail


class RedisBus:
    def __init__(self, url: str, prefix: str = "hellow:v1:") -> None:
        self.url = url
        self.channel = Keys(prefix).channel
        self._client: aioredis.Redis | None = None
        self._listener: BusListener | None = None
        self._task: asyncio.Task[None] | None = None
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._up = False

    async def start(self, listener: BusListener) -> None:
        """Subscribe before returning, so nothing published afterwards is missed; if Redis is
        away, report `bus_lost` and keep trying in the background."""
        self._listener = listener
        self._client = make_client(self.url)
        first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(first), name="redis-bus")
        await first

    async def publish(self, event: Event) -> None:
        if self._client is None:
            raise Unavailable("The bus is closed.")
        try:
            await self._client.publish(self.channel, event.to_bytes())
        except UNAVAILABLE as exc:
            raise Unavailable("The bus does not answer; try again shortly.") from exc

    async def ping(self) -> None:
        if self._client is None or not self._up:
            raise Unavailable("The bus is not connected.")
        try:
            await self._client.ping()
        except UNAVAILABLE as exc:
            raise Unavailable("The bus does not answer.") from exc

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._listener = None

    # -- the subscription ----------------------------------------------------------------
    async def _run(self, first: asyncio.Future[None]) -> None:
        backoff = BACKOFF_FIRST_S
        lost = False
        while True:
            assert self._client is not None
            pubsub = self._client.pubsub()
            try:
                await self._subscribe(pubsub)
                self._up, backoff = True, BACKOFF_FIRST_S
                if not first.done():
                    first.set_result(None)
                if lost:
                    lost = False
                    log.info("bus subscription restored")
                    self._notify("bus_restored")
                await self._read(pubsub)
            except asyncio.CancelledError:
                self._up = False
                with contextlib.suppress(Exception):
                    await asyncio.shield(pubsub.aclose())
                if not first.done():
                    first.set_result(None)
                raise
            except Exception as exc:  # any failure means: reconnect
                self._up = False
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                if not lost:
                    lost = True
                    log.warning("bus subscription lost: %s", exc)
                    self._notify("bus_lost")
                if not first.done():
                    first.set_result(None)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _subscribe(self, pubsub: aioredis.client.PubSub) -> None:
        await pubsub.subscribe(self.channel)
        # Wait for the confirmation: from then on the server sends us every message.
        while True:
            msg = await pubsub.get_message(timeout=2.0)
            if msg is None:
                raise ConnectionError("no subscribe confirmation")
            if msg["type"] == "subscribe":
                return

    async def _read(self, pubsub: aioredis.client.PubSub) -> None:
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + PING_EVERY_S
        while True:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if msg is not None and msg["type"] == "message":
                self._deliver(msg["data"])
            if loop.time() >= next_ping:
                await pubsub.ping()
                next_ping = loop.time() + PING_EVERY_S

    def _deliver(self, raw: bytes) -> None:
        try:
            event = Event.from_bytes(raw)
        except Exception:  # a foreign message on our channel must not kill us
            log.error("dropped an unreadable bus message: %.80r", raw)
            return
        if event.id is not None:
            if event.id in self._seen:
                return
            self._seen[event.id] = None
            if len(self._seen) > SEEN_IDS:
                self._seen.popitem(last=False)
        if self._listener is not None:
            try:
                self._listener.deliver(event)
            except Exception:  # one bad event must not drop the subscription
                log.exception("bus listener failed on %s", event.kind)

    def _notify(self, what: str) -> None:
        if self._listener is None:
            return
        try:
            getattr(self._listener, what)()
        except Exception:  # a listener bug must not stop reconnecting
            log.exception("bus listener %s failed", what)
