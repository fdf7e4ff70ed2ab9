"""One event stream read as the load tool needs it: fast, and counting every delivery.

An `asyncio.Protocol` rather than streams: `data_received` parses in place, with one
clock reading per socket read, so one worker process keeps up with tens of thousands
of deliveries per second. It speaks just enough HTTP/1.1 (a response head, then a
chunked or close-delimited body) and SSE (blank-line framed `id:`/`event:`/`data:`).

Bench messages carry `hb STEP CONV N T_NS` as their body (see `sender`): the stream
counts how often it saw message N of conversation CONV in step STEP, and the latency
from T_NS (the send request's start, `time.perf_counter_ns`, which is CLOCK_MONOTONIC
and so shared by every process on the machine) to the read that brought it.
"""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter_ns

import orjson

BODY_MARK = b'"body":"hb '


@dataclass(slots=True)
class StreamSpec:
    index: int
    host: str
    port: int
    token: str
    last_event_id: int | None = None


class Sink:
    """What every stream of a worker reports to (the worker owns one)."""

    def __init__(self) -> None:
        self.samples: dict[int, array[int]] = {}  # step -> latencies in microseconds
        self.delivered = 0
        self.live = 0  # streams connected and past `ready`

    def sample(self, step: int, latency_ns: int) -> None:
        samples = self.samples.get(step)
        if samples is None:
            samples = self.samples[step] = array("q")
        samples.append(latency_ns // 1000)


class SseStream(asyncio.Protocol):
    """One `GET /api/events`; reconnects itself when told to keep going after a cut."""

    def __init__(self, spec: StreamSpec, sink: Sink, on_lost: Callable[[SseStream], None]) -> None:
        self.spec = spec
        self.sink = sink
        self.on_lost = on_lost  # called when a stream that was ready ends, unless closed by us
        self.waiter: asyncio.Future[str | None] | None = None  # ready: None; else the error
        self.counts: dict[tuple[int, int], bytearray] = {}  # (step, conv) -> times seen, by N
        self.last_id: int | None = spec.last_event_id
        self.ready_last_id: int | None = None
        self.t_open = 0  # perf_counter_ns of the latest (re)connect
        self.t_ready = 0
        self.t_last = 0  # arrival of the latest bench message
        self.ready = False
        self.status = 0
        self.error: str | None = None
        self.reconnects = 0
        self.resets = 0
        self.out_of_order = 0
        self.session_ended = 0
        self.closing = False
        self.transport: asyncio.Transport | None = None
        self._head: bytearray | None = bytearray()
        self._chunked = False
        self._raw = bytearray()
        self._chunk_left = 0
        self._need_crlf = False
        self._buf = bytearray()

    # -- connection ---------------------------------------------------------------------
    def request(self, resume: bool) -> bytes:
        lines = [
            b"GET /api/events HTTP/1.1",
            b"Host: %s:%d" % (self.spec.host.encode(), self.spec.port),
            b"Authorization: Bearer " + self.spec.token.encode(),
            b"Accept: text/event-stream",
            b"Cache-Control: no-cache",
        ]
        if resume and self.last_id is not None:
            lines.append(b"Last-Event-ID: %d" % self.last_id)
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def reset_connection(self) -> None:
        self._head = bytearray()
        self._chunked = False
        self._raw.clear()
        self._chunk_left = 0
        self._need_crlf = False
        self._buf.clear()
        self.ready = False
        self.error = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        self.t_open = perf_counter_ns()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.ready:
            self.sink.live -= 1
        if not self.ready:
            self.error = self.error or f"closed before ready ({exc or 'eof'})"
            self._settle(self.error)
        elif not self.closing:
            self.on_lost(self)

    def _settle(self, outcome: str | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(outcome)

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    # -- parsing ------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        now = perf_counter_ns()
        if self._head is not None:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            data = bytes(self._head[end + 4 :])
            if not self._parse_head(bytes(self._head[:end])):
                return
        if self._chunked:
            self._raw += data
            data = self._dechunk()
        buf = self._buf
        buf += data
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            if buf[start] != 58:  # a block of only `: ping` comments needs no parse
                self._on_block(bytes(buf[start:end]), now)
            start = end + 2
        if start:
            del buf[:start]

    def _parse_head(self, head: bytes) -> bool:
        assert self._head is not None
        self._head = None
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
                self._chunked = True
        if self.status != 200:
            self.error = f"GET /api/events -> {self.status}"
            if self.transport is not None:
                self.transport.close()
            return False
        return True

    def _dechunk(self) -> bytes:
        raw, out, pos = self._raw, [], 0
        while True:
            if self._chunk_left:
                take = min(self._chunk_left, len(raw) - pos)
                if take <= 0:
                    break
                out.append(bytes(raw[pos : pos + take]))
                pos += take
                self._chunk_left -= take
                self._need_crlf = self._chunk_left == 0
            elif self._need_crlf:
                if len(raw) - pos < 2:
                    break
                pos += 2
                self._need_crlf = False
            else:
                eol = raw.find(b"\r\n", pos)
                if eol < 0:
                    break
                size = int(bytes(raw[pos:eol]).split(b";")[0], 16)
                pos = eol + 2
                if size == 0:  # the last chunk: the server ended the stream
                    if self.transport is not None:
                        self.transport.close()
                    break
                self._chunk_left = size
        del raw[:pos]
        return b"".join(out)

    def _on_block(self, block: bytes, now: int) -> None:
        kind, data, event_id = b"message", b"", -1
        for line in block.split(b"\n"):
            if not line or line[0] == 58:
                continue
            name, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                data = value if not data else data + b"\n" + value
            elif name == b"event":
                kind = value
            elif name == b"id":
                event_id = int(value)
        if event_id >= 0:
            if self.last_id is not None and event_id <= self.last_id:
                self.out_of_order += 1
            self.last_id = event_id
        if kind == b"message.created":
            self._on_message(data, now)
        elif kind == b"ready":
            self._on_ready(data, now)
        elif kind == b"reset":
            self.resets += 1
        elif kind == b"session.ended":
            self.session_ended += 1

    def _on_ready(self, data: bytes, now: int) -> None:
        info = orjson.loads(data) if data else {}
        last = info.get("last_event_id")
        if isinstance(last, int | str) and str(last).isdigit():
            self.ready_last_id = int(last)
            if self.last_id is None:
                self.last_id = int(last)
        self.t_ready = now
        self.ready = True
        self.sink.live += 1
        self._settle(None)

    def _on_message(self, data: bytes, now: int) -> None:
        at = data.find(BODY_MARK)
        if at >= 0:
            end = data.find(b'"', at + len(BODY_MARK))
            fields = data[at + len(BODY_MARK) : end].split(b" ", 4)
        else:  # another JSON writer: parse it properly
            body = str(orjson.loads(data).get("body", ""))
            if not body.startswith("hb "):
                return
            fields = body[3:].encode().split(b" ", 4)
        step, conv, n, sent = int(fields[0]), int(fields[1]), int(fields[2]), int(fields[3])
        key = (step, conv)
        counts = self.counts.get(key)
        if counts is None:
            counts = self.counts[key] = bytearray(max(64, n + 1))
        elif n >= len(counts):
            counts.extend(bytes(max(n + 1 - len(counts), len(counts))))
        if counts[n] < 255:
            counts[n] += 1
        # From the send's start, or from this (re)connect for what was sent before it:
        # a replayed event's latency is then the catch-up time.
        self.sink.sample(step, now - (sent if sent > self.t_open else self.t_open))
        self.sink.delivered += 1
        self.t_last = now
