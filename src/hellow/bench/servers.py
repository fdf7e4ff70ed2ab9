"""The servers under test: Hellow processes (and a Redis) started by the tool, or given URLs.

Also what the tool reads about them from /proc: resident memory and CPU time, so
figures come from the kernel rather than from the server's own accounting.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")

# Settings for servers the tool starts itself: the per-user send throttle (20/s by
# default) and the sign-in throttle would otherwise measure themselves, not the server;
# sessions must outlive a 10-minute standard run without "activity".
SERVER_ENV = {
    "HELLOW_SEND_RATE_PER_S": "1000000",
    "HELLOW_LOGIN_MAX_FAILURES": "1000000",
    "HELLOW_IDLE_TIMEOUT_S": "86400",
    "HELLOW_TEST_HOOKS": "1",
    "HELLOW_JWT_SECRET": "bench-secret-" + "b" * 40,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_nofile() -> tuple[int, int]:
    """Raise the soft open-file limit to the hard one; returns (soft, hard) now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else 1 << 20
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)


def _descendants(pid: int) -> list[int]:
    """The pid and its children, grandchildren... (a server may fork workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


@dataclass(frozen=True, slots=True)
class Usage:
    """One reading of a set of processes: CPU seconds so far and resident bytes now."""

    at: float
    cpu_s: float
    rss: int


def read_usage(pids: list[int], tree: bool = True) -> Usage | None:
    """The processes (with their descendants when `tree`) summed."""
    if not pids:
        return None
    cpu, rss = 0.0, 0
    for root in pids:
        for pid in _descendants(root) if tree else [root]:
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                with open(f"/proc/{pid}/statm", "rb") as f:
                    rss += int(f.read().split()[1]) * _PAGE
            except OSError:
                continue
            # fields[0] is the state (stat field 3): utime and stime are stat fields 14, 15.
            cpu += (int(fields[11]) + int(fields[12])) / _TICKS
    return Usage(time.monotonic(), cpu, rss)


def read_machine() -> Usage:
    """The whole machine: CPU seconds spent not idle (all cores), from /proc/stat."""
    with open("/proc/stat", "rb") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return Usage(time.monotonic(), (sum(fields[:8]) - idle) / _TICKS, 0)


def machine_busy(window: float = 1.0) -> float:
    """Per cent of one core the whole machine used over the next `window` seconds."""
    before = read_machine()
    time.sleep(window)
    return cpu_percent(before, read_machine()) or 0.0


def cpu_percent(before: Usage | None, after: Usage | None) -> float | None:
    if before is None or after is None or after.at <= before.at:
        return None
    return 100.0 * (after.cpu_s - before.cpu_s) / (after.at - before.at)


def wait_healthy(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    host, port = host_port(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection(host, port, timeout=1.0)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer /healthz within {timeout:.0f} s")


@dataclass
class Target:
    """What a run talks to: one or more Hellow URLs, with their pids when known."""

    kind: str  # "sqlite", "redis" or "url"
    urls: list[str]
    pids: list[int] = field(default_factory=list)
    redis_pid: int | None = None
    hooks: bool = False
    logs: list[Path] = field(default_factory=list)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)
    _dirs: list[Path] = field(default_factory=list, repr=False)

    def usage(self) -> Usage | None:
        return read_usage(self.pids)

    def redis_usage(self) -> Usage | None:
        return read_usage([self.redis_pid]) if self.redis_pid else None

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self._procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
        for folder in self._dirs:
            shutil.rmtree(folder, ignore_errors=True)
        self._dirs.clear()


def _spawn_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server not found on PATH: apt-get install redis-server")
    port = free_port()
    # No persistence: the figures are the server's, not the disk's.
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
    args += ["--save", "", "--appendonly", "no", "--maxclients", "20000"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def start_servers(
    count: int = 1, redis_url: str | None = None, own_redis: bool = False, timeout: float = 30.0
) -> Target:
    """`python -m hellow serve` x count, each on a free port with its own data dir."""
    target = Target(kind="redis" if (redis_url or own_redis) else "sqlite", urls=[], hooks=True)
    try:
        env = {**os.environ, **SERVER_ENV}
        env.pop("HELLOW_PORT", None)
        for name in ("HELLOW_REDIS_URL", "REDIS_URL", "KV_URL"):
            env.pop(name, None)
        if own_redis and not redis_url:
            folder = Path(tempfile.mkdtemp(prefix="hellow-bench-redis-"))
            target._dirs.append(folder)
            proc, redis_url = _spawn_redis(folder)
            target._procs.append(proc)
            target.redis_pid = proc.pid
        if redis_url:
            env["HELLOW_REDIS_URL"] = redis_url
            # A prefix of its own: a given Redis keeps its data, the run never flushes it.
            env["HELLOW_REDIS_PREFIX"] = f"hellowbench:{uuid.uuid4().hex[:8]}:v1:"
        for _ in range(count):
            folder = Path(tempfile.mkdtemp(prefix="hellow-bench-"))
            target._dirs.append(folder)
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            log_path = folder / "server.log"
            target.logs.append(log_path)
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "hellow",
                        "serve",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--data-dir",
                        str(folder),
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            target._procs.append(proc)
            target.pids.append(proc.pid)
            target.urls.append(url)
            try:
                wait_healthy(url, timeout, proc)
            except RuntimeError as exc:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{exc}\n--- server log ---\n{tail}") from None
        return target
    except BaseException:
        target.stop()
        raise
