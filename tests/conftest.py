"""Fixtures: the real server on a free port, a real redis-server, real clients."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support import Client, ServerProcess, free_port, required


@pytest.fixture(scope="session")
def server() -> Iterator[ServerProcess]:
    """One SQLite server shared by tests that need no special settings."""
    proc = ServerProcess().start()
    yield proc
    proc.cleanup()


@pytest.fixture
def make_server() -> Iterator[Callable[..., ServerProcess]]:
    """Start servers with their own settings: make_server(HELLOW_IDLE_TIMEOUT_S="2")."""
    started: list[ServerProcess] = []

    def make(data_dir: Path | None = None, **env: str) -> ServerProcess:
        proc = ServerProcess(env=env, data_dir=data_dir).start()
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.cleanup()


@pytest.fixture
def alice(server: ServerProcess) -> Client:
    return Client.register(server.url, display_name="Alice")


@pytest.fixture
def bob(server: ServerProcess) -> Client:
    return Client.register(server.url, display_name="Bob")


@pytest.fixture
def carol(server: ServerProcess) -> Client:
    return Client.register(server.url, display_name="Carol")


class RedisServer:
    def __init__(self, url: str, proc: subprocess.Popen[bytes] | None, port: int, folder: Path):
        self.url = url
        self.proc = proc
        self.port = port
        self.folder = folder

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def start(self) -> None:
        """(Re)start on the same port and folder, with append-only persistence."""
        self.proc = _spawn_redis(self.port, self.folder)


def _spawn_redis(port: int, folder: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which("redis-server")
    assert exe
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis: HELLOW_TEST_REDIS_URL, or redis-server from PATH on a free port."""
    url = os.environ.get("HELLOW_TEST_REDIS_URL")
    if url:
        yield RedisServer(url, None, 0, Path("."))
        return
    if not shutil.which("redis-server"):
        message = (
            "redis-server not found: apt-get install redis-server (or set HELLOW_TEST_REDIS_URL)"
        )
        if required("redis"):
            pytest.fail(message)
        pytest.skip(message)
    folder = Path(tempfile.mkdtemp(prefix="hellow-redis-"))
    port = free_port()
    server = RedisServer(f"redis://127.0.0.1:{port}/0", _spawn_redis(port, folder), port, folder)
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """A Redis URL with an empty database for this test."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield redis_server.url
    client.close()
