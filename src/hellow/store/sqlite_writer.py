"""One writer thread for SQLite with group commit.

SQLite takes one writer at a time. Writes are queued to a single thread that runs
every job waiting at that moment in one transaction, each job inside its own
SAVEPOINT (a failing job rolls back alone), then commits once: one fsync for the
whole group. A job's future resolves only after that commit, so a caller that
acknowledges after `await` acknowledges what is on disk.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Job = tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any], bool]

# A bigger group amortises the fsync further but delays its first job: 256 jobs of
# ~20 µs each keep a group's extra wait around 5 ms.
MAX_GROUP = 256


class Writer:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[[sqlite3.Connection], T], scrub: bool = False) -> T:
        """Run `fn` in the next group; `scrub` also empties the write-ahead log after the
        commit, so that text a job erased does not linger in the WAL file's old pages."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, future, scrub))
        return await future

    def close(self) -> None:
        """Finish every queued job, then stop."""
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < MAX_GROUP:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                group.append(job)
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[Job]) -> None:
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
            conn.execute("COMMIT")
            if any(scrub for _, _, scrub in group):
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except Exception as exc:  # the whole group failed to commit
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            outcomes = [(False, exc)] * len(group)
        for (_, future, _), (ok, value) in zip(group, outcomes, strict=True):
            future.get_loop().call_soon_threadsafe(_settle, future, ok, value)


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
