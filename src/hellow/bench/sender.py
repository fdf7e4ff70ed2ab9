"""Senders: `POST .../messages` over keep-alive asyncio sockets, at a rate or flat out.

Every message body is `hb STEP CONV N T_NS [padding]`: the step of the run, the
conversation's index, the message's number in that conversation and step, and
`perf_counter_ns()` taken just before the request is written. The readers need
nothing else to count losses and duplicates and to time each delivery.
"""

from __future__ import annotations

import asyncio
import itertools
from array import array
from dataclasses import dataclass, field
from time import perf_counter, perf_counter_ns

from .sse_reader import StreamSpec


@dataclass(slots=True)
class Target:
    conv: int  # the conversation's index in the run
    conversation_id: str
    stream: StreamSpec  # host, port and token of the sender (the stream fields unused)


@dataclass(slots=True)
class SendPlan:
    step: int
    targets: list[Target]
    connections: int
    rate: float | None  # messages/s for this worker; None: as fast as answers come
    duration: float | None
    messages: int | None  # stop after this many, whichever comes first
    body_bytes: int = 64
    tag: str = "b"


@dataclass(slots=True)
class SendResult:
    sent: int = 0
    accepted: dict[int, bytearray] = field(default_factory=dict)  # conv -> 1 per accepted N
    errors: dict[str, int] = field(default_factory=dict)
    rtt_us: array[int] = field(default_factory=lambda: array("q"))
    started: float = 0.0
    ended: float = 0.0


class HttpConnection:
    """The smallest keep-alive HTTP/1.1 client that reads Content-Length or chunked answers."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, token: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
            lines = raw.split(b"\r\n")
            status = int(lines[0].split(b" ", 2)[1])
            length, chunked, close = 0, False, False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
                elif name == b"connection":
                    close = b"close" in value.lower()
            if chunked:
                while True:
                    size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
            elif length:
                await self.reader.readexactly(length)
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status

    def retarget(self, host: str, port: int) -> None:
        if (host, port) != (self.host, self.port):
            self.close()
            self.host, self.port = host, port

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Sender:
    """Runs one plan; `progress` is [sent, accepted] that the worker publishes as it goes."""

    def __init__(self, plan: SendPlan, progress: list[int]) -> None:
        self.plan = plan
        self.progress = progress
        self.result = SendResult()
        self.next_n = dict.fromkeys((t.conv for t in plan.targets), 0)
        self.order = itertools.cycle(plan.targets)
        self.stop_at = perf_counter() + plan.duration if plan.duration else float("inf")
        self.budget = plan.messages if plan.messages is not None else 1 << 62

    async def run(self) -> SendResult:
        plan = self.plan
        first = plan.targets[0].stream
        conns = [HttpConnection(first.host, first.port) for _ in range(plan.connections)]
        self.result.started = perf_counter()
        try:
            if plan.rate:
                await self._at_rate(conns, plan.rate)
            else:
                await asyncio.gather(*(self._flat_out(c) for c in conns))
        finally:
            self.result.ended = perf_counter()
            for conn in conns:
                conn.close()
        return self.result

    def _body(self, conv: int, n: int) -> tuple[bytes, int]:
        plan = self.plan
        t0 = perf_counter_ns()
        text = f"hb {plan.step} {conv} {n} {t0}"
        if len(text) < plan.body_bytes:
            text += " " + "x" * (plan.body_bytes - len(text) - 1)
        client_id = f"{plan.tag}-{plan.step}-{conv}-{n}"
        return f'{{"client_id":"{client_id}","body":"{text}"}}'.encode(), t0

    async def send_one(self, conn: HttpConnection, target: Target) -> None:
        result = self.result
        conn.retarget(target.stream.host, target.stream.port)
        n = self.next_n[target.conv]
        self.next_n[target.conv] = n + 1
        body, t0 = self._body(target.conv, n)
        path = f"/api/conversations/{target.conversation_id}/messages"
        result.sent += 1
        self.progress[0] += 1
        try:
            status = await conn.post(path, body, target.stream.token)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            key = type(exc).__name__
            result.errors[key] = result.errors.get(key, 0) + 1
            return
        result.rtt_us.append((perf_counter_ns() - t0) // 1000)
        if status in (200, 201):
            flags = result.accepted.setdefault(target.conv, bytearray())
            if n >= len(flags):
                flags.extend(bytes(n + 1 - len(flags)))
            flags[n] = 1
            self.progress[1] += 1
        else:
            result.errors[str(status)] = result.errors.get(str(status), 0) + 1

    async def _flat_out(self, conn: HttpConnection) -> None:
        """Closed loop: each connection sends again as soon as it has its answer."""
        while self.budget > 0 and perf_counter() < self.stop_at:
            self.budget -= 1
            await self.send_one(conn, next(self.order))

    async def _at_rate(self, conns: list[HttpConnection], rate: float) -> None:
        """Open loop: message k is due at start + k/rate, on whichever connection is free."""
        idle: asyncio.Queue[HttpConnection] = asyncio.Queue()
        for conn in conns:
            idle.put_nowait(conn)
        tasks: set[asyncio.Task[None]] = set()

        async def one(conn: HttpConnection, target: Target) -> None:
            try:
                await self.send_one(conn, target)
            finally:
                idle.put_nowait(conn)

        start = perf_counter()
        k = 0
        while k < self.budget:
            due = start + k / rate
            if due >= self.stop_at:
                break
            delay = due - perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            conn = await idle.get()
            task = asyncio.ensure_future(one(conn, next(self.order)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            k += 1
        if tasks:
            await asyncio.gather(*tasks)
