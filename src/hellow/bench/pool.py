"""The main process's handle on its load processes: spawn, command, wait, read counters."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from .worker import ACCEPTED, COUNTERS, DELIVERED, READY, RECONNECTS, SENT, worker_main


class WorkerGone(RuntimeError):
    pass


class Handle:
    def __init__(self, ctx: Any, index: int) -> None:
        self.index = index
        self.counters = ctx.RawArray("q", COUNTERS)
        self.conn, child = ctx.Pipe()
        self.proc: BaseProcess = ctx.Process(
            target=worker_main, args=(child, self.counters), name=f"bench-worker-{index}"
        )
        self.proc.daemon = True
        self.proc.start()
        child.close()

    @property
    def pid(self) -> int:
        return int(self.proc.pid or 0)


class Pool:
    """`readers` processes hold the streams; `senders` processes send."""

    def __init__(self, readers: int, senders: int) -> None:
        # spawn: a fresh interpreter per worker, no inherited threads or sockets.
        ctx = mp.get_context("spawn")
        self.readers = [Handle(ctx, i) for i in range(readers)]
        self.senders = [Handle(ctx, readers + i) for i in range(senders)]

    @property
    def all(self) -> list[Handle]:
        return self.readers + self.senders

    @property
    def pids(self) -> list[int]:
        return [h.pid for h in self.all]

    def total(self, which: int, handles: list[Handle] | None = None) -> int:
        return sum(int(h.counters[which]) for h in (handles or self.all))

    def delivered(self) -> int:
        return self.total(DELIVERED, self.readers)

    def ready(self) -> int:
        return self.total(READY, self.readers)

    def reconnects(self) -> int:
        return self.total(RECONNECTS, self.readers)

    def sent(self) -> tuple[int, int]:
        return self.total(SENT, self.senders), self.total(ACCEPTED, self.senders)

    def ask(
        self,
        requests: list[tuple[Handle, tuple[Any, ...]]],
        tick: Callable[[], None] | None = None,
        timeout: float = 600.0,
        every: Callable[[float], None] | None = None,
    ) -> list[Any]:
        """Send each handle its command; wait for every answer, calling `tick` meanwhile.

        `every(elapsed)` runs on each wake-up too, for timed actions (cutting streams).
        """
        for handle, command in requests:
            handle.conn.send(command)
        answers: list[Any] = [None] * len(requests)
        waiting = set(range(len(requests)))
        start = time.monotonic()
        while waiting:
            for i in list(waiting):
                handle = requests[i][0]
                conn: Connection = handle.conn
                if conn.poll(0.02 if len(waiting) == 1 else 0):
                    try:
                        kind, answers[i] = conn.recv()
                    except EOFError:
                        raise WorkerGone(f"load worker {handle.index} exited") from None
                    if kind == "error":
                        raise WorkerGone(f"load worker {handle.index} failed:\n{answers[i]}")
                    waiting.discard(i)
                elif not handle.proc.is_alive():
                    raise WorkerGone(f"load worker {handle.index} died")
            if waiting:
                if len(waiting) > 1:
                    time.sleep(0.02)
                if tick is not None:
                    tick()
                if every is not None:
                    every(time.monotonic() - start)
                if time.monotonic() - start > timeout:
                    raise TimeoutError(f"load workers did not answer within {timeout:.0f} s")
        return answers

    def close(self) -> None:
        for handle in self.all:
            with contextlib.suppress(OSError):
                handle.conn.send(("stop",))
        for handle in self.all:
            handle.proc.join(5)
            if handle.proc.is_alive():
                handle.proc.terminate()
                handle.proc.join(5)
