"""The `Bus` protocol: live fan-out of notifications between server processes.

The bus is never the only copy of anything durable (DESIGN.md rule 1): a durable
event is in the store's log before it is published, and a process that may have
missed bus messages (a Redis reconnect) calls `resync`, after which every stream
catches up from the log.

Implementations: `LocalBus` (in-process) and `RedisBus` (pub/sub across processes).
Both pass `tests/bus/test_bus_contract.py` unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import orjson

from .. import sse


@dataclass(slots=True)
class Event:
    """What streams receive. `id` is set for durable events (the log's id), None otherwise."""

    kind: str
    data: bytes  # one line of JSON
    audience: frozenset[str]  # user ids that may receive it
    id: int | None = None
    conversation_id: str | None = None
    session_id: str | None = None  # session.ended: only that session's streams
    _frame: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def frame(self) -> bytes:
        """The SSE bytes, encoded once for every stream that gets this event (rule 3)."""
        if self._frame is None:
            self._frame = sse.frame(self.kind, self.data, self.id)
        return self._frame

    def to_bytes(self) -> bytes:
        """The bus wire format (one place): JSON with the data embedded as a raw string."""
        return orjson.dumps(
            {
                "k": self.kind,
                "d": self.data.decode(),
                "a": sorted(self.audience),
                "i": self.id,
                "c": self.conversation_id,
                "s": self.session_id,
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> Event:
        obj = orjson.loads(raw)
        return cls(
            kind=obj["k"],
            data=obj["d"].encode(),
            audience=frozenset(obj["a"]),
            id=obj["i"],
            conversation_id=obj["c"],
            session_id=obj["s"],
        )


class BusListener(Protocol):
    """What a bus reports to (the process's `Hub`)."""

    def deliver(self, event: Event) -> None:
        """An event published by any process, this one included."""

    def bus_lost(self) -> None:
        """The bus connection dropped: open streams are closed, clients reconnect and resume."""

    def bus_restored(self) -> None:
        """The bus is back; messages may have been missed, so streams catch up from the log."""


class Bus(Protocol):
    async def start(self, listener: BusListener) -> None:
        """Begin reporting to `listener` every event published by any process (this one too),
        in publish order per publisher."""

    async def publish(self, event: Event) -> None: ...
    async def ping(self) -> None:
        """Return when the bus answers; raise `Unavailable` otherwise."""

    async def close(self) -> None: ...
