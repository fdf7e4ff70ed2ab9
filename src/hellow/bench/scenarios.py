"""The five scenarios: who talks to whom, at what size. Each returns one `Result` per step.

Users are few on purpose: registering costs an Argon2id hash (50-100 ms) on the
server, and one user may hold many streams, each of which gets every event.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .runner import Run
from .stats import Result


@dataclass
class Sizes:
    """The size parameters; None means the scenario's own default."""

    streams: int | None = None
    rates: list[float] = field(default_factory=list)
    duration: float | None = None
    messages: int | None = None
    connections: int | None = None
    conversations: int | None = None
    stop_p99_ms: float = 1000.0  # fanout: stop raising the rate once p99 passes this


def _spread(users: list[int], streams: int) -> list[int]:
    return [users[i % len(users)] for i in range(streams)]


def latency(run: Run, size: Sizes) -> list[Result]:
    """One to one at a steady rate: A sends, B's stream(s) receive."""
    a, b = run.add_users(2)
    conv = run.add_direct(a, b)
    streams = size.streams or 1
    run.open_streams([b] * streams)
    rate = size.rates[0] if size.rates else 100.0
    step = run.next_step()
    plans = run.plans(
        step,
        [run.sender(conv, a)],
        size.connections or 2,
        rate=rate,
        duration=size.duration or (None if size.messages else 10.0),
        messages=size.messages,
    )
    label = f"latency 1:1 @ {rate:g}/s"
    return [run.measure("latency", label, plans)]


def fanout(run: Run, size: Sizes) -> list[Result]:
    """One group, many open streams; the send rate steps up until p99 passes the limit."""
    streams = size.streams or 1000
    users = run.add_users(max(2, math.ceil(streams / 250)))
    conv = run.add_group(users[0], users[1:])
    run.open_streams(_spread(users, streams))
    results = []
    for rate in size.rates or [20.0, 50.0, 100.0, 200.0]:
        step = run.next_step()
        plans = run.plans(
            step,
            [run.sender(conv, users[0])],
            size.connections or max(4, int(rate / 25)),
            rate=rate,
            duration=size.duration or (None if size.messages else 5.0),
            messages=size.messages,
        )
        result = run.measure("fanout", f"fanout {streams} streams @ {rate:g}/s", plans)
        results.append(result)
        p99 = result.latency.p99 if result.latency else math.inf
        if p99 > size.stop_p99_ms or not result.ok:
            break
    return results


def connections(run: Run, size: Sizes) -> list[Result]:
    """Many idle streams (memory per stream), then a few messages to all of them."""
    streams = size.streams or 10_000
    users = run.add_users(max(2, math.ceil(streams / 1000)))
    conv = run.add_group(users[0], users[1:])
    time.sleep(0.5)
    before = run.servers.usage()
    open_s = run.open_streams(_spread(users, streams))
    time.sleep(2.0)  # presence fan-out of the last connects settles
    after = run.servers.usage()
    idle = len(run.stream_user)
    step = run.next_step()
    messages = size.messages or 5
    plans = run.plans(
        step,
        [run.sender(conv, users[0])],
        1,
        rate=size.rates[0] if size.rates else 1.0,
        messages=messages,
    )
    label = f"connections {idle} idle, {messages} msgs"
    result = run.measure("connections", label, plans, open_s=open_s)
    if before and after and idle:
        result.mem_per_stream_kib = (after.rss - before.rss) / idle / 1024
        result.extra["rss_before_mib"] = before.rss / 2**20
        result.extra["rss_idle_mib"] = after.rss / 2**20
    return [result]


def throughput(run: Run, size: Sizes) -> list[Result]:
    """Many senders in many conversations, each sending again as soon as it is answered."""
    convs = size.conversations or 32
    senders = run.add_users(min(8, convs))
    (receiver,) = run.add_users(1)
    for c in range(convs):
        run.add_group(senders[c % len(senders)], [receiver])
    run.open_streams([receiver] * (size.streams or 2))
    step = run.next_step()
    servers = len(run.servers.urls)
    targets = [run.sender(c, senders[c % len(senders)], server=c % servers) for c in range(convs)]
    plans = run.plans(
        step,
        targets,
        size.connections or 32,
        duration=size.duration or (None if size.messages else 10.0),
        messages=size.messages,
    )
    label = f"throughput {convs} convs"
    return [run.measure("throughput", label, plans)]


def resume(run: Run, size: Sizes) -> list[Result]:
    """Streams that missed N events come back with Last-Event-ID and catch up."""
    a, b = run.add_users(2)
    conv = run.add_direct(a, b)
    streams = size.streams or 1
    run.open_streams([b] * streams)
    last_ids = {i: v for i, v in run.close_streams().items() if v is not None}
    missed = size.messages or 10_000
    step = run.next_step()
    plans = run.plans(step, [run.sender(conv, a)], size.connections or 8, messages=missed)
    outcome = run.send(f"resume: sending {missed}", plans)
    run.progress.end()
    label = f"resume {missed} missed x{streams}"
    before = run.watch(label)
    base = run.pool.delivered()
    open_s = run.open_streams([b] * streams, last_ids=last_ids)
    run.drain(label, run.expected(outcome.accepted), base)
    data = run.collect(step)
    catch_up = max(((s.t_last - s.t_open) / 1e9 for s in data.streams.values()), default=0.0)
    result = run.result("resume", label, outcome, data, {"open_s": open_s, "catch_up_s": catch_up})
    run.settle(before, result)
    result.deliveries_per_s = result.loss.delivered / max(1e-9, catch_up)
    result.seconds = catch_up
    return [result]


SCENARIOS: dict[str, Callable[[Run, Sizes], list[Result]]] = {
    "latency": latency,
    "fanout": fanout,
    "connections": connections,
    "throughput": throughput,
    "resume": resume,
}
