"""The figures: latency percentiles, exact loss accounting, and one `Result` per measured step."""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# A step during which other processes used more than this much of a core is noisy.
NOISY = 25.0


@dataclass(frozen=True, slots=True)
class Latency:
    """Milliseconds, by nearest rank over every sample (no histogram rounding)."""

    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    p999: float
    max: float

    @classmethod
    def of(cls, samples_us: Sequence[int]) -> Latency | None:
        if not samples_us:
            return None
        ordered = sorted(samples_us)
        n = len(ordered)

        def rank(q: float) -> float:
            return ordered[min(n - 1, max(0, int(q * n + 0.5) - 1))] / 1000.0

        return cls(
            count=n,
            mean=sum(ordered) / n / 1000.0,
            p50=rank(0.50),
            p90=rank(0.90),
            p99=rank(0.99),
            p999=rank(0.999),
            max=ordered[-1] / 1000.0,
        )


@dataclass(slots=True)
class Loss:
    expected: int = 0  # deliveries owed: accepted messages x streams subscribed to them
    delivered: int = 0  # bench messages that arrived, duplicates included
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0  # arrived but never acknowledged to the sender (a failed send)


def account(
    accepted: Mapping[int, bytes],
    received: Mapping[int, Mapping[int, bytes]],
    subscriptions: Mapping[int, Iterable[int]],
) -> Loss:
    """Per stream, per conversation, per message number: owed once, seen how often.

    `accepted[conv]` has a 1 at each accepted message number; `received[stream][conv]`
    counts arrivals by number; `subscriptions[stream]` lists the conversations owed to it.
    """
    loss = Loss()
    ones = {conv: flags.count(1) for conv, flags in accepted.items()}
    for stream, counts in received.items():
        owed = set(subscriptions.get(stream, ()))
        for conv in owed:
            flags = accepted.get(conv, b"")
            got = counts.get(conv, b"")
            loss.expected += ones.get(conv, 0)
            width = max(len(flags), len(got))
            if got.rstrip(b"\0") == flags.rstrip(b"\0"):  # the common case: exactly once each
                loss.delivered += ones.get(conv, 0)
                continue
            flags, got = flags.ljust(width, b"\0"), got.ljust(width, b"\0")
            for owed_one, seen in zip(flags, got, strict=True):
                loss.delivered += seen
                if owed_one:
                    if seen == 0:
                        loss.lost += 1
                    elif seen > 1:
                        loss.duplicated += seen - 1
                elif seen:
                    loss.unexpected += seen
        for conv, got in counts.items():
            if conv not in owed:
                seen = sum(got)
                loss.delivered += seen
                loss.unexpected += seen
    return loss


@dataclass
class Result:
    """One measured step of one scenario: what the table, the JSON and the plots show."""

    scenario: str
    backend: str  # sqlite, redis or url
    servers: int
    label: str
    streams: int = 0
    conversations: int = 0
    rate: float | None = None  # the send rate asked for; None: as fast as accepted
    seconds: float = 0.0  # first send to last delivery
    sent: int = 0
    accepted: int = 0
    send_errors: dict[str, int] = field(default_factory=dict)
    sends_per_s: float = 0.0
    deliveries_per_s: float = 0.0
    loss: Loss = field(default_factory=Loss)
    out_of_order: int = 0
    reconnects: int = 0
    resets: int = 0
    session_ended: int = 0
    latency: Latency | None = None
    send_rtt: Latency | None = None
    server_cpu_percent: float | None = None
    redis_cpu_percent: float | None = None
    load_cpu_percent: float | None = None
    other_cpu_percent: float | None = None  # the rest of the machine: noise if high
    server_rss_mib: float | None = None
    mem_per_stream_kib: float | None = None
    extra: dict[str, float] = field(default_factory=dict)
    samples_us: array[int] = field(default_factory=lambda: array("q"), repr=False)

    @property
    def ok(self) -> bool:
        return self.loss.lost == 0 and self.loss.duplicated == 0 and self.out_of_order == 0

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        del out["samples_us"]
        out["ok"] = self.ok
        out["histogram_ms"] = histogram(self.samples_us)
        return out


def histogram(samples_us: Sequence[int]) -> list[list[float | None]]:
    """[upper bound ms (None: beyond the last), count] on a 1-2-5 ladder from 10 us to 50 s."""
    bounds = [m * 10.0**e for e in range(-2, 5) for m in (1, 2, 5)]
    counts = [0] * (len(bounds) + 1)
    for us in samples_us:
        counts[bisect_left(bounds, us / 1000.0)] += 1
    out: list[list[float | None]] = [[b, c] for b, c in zip(bounds, counts, strict=False) if c]
    if counts[-1]:
        out.append([None, counts[-1]])
    return out
