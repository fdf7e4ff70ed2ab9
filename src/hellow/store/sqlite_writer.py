"""SQLite writes with group commit, and the fsync off the event loop.

SQLite takes one writer at a time, and a durable commit costs an fsync (about 1.4 ms
on this machine's disk) while the statements of a send take microseconds. So the
jobs waiting at a given moment run on the event loop's thread, one after another in
one transaction, each inside its own SAVEPOINT (a failing job rolls back alone); then
a single COMMIT, the one slow step, runs on a worker thread. Jobs that arrive during
that commit form the next group. A job's future resolves only after its commit, so a
caller that acknowledges after `await` acknowledges what is on disk.

Measured (see docs/benchmarks.md): handing every job to a writer thread instead cost
a GIL hand-off per statement and capped sends near 1,000/s; this shape keeps the loop
thread's work to the statements themselves.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
Job = tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any], bool]


class Writer:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._waiting: list[Job] = []
        self._busy = False  # a group is being committed: new jobs wait for the next one
        self._idle = asyncio.Event()
        self._idle.set()
        self._committer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-commit")

    async def run(self, fn: Callable[[sqlite3.Connection], T], scrub: bool = False) -> T:
        """Run `fn` in the next group; `scrub` also empties the write-ahead log after the
        commit, so that text a job erased does not linger in the WAL file's old pages."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._waiting.append((fn, future, scrub))
        if not self._busy:
            self._busy = True
            self._idle.clear()
            # Let every coroutine runnable in this loop turn add its job to the group.
            loop.call_soon(self._start_group)
        return await future

    async def close(self) -> None:
        """Finish every queued job, then stop."""
        await self._idle.wait()
        self._committer.shutdown(wait=True)

    def _start_group(self) -> None:
        group, self._waiting = self._waiting, []
        conn = self._conn
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, _, _ in group:
                conn.execute("SAVEPOINT job")
                try:
                    outcomes.append((True, fn(conn)))
                    conn.execute("RELEASE job")
                except Exception as exc:  # handed to the waiting caller
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((False, exc))
        except Exception as exc:  # the group could not even start: fail it whole
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._finish(group, [(False, exc)] * len(group))
            return
        scrub = any(s for _, _, s in group)
        done = asyncio.get_running_loop().run_in_executor(self._committer, self._commit, scrub)
        done.add_done_callback(lambda f: self._committed(group, outcomes, f))

    def _commit(self, scrub: bool) -> None:
        """On the worker thread: the only step that waits for the disk."""
        try:
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        if scrub:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _committed(
        self, group: list[Job], outcomes: list[tuple[bool, Any]], done: asyncio.Future[None]
    ) -> None:
        error = done.exception()
        if error is not None:
            outcomes = [(False, error)] * len(group)
        self._finish(group, outcomes)

    def _finish(self, group: list[Job], outcomes: list[tuple[bool, Any]]) -> None:
        for (_, future, _), (ok, value) in zip(group, outcomes, strict=True):
            if future.cancelled():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        if self._waiting:
            asyncio.get_running_loop().call_soon(self._start_group)
        else:
            self._busy = False
            self._idle.set()
