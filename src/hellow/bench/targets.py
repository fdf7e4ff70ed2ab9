"""The targets of issue 5, judged against measured results (2-core machine, loopback)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .stats import Result


@dataclass(frozen=True, slots=True)
class Verdict:
    target: str
    backend: str
    measured: str
    met: bool | None  # None: not measured at the target's size


def _of(results: list[Result], scenario: str, backend: str) -> list[Result]:
    return [r for r in results if r.scenario == scenario and r.backend == backend]


def _latency(rs: list[Result]) -> tuple[str, bool | None]:
    r = rs[0]
    if not r.latency:
        return "no samples", False
    lat = r.latency
    return f"p50 {lat.p50:.2f} ms, p99 {lat.p99:.2f} ms", lat.p50 <= 2 and lat.p99 <= 5


def _fanout_20(rs: list[Result]) -> tuple[str, bool | None]:
    at20 = [r for r in rs if r.rate == 20 and r.streams >= 1000 and r.latency]
    if not at20:
        return "not measured at 1,000 streams, 20 msg/s", None
    lat = at20[0].latency
    assert lat is not None
    return f"p99 {lat.p99:.1f} ms", lat.p99 <= 50


def _fanout_max(rs: list[Result]) -> tuple[str, bool | None]:
    big = [r for r in rs if r.streams >= 1000 and r.latency]
    within = [r.deliveries_per_s for r in big if r.latency and r.latency.p99 <= 100]
    if not big:
        return "not measured at 1,000 streams", None
    if not within:
        first = min(big, key=lambda r: r.deliveries_per_s)
        p99 = first.latency.p99 if first.latency else 0.0
        return f"p99 above 100 ms already at {first.deliveries_per_s:,.0f}/s ({p99:.0f} ms)", False
    best = max(within)
    return f"{best:,.0f} deliveries/s with p99 <= 100 ms", best >= 50_000


def _idle_memory(rs: list[Result]) -> tuple[str, bool | None]:
    r = rs[0]
    if r.mem_per_stream_kib is None:
        return "server memory not readable (--url without --server-pid)", None
    sized = r.streams >= 10_000
    note = "" if sized else f" (at {r.streams} streams)"
    return f"{r.mem_per_stream_kib:.1f} KiB/stream{note}", (
        r.mem_per_stream_kib <= 20
    ) if sized else None


def _reach_all(rs: list[Result]) -> tuple[str, bool | None]:
    r = rs[0]
    if not r.latency:
        return "no samples", False
    sized = r.streams >= 10_000
    return f"max {r.latency.max:.0f} ms to {r.streams} streams", (
        r.latency.max <= 500 if sized else None
    )


def _sends(rs: list[Result]) -> tuple[str, bool | None]:
    r = rs[0]
    return f"{r.sends_per_s:,.0f} sends/s", r.sends_per_s >= 4000


def _resume(rs: list[Result]) -> tuple[str, bool | None]:
    r = rs[0]
    catch_up = r.extra.get("catch_up_s", float("inf"))
    sized = r.accepted >= 10_000
    return f"{r.accepted:,} events in {catch_up:.2f} s", (
        catch_up <= 1.0 and r.ok
    ) if sized else None


TARGETS: list[tuple[str, str, Callable[[list[Result]], tuple[str, bool | None]]]] = [
    ("one-to-one latency: p50 <= 2 ms, p99 <= 5 ms", "latency", _latency),
    ("fan-out to 1,000 streams: p99 <= 50 ms at 20 msg/s", "fanout", _fanout_20),
    ("fan-out: >= 50,000 deliveries/s before p99 passes 100 ms", "fanout", _fanout_max),
    ("10,000 idle streams: <= 20 KiB server memory each", "connections", _idle_memory),
    ("one message reaches 10,000 streams within 500 ms", "connections", _reach_all),
    (">= 4,000 accepted sends/s from one process", "throughput", _sends),
    ("a stream that missed 10,000 events catches up within 1 s", "resume", _resume),
]


def judge(results: list[Result]) -> list[Verdict]:
    out = []
    backends = sorted({r.backend for r in results}, key=lambda b: (b != "sqlite", b))
    for backend in backends:
        for name, scenario, check in TARGETS:
            rs = _of(results, scenario, backend)
            if rs:
                measured, met = check(rs)
                out.append(Verdict(name, backend, measured, met))
    out.extend(_redis_factor(results))
    return out


def _redis_factor(results: list[Result]) -> list[Verdict]:
    """Redis with two processes within a factor of 2 of SQLite, figure by figure."""
    pairs: list[tuple[str, Callable[[Result], float | None], bool]] = [
        ("latency p99", lambda r: r.latency.p99 if r.latency else None, False),
        ("fan-out deliveries/s", lambda r: r.deliveries_per_s, True),
        ("sends/s", lambda r: r.sends_per_s, True),
        ("resume catch-up", lambda r: r.extra.get("catch_up_s"), False),
    ]
    scenario_of = {
        "latency p99": "latency",
        "fan-out deliveries/s": "fanout",
        "sends/s": "throughput",
        "resume catch-up": "resume",
    }
    out = []
    for name, figure, higher_is_better in pairs:
        sq = _of(results, scenario_of[name], "sqlite")
        rd = _of(results, scenario_of[name], "redis")
        if not sq or not rd:
            continue
        pick = max if higher_is_better else min
        a = pick((v for r in sq if (v := figure(r)) is not None), default=None)
        b = pick((v for r in rd if (v := figure(r)) is not None), default=None)
        if a is None or b is None or a <= 0 or b <= 0:
            continue
        factor = a / b if higher_is_better else b / a
        measured = f"SQLite {a:,.4g}, Redis {b:,.4g}: x{factor:.2f}"
        out.append(
            Verdict(
                f"Redis (2 processes) within x2 of SQLite: {name}", "redis", measured, factor <= 2
            )
        )
    return out
