"""The setup client: users, conversations and test hooks, over plain synchronous HTTP/1.1.

Only the set-up and the cut hook go through here; the measured traffic (sends and
event streams) is in `sender` and `sse_reader`, on raw asyncio sockets.
"""

from __future__ import annotations

import http.client
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from .servers import host_port

PASSWORD = "bench-password-1"


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} -> {status}: {body}")
        self.status = status


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str
    token: str


class Api:
    """One keep-alive connection to one server."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url
        self.host, self.port = host_port(url)
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload = orjson.dumps(body)
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self._conn.request(method, path, body=payload, headers=headers)
                response = self._conn.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, OSError):
                # A keep-alive connection the server closed: retry once on a new one.
                self.close()
                if attempt == 2:
                    raise
        data = orjson.loads(raw) if raw else None
        return response.status, data

    def expect(
        self,
        ok: tuple[int, ...],
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
    ) -> Any:
        status, data = self.call(method, path, body, token)
        if status not in ok:
            raise ApiError(method, path, status, data)
        return data

    def register(self, username: str) -> User:
        body = {"username": username, "password": PASSWORD}
        status, data = self.call("POST", "/api/auth/register", body)
        if status == 409:  # a rerun against the same --url: sign in instead
            data = self.expect((200,), "POST", "/api/auth/login", body)
        elif status != 201:
            raise ApiError("POST", "/api/auth/register", status, data)
        return User(id=data["user"]["id"], username=username, token=data["token"])

    def group(self, owner: User, title: str, members: list[User]) -> str:
        body = {"kind": "group", "title": title, "member_ids": [m.id for m in members]}
        data = self.expect((200, 201), "POST", "/api/conversations", body, owner.token)
        return str(data["id"])

    def direct(self, owner: User, other: User) -> str:
        body = {"kind": "direct", "member_ids": [other.id]}
        data = self.expect((200, 201), "POST", "/api/conversations", body, owner.token)
        return str(data["id"])

    def send(self, user: User, conversation_id: str, text: str) -> dict[str, Any]:
        body = {"client_id": uuid.uuid4().hex, "body": text}
        path = f"/api/conversations/{conversation_id}/messages"
        return dict(self.expect((200, 201), "POST", path, body, user.token))

    def drop_streams(self, user: User) -> None:
        """Test hook (HELLOW_TEST_HOOKS=1): close every open event stream on this server."""
        self.expect((200, 204), "POST", "/api/test/drop-streams", {}, user.token)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def register_users(url: str, prefix: str, count: int, parallel: int = 4) -> list[User]:
    """Register `count` users; each costs an Argon2id hash on the server, so a few at a time."""

    def one(i: int) -> User:
        api = Api(url)
        try:
            return api.register(f"{prefix}{i}")
        finally:
            api.close()

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, count))) as pool:
        return list(pool.map(one, range(count)))
