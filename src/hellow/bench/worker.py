"""A load process: holds event streams and runs senders, on its own event loop and core.

The tool's main process only orchestrates: it sends commands down a pipe and reads
live counters from shared memory, so the measured traffic never waits on it.

Commands (tuples) and their answers:
  ("open", [StreamSpec], options)  -> ("opened", ([indices ready], {index: error}))
  ("send", SendPlan)               -> ("sent", SendResult)
  ("collect", step)                -> ("collected", StepData)
  ("close",)                       -> ("closed", {index: last event id})
  ("stop",)                        -> ends the process
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import traceback
from array import array
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any

from .sender import Sender, SendPlan
from .servers import raise_nofile
from .sse_reader import Sink, SseStream, StreamSpec

# Shared counters, one array per worker: what the progress bar and the drain watch.
DELIVERED, READY, RECONNECTS, SENT, ACCEPTED = range(5)
COUNTERS = 5


@dataclass(slots=True)
class OpenOptions:
    concurrency: int = 64  # connections being set up at once, per worker
    timeout: float = 60.0  # for the stream to send `ready` (a resume replays first)
    resume: bool = True  # reconnect after a cut with Last-Event-ID, or without it
    reconnect_delay: float = 0.5


@dataclass(slots=True)
class StreamData:
    counts: dict[int, bytes]  # conv -> times each message number was seen
    t_open: int
    t_ready: int
    t_last: int
    reconnects: int
    resets: int
    out_of_order: int
    session_ended: int


@dataclass(slots=True)
class StepData:
    streams: dict[int, StreamData] = field(default_factory=dict)
    latencies_us: array[int] = field(default_factory=lambda: array("q"))


class Worker:
    def __init__(self, conn: Connection, counters: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.conn = conn
        self.counters = counters
        self.loop = loop
        self.sink = Sink()
        self.streams: dict[int, SseStream] = {}
        self.options = OpenOptions()
        self.done = loop.create_future()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- commands -----------------------------------------------------------------------
    def listen(self) -> None:
        """On a thread: the pipe blocks, the loop must not (uvloop would make it non-blocking)."""
        while True:
            try:
                command = self.conn.recv()
            except (EOFError, OSError):
                command = ("stop",)
            self.loop.call_soon_threadsafe(self.on_command, command)
            if command[0] == "stop":
                return

    def on_command(self, command: tuple[Any, ...]) -> None:
        name = command[0]
        if name == "stop":
            self.stop()
        elif name == "open":
            self._spawn(self.open(command[1], command[2]))
        elif name == "send":
            self._spawn(self.send(command[1]))
        elif name == "collect":
            self.conn.send(("collected", self.collect(command[1])))
        elif name == "close":
            last = {i: s.last_id for i, s in self.streams.items()}
            for stream in self.streams.values():
                stream.close()
            self.streams.clear()
            self.conn.send(("closed", last))

    def _spawn(self, coro: Any) -> None:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        """A command that raised answers with the traceback: the main process re-raises it."""
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            text = "".join(traceback.format_exception(exc))
            self.conn.send(("error", text))

    def stop(self) -> None:
        for stream in self.streams.values():
            stream.close()
        if not self.done.done():
            self.done.set_result(None)

    # -- streams ------------------------------------------------------------------------
    async def open(self, specs: list[StreamSpec], options: OpenOptions) -> None:
        self.options = options
        gate = asyncio.Semaphore(options.concurrency)
        errors: dict[int, str] = {}

        async def one(spec: StreamSpec) -> None:
            async with gate:
                error = await self._connect(spec, first=True)
            if error:
                errors[spec.index] = error
                self.streams.pop(spec.index, None)

        await asyncio.gather(*(one(spec) for spec in specs))
        opened = [s.index for s in specs if s.index not in errors]
        # What is open now lives until the end: keep the collector off it.
        gc.collect()
        gc.freeze()
        self.conn.send(("opened", (opened, errors)))

    async def _connect(self, spec: StreamSpec, first: bool) -> str | None:
        stream = self.streams.get(spec.index)
        if stream is None:
            stream = SseStream(spec, self.sink, self._on_lost)
            self.streams[spec.index] = stream
        else:
            stream.reset_connection()
        waiter = stream.waiter = self.loop.create_future()
        try:
            await asyncio.wait_for(
                self.loop.create_connection(lambda: stream, spec.host, spec.port),
                self.options.timeout,
            )
            assert stream.transport is not None
            stream.transport.write(stream.request(resume=first or self.options.resume))
            error = await asyncio.wait_for(waiter, self.options.timeout)
        except (OSError, TimeoutError) as exc:
            stream.close()
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        finally:
            stream.waiter = None
        if error is not None:
            return error
        if not first:
            stream.reconnects += 1
            self.counters[RECONNECTS] += 1
        return None

    def _on_lost(self, stream: SseStream) -> None:
        """The server cut a stream: reconnect (resuming, unless told not to)."""

        async def reconnect() -> None:
            stream.closing = False
            for _ in range(20):
                await asyncio.sleep(self.options.reconnect_delay)
                if self.done.done() or stream.closing:
                    return
                if await self._connect(stream.spec, first=False) is None:
                    return

        if not self.done.done():
            self._spawn(reconnect())

    def collect(self, step: int) -> StepData:
        """Hand over (and forget) what the streams counted for `step`."""
        out = StepData(latencies_us=self.sink.samples.pop(step, array("q")))
        for index, stream in self.streams.items():
            counts = {conv: bytes(c) for (s, conv), c in stream.counts.items() if s == step}
            for key in [k for k in stream.counts if k[0] == step]:
                del stream.counts[key]
            out.streams[index] = StreamData(
                counts=counts,
                t_open=stream.t_open,
                t_ready=stream.t_ready,
                t_last=stream.t_last,
                reconnects=stream.reconnects,
                resets=stream.resets,
                out_of_order=stream.out_of_order,
                session_ended=stream.session_ended,
            )
        return out

    # -- sending ------------------------------------------------------------------------
    async def send(self, plan: SendPlan) -> None:
        progress = _Progress(self.counters)
        result = await Sender(plan, progress).run()  # type: ignore[arg-type]
        self.conn.send(("sent", result))

    async def publish(self) -> None:
        """Copy the in-process delivery count to shared memory ten times a second."""
        while not self.done.done():
            self.counters[DELIVERED] = self.sink.delivered
            self.counters[READY] = self.sink.live
            await asyncio.sleep(0.1)


class _Progress:
    """[sent, accepted] as the sender counts them, written through to shared memory."""

    def __init__(self, counters: Any) -> None:
        self.counters = counters

    def __getitem__(self, i: int) -> int:
        return int(self.counters[SENT + i])

    def __setitem__(self, i: int, value: int) -> None:
        self.counters[SENT + i] = value


def worker_main(conn: Connection, counters: SynchronizedArray[int]) -> None:
    raise_nofile()
    try:
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    worker = Worker(conn, counters, loop)
    threading.Thread(target=worker.listen, name="commands", daemon=True).start()
    publisher = loop.create_task(worker.publish())
    try:
        loop.run_until_complete(worker.done)
    finally:
        publisher.cancel()
        with contextlib.suppress(BaseException):
            loop.run_until_complete(publisher)
        loop.close()
