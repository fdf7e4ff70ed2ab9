"""Test support: the real server in a subprocess on a free port, and small HTTP helpers.

Tests talk to Hellow only as clients do: HTTP and SSE over a real socket.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def required(kind: str) -> bool:
    """HELLOW_TEST_REQUIRE=redis,browser turns a skip for a missing part into a failure."""
    wanted = os.environ.get("HELLOW_TEST_REQUIRE", "")
    return kind in {w.strip() for w in wanted.split(",")}


class ServerProcess:
    """`python -m hellow serve` on a free port with its own data dir (or a given Redis)."""

    def __init__(self, env: dict[str, str] | None = None, data_dir: Path | None = None) -> None:
        self.port = free_port()
        self._own_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="hellow-test-"))
        self.env = {
            **os.environ,
            "HELLOW_TEST_HOOKS": "1",
            "HELLOW_JWT_SECRET": "test-secret-" + "x" * 32,
            **(env or {}),
        }
        self.env.pop("HELLOW_PORT", None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> ServerProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hellow",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> ServerProcess:
        """Stop, then start again on the same port and data dir."""
        self.stop()
        return self.start()

    def cleanup(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def unique(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


class Client:
    """A signed-in (or not) HTTP client using the Bearer token, as programs do."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.token = token
        self.user: dict[str, Any] = {}
        self.http = httpx.Client(base_url=base_url, timeout=10.0)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.headers(), **kw.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.request("POST", path, json=json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    @classmethod
    def register(
        cls, base_url: str, username: str | None = None, display_name: str | None = None
    ) -> Client:
        client = cls(base_url)
        body: dict[str, Any] = {"username": username or unique(), "password": PASSWORD}
        if display_name:
            body["display_name"] = display_name
        r = client.post("/api/auth/register", json=body)
        assert r.status_code == 201, r.text
        client.token = r.json()["token"]
        client.user = r.json()["user"]
        return client

    @property
    def id(self) -> str:
        return str(self.user["id"])

    def direct(self, other: Client) -> dict[str, Any]:
        r = self.post("/api/conversations", json={"kind": "direct", "member_ids": [other.id]})
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    def group(self, title: str, *others: Client) -> dict[str, Any]:
        body = {"kind": "group", "title": title, "member_ids": [o.id for o in others]}
        r = self.post("/api/conversations", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def send(self, conversation_id: str, body: str, **extra: Any) -> dict[str, Any]:
        payload = {"client_id": extra.pop("client_id", uuid.uuid4().hex), "body": body, **extra}
        r = self.post(f"/api/conversations/{conversation_id}/messages", json=payload)
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    def all_messages(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every message of a conversation, paging forward by seq."""
        out: list[dict[str, Any]] = []
        after = 0
        while True:
            r = self.get(
                f"/api/conversations/{conversation_id}/messages",
                params={"after": after, "limit": 200},
            )
            assert r.status_code == 200, r.text
            page = r.json()
            out += page["messages"]
            if not page["has_more"] or not page["messages"]:
                return out
            after = out[-1]["seq"]

    def close(self) -> None:
        self.http.close()


class SSEEvent:
    def __init__(self, event: str, data: str, id: str | None) -> None:
        self.event = event
        self.data = data
        self.id = int(id) if id else None

    def json(self) -> Any:
        import json

        return json.loads(self.data) if self.data else None

    def __repr__(self) -> str:
        return f"SSEEvent({self.event!r}, id={self.id}, {self.data[:80]!r})"


class EventReader:
    """Reads `/api/events` on a thread; events (and `: ping` comments) land in a queue.

    A real socket and a real SSE parser (httpx-sse), as an outside client would use.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        last_event_id: int | None = None,
        query: bool = False,
        read_timeout: float = 60.0,
    ) -> None:
        import queue
        import threading

        self.events: queue.Queue[SSEEvent] = queue.Queue()
        self.pings = 0
        self.retry: int | None = None
        self.body = ""
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.closed = threading.Event()
        self.error: BaseException | None = None
        self._connected = threading.Event()
        headers = {"Authorization": f"Bearer {token}"}
        params = {}
        if last_event_id is not None:
            if query:
                params["last_event_id"] = str(last_event_id)
            else:
                headers["Last-Event-ID"] = str(last_event_id)
        self._client = httpx.Client(
            base_url=base_url, timeout=httpx.Timeout(10.0, read=read_timeout)
        )
        self._stop = False
        self._thread = threading.Thread(
            target=self._run, args=(headers, params), daemon=True, name="sse-reader"
        )
        self._thread.start()
        self._connected.wait(10)

    def _run(self, headers: dict[str, str], params: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", "/api/events", headers=headers, params=params) as r:
                self.status = r.status_code
                self.headers = dict(r.headers)
                self._socket = r.extensions["network_stream"].get_extra_info("socket")
                self._connected.set()
                if r.status_code != 200:
                    r.read()
                    self.body = r.text
                    return
                for line in self._lines(r):
                    if self._stop:
                        return
                    if line == ": ping":
                        self.pings += 1
        except BaseException as exc:  # surfaced to the test through .error
            if not self._stop:
                self.error = exc
        finally:
            self._connected.set()
            self.closed.set()

    def _lines(self, response: httpx.Response) -> Any:
        """A plain SSE parser (WHATWG rules), keeping whether each event had its own `id:`."""
        kind, data, event_id = "", [], None
        for line in response.iter_lines():
            line = line.rstrip("\r\n")
            if line.startswith(":"):
                yield line
                continue
            if not line:
                if data:
                    self.events.put(SSEEvent(kind or "message", "\n".join(data), event_id))
                kind, data, event_id = "", [], None
                yield line
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                kind = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                event_id = value
            elif name == "retry":
                self.retry = int(value)
            yield line

    def next(self, timeout: float = 10.0) -> SSEEvent:
        import queue

        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout}s (error={self.error})") from None

    def wait_for(self, kind: str, timeout: float = 10.0, **match: Any) -> SSEEvent:
        """Skip events until one of `kind` whose JSON has the given fields."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind} {match} within {timeout}s")
            ev = self.next(left)
            if ev.event != kind:
                continue
            data = ev.json()
            if all(data.get(k) == v for k, v in match.items()):
                return ev

    def drain(self, quiet: float = 0.3) -> list[SSEEvent]:
        """Everything that arrives until the stream is quiet for `quiet` seconds."""
        import queue

        out = []
        while True:
            try:
                out.append(self.events.get(timeout=quiet))
            except queue.Empty:
                return out

    def close(self) -> None:
        """Hang up as a vanished client would: shut the socket, so the server sees it."""
        self._stop = True
        sock = getattr(self, "_socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._client.close()
