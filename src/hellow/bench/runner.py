"""One run against one target: set-up helpers and the measured step (send, drain, count).

Scenarios (in `scenarios`) only say who talks to whom at what size; everything they
have in common, from opening streams to turning counters into a `Result`, is here.
"""

from __future__ import annotations

import os
import time
import uuid
from array import array
from dataclasses import dataclass, field
from pathlib import Path

from .api import Api, User, register_users
from .pool import Pool
from .profile import Profiler
from .progress import Progress, count
from .sender import SendPlan, SendResult, Target
from .servers import Target as Servers
from .servers import (
    Usage,
    cpu_percent,
    host_port,
    machine_busy,
    read_machine,
    read_usage,
)
from .sse_reader import StreamSpec
from .stats import Latency, Result, account
from .worker import OpenOptions, StepData, StreamData


@dataclass
class Settings:
    """What every scenario shares (from the command line)."""

    readers: int = 2
    senders: int = 1
    body_bytes: int = 64
    cut_at: float | None = None  # seconds into a send phase: POST /api/test/drop-streams
    resume: bool = True  # after a cut, reconnect with Last-Event-ID
    reconnect_delay: float = 0.5
    drain_quiet: float = 2.0  # a drain ends when nothing arrived for this long
    drain_max: float = 60.0
    profile: Path | None = None  # py-spy the server(s) in each step, into this folder
    quiet_wait: float = 0.0  # before a step, wait up to this long for other load to stop
    quiet_percent: float = 25.0  # "quiet": the machine uses less than this much of a core


@dataclass
class SendOutcome:
    accepted: dict[int, bytes] = field(default_factory=dict)
    sent: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    rtt_us: array[int] = field(default_factory=lambda: array("q"))
    started: float = 0.0  # perf_counter seconds (CLOCK_MONOTONIC: comparable across processes)
    ended: float = 0.0

    @property
    def accepted_count(self) -> int:
        return sum(flags.count(1) for flags in self.accepted.values())


@dataclass
class Watch:
    server: Usage | None
    redis: Usage | None
    load: Usage | None
    machine: Usage | None


