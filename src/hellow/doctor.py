"""`hellow doctor [--repair]`: check the configured store, and set bad data aside.

On Redis every key under the prefix is checked against the key table (redis_keys.py):

    unknown     a name the table does not know              reported only
    wrong type  the name's Redis type differs from the table quarantined with --repair
    unparseable a value that does not decode                quarantined with --repair
    dangling    a key whose owner is gone (a message of a    quarantined with --repair
                missing conversation, a username of a missing user...)

Quarantine is a RENAME under `hellow:quarantine:`; nothing is ever deleted. The exit status
is 0 when nothing is left to repair, 1 otherwise. On SQLite it runs `PRAGMA integrity_check`.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .config import Settings
from .redis_keys import QUARANTINE, KeyKind, Keys, classify

BATCH = 500  # keys checked per round trip
REPAIR_PASSES = 5


@dataclass(slots=True)
class Finding:
    key: str
    problem: str  # unknown | wrong type | unparseable | dangling
    detail: str

    @property
    def repairable(self) -> bool:
        return self.problem != "unknown"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hellow doctor", description=__doc__.split("\n")[0])
    parser.add_argument("--repair", action="store_true", help="quarantine what is found bad")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if not settings.redis_url:
        return _sqlite(settings)
    return asyncio.run(doctor(settings.redis_url, settings.redis_prefix, args.repair))


def _sqlite(settings: Settings) -> int:
    path = settings.data_dir / "hellow.db"
    if not path.exists():
        print(f"no database at {path}")
        return 0
    with sqlite3.connect(path) as conn:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    print(f"{path}: " + "; ".join(rows))
    return 0 if rows == ["ok"] else 1


async def doctor(url: str, prefix: str, repair: bool, out: Any = print) -> int:
    from .store.redis_conn import Conn, make_client

    client = make_client(url, socket_timeout=30)
    conn = Conn(client)
    try:
        reported: set[str] = set()
        quarantined = problems = left = 0
        # Setting a key aside can leave keys that belonged to it dangling (a user's username):
        # repair scans again until a pass finds nothing more to move.
        for _ in range(REPAIR_PASSES if repair else 1):
            findings, scanned = await scan(client, prefix)
            fresh = [f for f in findings if f.key not in reported]
            left = sum(1 for f in findings if f.repairable)
            for f in fresh:
                reported.add(f.key)
                problems += 1
                line = f"{f.problem:<12} {f.key}  {f.detail}"
                if repair and f.repairable:
                    target = await conn.quarantine(f.key, f"doctor: {f.problem}: {f.detail}")
                    if target is not None:
                        quarantined += 1
                        left -= 1
                        line += f"  -> {target}"
                out(line)
            if not any(f.repairable for f in fresh):
                break
        held = [k async for k in client.scan_iter(match=QUARANTINE + "*", count=1000)]
        out(
            f"scanned {scanned} keys under {prefix!r}: {problems} problems, "
            f"{quarantined} quarantined now, {len(held)} keys held in quarantine"
        )
        return 0 if left <= 0 else 1
    finally:
        await client.aclose()


async def scan(client: Any, prefix: str) -> tuple[list[Finding], int]:
    keys = Keys(prefix)
    names = sorted({k.decode() async for k in client.scan_iter(match=_glob(prefix), count=1000)})
    findings: list[Finding] = []
    for chunk in _chunks(names, BATCH):
        findings += await _check(client, keys, chunk)
    return findings, len(names)


async def _check(client: Any, keys: Keys, names: list[str]) -> list[Finding]:
    out: list[Finding] = []
    known: list[tuple[str, KeyKind, tuple[str, ...]]] = []
    for name in names:
        found = classify(keys.prefix, name)
        if found is None:
            out.append(Finding(name, "unknown", "not in the key table"))
        else:
            known.append((name, *found))
    pipe = client.pipeline(transaction=False)
    for name, _, _ in known:
        pipe.type(name)
    types = await pipe.execute()
    typed = []
    for (name, kind, parts), got in zip(known, types, strict=True):
        got = got.decode()
        if got == "none":
            continue  # expired or moved meanwhile
        if got != kind.type:
            out.append(Finding(name, "wrong type", f"holds {got}, the table says {kind.type}"))
        else:
            typed.append((name, kind, parts))
    pipe = client.pipeline(transaction=False)
    for name, kind, _ in typed:
        _fetch(pipe, name, kind.type)
    values = await pipe.execute(raise_on_error=False)
    owners = []
    for (name, kind, parts), value in zip(typed, values, strict=True):
        problem = _parse(name, kind, parts, value)
        if problem:
            out.append(Finding(name, "unparseable", problem))
            continue
        owner = _owner(keys, kind, parts, value)
        if owner is not None:
            owners.append((name, *owner))
    pipe = client.pipeline(transaction=False)
    for _, owner_key, _ in owners:
        pipe.exists(owner_key)
    for (name, owner_key, why), exists in zip(owners, await pipe.execute(), strict=True):
        if not exists:
            out.append(Finding(name, "dangling", f"{why} {owner_key} is missing"))
    return out


def _fetch(pipe: Any, name: str, kind: str) -> None:
    if kind == "string":
        pipe.get(name)
    elif kind == "hash":
        pipe.hgetall(name)
    elif kind == "set":
        pipe.smembers(name)
    else:
        pipe.zrange(name, 0, -1)


def _parse(name: str, kind: KeyKind, parts: tuple[str, ...], value: Any) -> str | None:
    """What is wrong with a value, or None when it decodes as the store would decode it."""
    from .store import redis_codec as codec
    from .store.redis_conn import Garbled

    if isinstance(value, Exception):
        return str(value)
    try:
        match kind.name:
            case "event_counter" | "throttle":
                codec.integer(name, value)
            case "username" | "direct":
                codec.text(name, value)
            case "user":
                codec.user(name, value)
            case "session":
                codec.session(name, value)
            case "conv":
                codec.conv(name, value, [])
            case "receipts":
                for raw in value.values():
                    codec.receipt(name, raw)
            case "presence":
                for raw in value.values():
                    codec.integer(name, raw)
            case "message":
                codec.message(name, value)
            case "message_events":
                for raw in value:
                    codec.integer(name, raw)
            case "events":
                for raw in value:
                    codec.event(name, parts[0], raw)
            case "event_log":
                for raw in value:
                    codec.log_entry(name, raw)
    except Garbled as exc:
        return exc.reason
    return None


def _owner(keys: Keys, kind: KeyKind, parts: tuple[str, ...], value: Any) -> tuple[str, str] | None:
    """The key this one belongs to (it dangles without it), and how they relate."""
    if kind.name == "username":
        return keys.user(value.decode()), "its user"
    if kind.name == "direct":
        return keys.conv(value.decode()), "its conversation"
    if kind.name == "user_convs":
        return keys.user(parts[0]), "its user"
    if kind.name in ("message_events", "replies"):
        return keys.message(parts[0], parts[1]), "its message"
    if kind.pattern.startswith("conv:{<cid>}:"):
        return keys.conv(parts[0]), "its conversation"
    return None


def _glob(prefix: str) -> str:
    """SCAN's MATCH pattern for the prefix, with glob characters escaped."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
