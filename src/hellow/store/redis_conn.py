"""Talking to Redis: the client, error translation, and quarantine of bad keys.

Every command the Redis store sends goes through `Conn.run` (a pipeline that knows which
key each command touches) or `Conn.script`, so a WRONGTYPE answer is always pinned on a key.

    redis ConnectionError / TimeoutError / LOADING / READONLY ...  -> Unavailable (503)
    WRONGTYPE on a key, or a value that does not parse (Garbled)   -> quarantine, StoreCorrupt
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import redis.asyncio as aioredis
import redis.exceptions as rex
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from ..errors import HellowError, StoreCorrupt, Unavailable
from ..records import now_ms
from ..redis_keys import quarantine_name

log = logging.getLogger("hellow.redis")

# A request must fail fast (503) rather than hang while Redis is away: connect within 1 s,
# answer within 2 s, and retry once only, so a pooled connection that died with a Redis
# restart is replaced transparently but a dead Redis costs well under 5 s.
CONNECT_TIMEOUT_S = 1.0
SOCKET_TIMEOUT_S = 2.0


def make_client(url: str, **extra: Any) -> aioredis.Redis:
    """One pooled asyncio client; `redis://`, `rediss://` and `unix://` URLs all work."""
    options: dict[str, Any] = {
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_timeout": SOCKET_TIMEOUT_S,
        "retry": Retry(ExponentialBackoff(cap=0.1, base=0.01), 1),
        "health_check_interval": 10,
        "max_connections": 64,
        # RESP2: understood by every Redis, Valkey and hosted variant we may meet.
        "protocol": 2,
        **extra,
    }
    return aioredis.Redis.from_url(url, **options)


class Garbled(Exception):
    """A key holds the wrong type or data that does not parse: quarantine it."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


class Contended(Exception):
    """A compare-and-set script saw the data change under it: read again and retry."""


UNAVAILABLE = (
    rex.ConnectionError,
    rex.TimeoutError,
    rex.BusyLoadingError,
    rex.ReadOnlyError,
    ConnectionError,
    TimeoutError,
    asyncio.TimeoutError,
    OSError,
)


def is_wrongtype(exc: BaseException) -> bool:
    return isinstance(exc, rex.ResponseError) and str(exc).startswith("WRONGTYPE")


def translate(exc: BaseException) -> Exception:
    """Map a redis-py error to the HTTP-facing hierarchy (errors.py)."""
    if isinstance(exc, UNAVAILABLE):
        return Unavailable("The data store does not answer; try again shortly.")
    if is_wrongtype(exc):
        return StoreCorrupt("Stored data has the wrong type.")
    # OOM, MISCONF, NOSCRIPT storms...: Redis is there but cannot serve us right now.
    log.error("redis error: %s", exc)
    return Unavailable("The data store refused the request; try again shortly.")


class Conn:
    """The store's connection: pipelines with per-command key attribution, and quarantine."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client

    async def run(self, *commands: tuple[str, str, *tuple[Any, ...]]) -> list[Any]:
        """Run `(key, COMMAND, *args)` in one round trip; WRONGTYPE on a command is Garbled."""
        pipe = self.client.pipeline(transaction=False)
        for _key, name, *args in commands:
            pipe.execute_command(name, *args)
        results = await pipe.execute(raise_on_error=False)
        for (key, _name, *_args), result in zip(commands, results, strict=True):
            if isinstance(result, Exception):
                if is_wrongtype(result):
                    raise Garbled(key, "wrong type")
                raise result
        return list(results)

    async def one(self, key: str, name: str, *args: Any) -> Any:
        return (await self.run((key, name, *args)))[0]

    async def script(self, script: Any, keys: Sequence[str], args: Sequence[Any]) -> list[Any]:
        """Run a Lua script of redis_lua.py: it checks key types before writing anything and
        answers `[b"WRONGTYPE"|b"CORRUPT", i]`, `[b"RETRY"]` or its own result."""
        result = await script(keys=list(keys), args=list(args), client=self.client)
        if isinstance(result, list) and result and result[0] in (b"WRONGTYPE", b"CORRUPT"):
            reason = "wrong type" if result[0] == b"WRONGTYPE" else "unparseable value"
            raise Garbled(keys[int(result[1]) - 1], reason)
        if isinstance(result, list) and result and result[0] == b"RETRY":
            raise Contended()
        return list(result) if isinstance(result, list) else [result]

    async def quarantine(self, key: str, reason: str) -> str | None:
        """Move a bad key aside (never delete it) and log where it went."""
        target = quarantine_name(key, now_ms())
        try:
            await self.client.rename(key, target)
        except rex.ResponseError as exc:
            # "no such key": another process (or request) moved it first.
            log.warning("quarantine of %s skipped: %s", key, exc)
            return None
        except UNAVAILABLE as exc:
            log.error("quarantine of %s failed, Redis unavailable: %s", key, exc)
            return None
        log.error("quarantined redis key %s -> %s (%s)", key, target, reason)
        return target


class HasConn(Protocol):
    @property
    def conn(self) -> Conn: ...


S = TypeVar("S", bound=HasConn)
P = ParamSpec("P")
T = TypeVar("T")

# Compare-and-set writes retry when a concurrent write in the same conversation won; a
# hundred tries with a growing jittered pause absorb any human-made contention.
CAS_TRIES = 100


def guarded(
    fn: Callable[Concatenate[S, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
    """Every public store method: bad keys are quarantined (StoreCorrupt for this request
    only), redis errors become Unavailable, and Contended writes are retried."""

    @functools.wraps(fn)
    async def run(self: S, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            for attempt in range(CAS_TRIES):
                try:
                    return await fn(self, *args, **kwargs)
                except Contended:
                    await asyncio.sleep(random.random() * 0.002 * min(attempt + 1, 10))
            raise Unavailable("The data store is too busy; try again.")
        except Garbled as exc:
            await self.conn.quarantine(exc.key, exc.reason)
            raise StoreCorrupt(
                f"Stored data was unreadable ({exc.reason}) and has been set aside.", key=exc.key
            ) from exc
        except HellowError:
            raise
        except (rex.RedisError, *UNAVAILABLE) as exc:
            raise translate(exc) from exc

    return run