class Run:
    def __init__(self, servers: Servers, settings: Settings, progress: Progress) -> None:
        self.servers = servers
        self.settings = settings
        self.progress = progress
        self.api = Api(servers.urls[0])
        self.pool = Pool(settings.readers, settings.senders)
        self.tag = uuid.uuid4().hex[:6]
        self.users: list[User] = []
        self.conversations: list[str] = []  # ids, by conversation index
        self.members: list[set[int]] = []  # user indices, by conversation index
        self.stream_user: dict[int, int] = {}  # open streams: index -> user index
        self._step = 0
        self._cut_done = False
        self.profiler = Profiler(settings.profile) if settings.profile else None
        if self.profiler is not None and not self.profiler.available():
            progress.note("! py-spy not found (pip install py-spy): no profiles")
            self.profiler = None
        self.profiles: list[Path] = []

    # -- set-up -------------------------------------------------------------------------
    def add_users(self, n: int) -> list[int]:
        start = time.monotonic()
        prefix = f"bn{self.tag}u{len(self.users)}x"
        self.users += register_users(self.servers.urls[0], prefix, n)
        self.progress.note(f"  {n} users registered in {time.monotonic() - start:.1f} s")
        return list(range(len(self.users) - n, len(self.users)))

    def add_group(self, owner: int, others: list[int]) -> int:
        title = f"bench {self.tag} {len(self.conversations)}"
        cid = self.api.group(self.users[owner], title, [self.users[i] for i in others])
        self.conversations.append(cid)
        self.members.append({owner, *others})
        return len(self.conversations) - 1

    def add_direct(self, owner: int, other: int) -> int:
        self.conversations.append(self.api.direct(self.users[owner], self.users[other]))
        self.members.append({owner, other})
        return len(self.conversations) - 1

    def spec(self, index: int, user: int, last_event_id: int | None = None) -> StreamSpec:
        # Several servers (Redis): streams go round-robin, so fan-out crosses processes.
        host, port = host_port(self.servers.urls[index % len(self.servers.urls)])
        return StreamSpec(index, host, port, self.users[user].token, last_event_id)

    def sender(self, conv: int, user: int, server: int = 0) -> Target:
        host, port = host_port(self.servers.urls[server % len(self.servers.urls)])
        spec = StreamSpec(-1, host, port, self.users[user].token)
        return Target(conv, self.conversations[conv], spec)

    def open_streams(
        self, users: list[int], last_ids: dict[int, int] | None = None, timeout: float = 120.0
    ) -> float:
        """One stream per entry of `users`; returns the seconds it took for all to be ready."""
        first = max(self.stream_user, default=-1) + 1
        specs = [
            self.spec(first + k, u, (last_ids or {}).get(first + k)) for k, u in enumerate(users)
        ]
        options = OpenOptions(
            timeout=timeout,
            resume=self.settings.resume,
            reconnect_delay=self.settings.reconnect_delay,
        )
        readers = self.pool.readers
        requests = [(h, ("open", specs[i :: len(readers)], options)) for i, h in enumerate(readers)]
        base = self.pool.ready()
        start = time.monotonic()

        def tick() -> None:
            ready = self.pool.ready() - base
            elapsed = time.monotonic() - start
            text = f"{count(ready)}/{count(len(specs))} streams ready  {elapsed:.1f} s"
            self.progress.show("opening streams", ready / max(1, len(specs)), text)

        answers = self.pool.ask(requests, tick, timeout=timeout + 60)
        self.progress.end()
        errors: dict[int, str] = {}
        for opened, failed in answers:
            errors.update(failed)
            for index in opened:
                self.stream_user[index] = users[index - first]
        seconds = time.monotonic() - start
        if errors:
            sample = next(iter(errors.values()))
            self.progress.note(f"! {len(errors)} of {len(specs)} streams failed to open: {sample}")
        return seconds

    def close_streams(self) -> dict[int, int | None]:
        answers = self.pool.ask([(h, ("close",)) for h in self.pool.readers])
        self.stream_user.clear()
        last: dict[int, int | None] = {}
        for part in answers:
            last.update(part)
        return last

    # -- measuring ----------------------------------------------------------------------
    def next_step(self) -> int:
        self._step += 1
        return self._step

    def plans(
        self, step: int, targets: list[Target], connections: int, **kw: float | int | None
    ) -> list[SendPlan]:
        """Split targets across the sender processes; a conversation stays with one sender."""
        n = max(1, min(len(self.pool.senders), len(targets)))
        share = max(1, connections // n)
        rate = kw.pop("rate", None)
        messages = kw.pop("messages", None)
        out = []
        for i in range(n):
            mine = targets[i::n]
            plan = SendPlan(
                step=step,
                targets=mine,
                connections=share,
                rate=None if rate is None else float(rate) / n,
                duration=kw.get("duration"),
                messages=None if messages is None else int(messages) // n + (i < int(messages) % n),
                body_bytes=self.settings.body_bytes,
                tag=self.tag,
            )
            out.append(plan)
        return out

    def send(self, label: str, plans: list[SendPlan]) -> SendOutcome:
        total = sum(p.messages or 0 for p in plans) or None
        duration = max((p.duration or 0.0) for p in plans) or None
        base_sent, _ = self.pool.sent()
        base_delivered = self.pool.delivered()
        start = time.monotonic()
        self._cut_done = False

        def tick() -> None:
            sent, _ = self.pool.sent()
            sent -= base_sent
            elapsed = time.monotonic() - start
            fraction = sent / total if total else (elapsed / duration if duration else None)
            got = self.pool.delivered() - base_delivered
            text = f"sent {count(sent)}  delivered {count(got)}  {elapsed:.1f} s"
            self.progress.show(label, fraction, text)

        requests = [(self.pool.senders[i], ("send", p)) for i, p in enumerate(plans)]
        answers: list[SendResult] = self.pool.ask(requests, tick, every=self._maybe_cut)
        out = SendOutcome(started=min(a.started for a in answers))
        out.ended = max(a.ended for a in answers)
        for answer in answers:
            out.sent += answer.sent
            out.rtt_us.extend(answer.rtt_us)
            for conv, flags in answer.accepted.items():
                out.accepted[conv] = bytes(flags)
            for key, n in answer.errors.items():
                out.errors[key] = out.errors.get(key, 0) + n
        return out

    def _maybe_cut(self, elapsed: float) -> None:
        cut_at = self.settings.cut_at
        if cut_at is None or self._cut_done or elapsed < cut_at:
            return
        self._cut_done = True
        for url in self.servers.urls:
            Api(url).drop_streams(self.users[0])
        self.progress.note(f"  cut every event stream at {elapsed:.1f} s (test hook)")

    def subscriptions(self) -> dict[int, list[int]]:
        by_user: dict[int, list[int]] = {}
        for conv, members in enumerate(self.members):
            for user in members:
                by_user.setdefault(user, []).append(conv)
        return {s: by_user.get(u, []) for s, u in self.stream_user.items()}

    def expected(self, accepted: dict[int, bytes]) -> int:
        per_user: dict[int, int] = {}
        for user in self.stream_user.values():
            per_user[user] = per_user.get(user, 0) + 1
        return sum(
            flags.count(1) * sum(per_user.get(u, 0) for u in self.members[conv])
            for conv, flags in accepted.items()
        )

    def drain(self, label: str, expected: int, base: int) -> None:
        """Wait until every owed delivery arrived, or nothing more arrives."""
        start = last_change = time.monotonic()
        seen = -1
        while True:
            got = self.pool.delivered() - base
            now = time.monotonic()
            if got != seen:
                seen, last_change = got, now
            self.progress.show(label, got / max(1, expected), f"draining {count(got)}")
            if got >= expected and now - last_change > 0.2:
                break
            if now - last_change > self.settings.drain_quiet:
                break
            if now - start > self.settings.drain_max:
                break
            time.sleep(0.02)
        self.progress.end()

    def collect(self, step: int) -> StepData:
        merged = StepData()
        for part in self.pool.ask([(h, ("collect", step)) for h in self.pool.readers]):
            merged.streams.update(part.streams)
            merged.latencies_us.extend(part.latencies_us)
        return merged

    def wait_quiet(self, label: str) -> None:
        """On a shared machine, other work would be measured as the server's slowness."""
        if self.settings.quiet_wait <= 0:
            return
        start = time.monotonic()
        while (busy := machine_busy(1.0)) > self.settings.quiet_percent:
            waited = time.monotonic() - start
            if waited > self.settings.quiet_wait:
                self.progress.note(f"! machine still busy ({busy:.0f}% of a core): measuring")
                return
            text = f"waiting for a quiet machine: {busy:.0f}% of a core busy, {waited:.0f} s"
            self.progress.show(label, None, text)
        self.progress.end()

    def load_pids(self) -> list[int]:
        """The tool's own processes: this one, the load workers, py-spy when profiling."""
        spies = self.profiler.pids if self.profiler is not None else []
        return [os.getpid(), *self.pool.pids, *spies]

    def watch(self, label: str) -> Watch:
        """Readings of every process before a step (and py-spy on the servers)."""
        self.wait_quiet(label)
        if self.profiler is not None:
            self.profiler.start(label, self.servers.pids)
        return Watch(
            self.servers.usage(),
            self.servers.redis_usage(),
            read_usage(self.load_pids(), tree=False),
            read_machine(),
        )

    def settle(self, before: Watch, result: Result) -> None:
        """The readings after a step, as per cent of one core over it."""
        if self.profiler is not None:
            self.profiles += self.profiler.stop()
        after = Watch(
            self.servers.usage(),
            self.servers.redis_usage(),
            read_usage(self.load_pids(), tree=False),
            read_machine(),
        )
        result.server_cpu_percent = cpu_percent(before.server, after.server)
        result.redis_cpu_percent = cpu_percent(before.redis, after.redis)
        result.load_cpu_percent = cpu_percent(before.load, after.load)
        machine = cpu_percent(before.machine, after.machine)
        if machine is not None:
            ours = [result.server_cpu_percent, result.redis_cpu_percent, result.load_cpu_percent]
            result.other_cpu_percent = max(0.0, machine - sum(x or 0.0 for x in ours))
        result.server_rss_mib = after.server.rss / 2**20 if after.server else None

    def measure(self, scenario: str, label: str, plans: list[SendPlan], **extra: float) -> Result:
        """One step: send per `plans`, drain, count. Streams must be open already."""
        step = plans[0].step
        base = self.pool.delivered()
        before = self.watch(label)
        outcome = self.send(label, plans)
        self.drain(label, self.expected(outcome.accepted), base)
        result = self.result(scenario, label, outcome, self.collect(step), extra)
        self.settle(before, result)
        result.rate = plans[0].rate and sum(p.rate or 0 for p in plans)
        return result

    def result(
        self,
        scenario: str,
        label: str,
        outcome: SendOutcome,
        data: StepData,
        extra: dict[str, float],
    ) -> Result:
        received = {i: s.counts for i, s in data.streams.items()}
        loss = account(outcome.accepted, received, self.subscriptions())
        streams: list[StreamData] = list(data.streams.values())
        last = max((s.t_last for s in streams), default=0) / 1e9
        seconds = max(last, outcome.ended) - outcome.started
        result = Result(
            scenario=scenario,
            backend=self.servers.kind,
            servers=len(self.servers.urls),
            label=label,
            streams=len(streams),
            conversations=len({c for s in streams for c in s.counts} | set(outcome.accepted)),
            seconds=seconds,
            sent=outcome.sent,
            accepted=outcome.accepted_count,
            send_errors=outcome.errors,
            sends_per_s=outcome.accepted_count / max(1e-9, outcome.ended - outcome.started),
            deliveries_per_s=loss.delivered / max(1e-9, seconds),
            loss=loss,
            out_of_order=sum(s.out_of_order for s in streams),
            reconnects=sum(s.reconnects for s in streams),
            resets=sum(s.resets for s in streams),
            session_ended=sum(s.session_ended for s in streams),
            latency=Latency.of(data.latencies_us),
            send_rtt=Latency.of(outcome.rtt_us),
            extra=dict(extra),
            samples_us=data.latencies_us,
        )
        return result

    def close(self) -> None:
        self.pool.close()
        self.api.close()
