"""Accounts and sessions: Argon2id passwords, JWTs bound to server-side sessions,
idle expiry, sign-in throttling, CSRF for cookie-signed requests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request

from . import wire
from .bus.base import Bus, Event
from .config import Settings
from .errors import Conflict, Forbidden, Throttled, Unauthorized
from .hub import session_end_reason
from .records import SessionRecord, UserRecord, new_id, now_ms
from .store.base import Store

log = logging.getLogger("hellow.auth")

COOKIE = "hellow_session"
CSRF_HEADER = "x-hellow-csrf"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Activity is written at most once a second per session: plenty for a 300 s idle
# timeout, and it spares the store a write on every request of a busy sender.
TOUCH_EVERY_MS = 1000
# Verified tokens remembered at once (about 300 bytes each).
VERIFIED_TOKENS = 10_000
# A session read from the store is trusted for this long: a request then costs no store
# round trip (one of four for a send on Redis). Sign-out still ends it at once on every
# process, which forgets it on the bus's `session.ended`; were that message lost, this
# is how long another process could still honour the token.
SESSION_CACHE_MS = 1000
CACHED_SESSIONS = 10_000


class KeyedLocks:
    """An `asyncio.Lock` per key, dropped once nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


@dataclass(slots=True)
class Principal:
    user_id: str
    session: SessionRecord
    via_cookie: bool


@dataclass(slots=True)
class SignedIn:
    user: UserRecord
    session: SessionRecord
    token: str


class Auth:
    def __init__(self, store: Store, bus: Bus, settings: Settings) -> None:
        self.store = store
        self.bus = bus
        self.settings = settings
        self.key = settings.signing_key()
        if settings.redis_url and not settings.jwt_secret:
            log.warning(
                "Redis without HELLOW_JWT_SECRET: signing with the key generated in %s; "
                "processes that do not share that folder must all set the same secret",
                settings.data_dir,
            )
        self.idle_ms = settings.idle_timeout_s * 1000
        # Argon2id at OWASP's recommended floor (19 MiB, 2 passes, 1 lane): about 20 ms
        # here, so sign-in stays quick while a stolen hash costs an attacker dearly.
        self.hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
        self._dummy_hash = self.hasher.hash("not a real password")
        self._verified: dict[str, tuple[str, str, int]] = {}
        self._sessions: dict[str, tuple[SessionRecord, int]] = {}
        self._attempts = KeyedLocks()

    # -- accounts ------------------------------------------------------------------
    async def register(self, username: str, password: str, display_name: str | None) -> SignedIn:
        if await self.store.get_user_by_name(username) is not None:
            raise Conflict("That username is taken.", field="username")
        password_hash = await asyncio.to_thread(self.hasher.hash, password)
        user = UserRecord(
            id=new_id(),
            username=username,
            display_name=display_name or username,
            password_hash=password_hash,
            created_at=now_ms(),
        )
        await self.store.create_user(user)
        log.info("registered user %s (%s)", user.id, user.username)
        return await self._start_session(user)

    async def login(self, username: str, password: str, address: str) -> SignedIn:
        limit = self.settings.login_max_failures
        window = self.settings.login_window_s
        keys = [(f"login:user:{username}", limit), (f"login:addr:{address}", limit * 5)]
        # One attempt at a time per account and per address in this process: attempts
        # made at once would all read the count before any failure is added to it.
        async with self._attempts.hold(keys[0][0]), self._attempts.hold(keys[1][0]):
            for key, most in keys:
                hits, reset_in = await self.store.throttle_peek(key)
                if hits >= most:
                    log.warning("sign-in throttled for %s", key)
                    raise Throttled("Too many failed sign-ins. Try again later.", reset_in)
            user = await self.store.get_user_by_name(username)
            ok = await asyncio.to_thread(
                self._verify, user.password_hash if user else self._dummy_hash, password
            )
            if user is None or not ok:
                for key, _ in keys:
                    await self.store.throttle_hit(key, window)
                log.info("failed sign-in for %r from %s", username, address)
                raise Unauthorized("Wrong username or password.")
            await self.store.throttle_clear(keys[0][0])
        log.info("user %s signed in from %s", user.id, address)
        return await self._start_session(user)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _start_session(self, user: UserRecord) -> SignedIn:
        now = now_ms()
        session = SessionRecord(
            id=new_id(),
            user_id=user.id,
            created_at=now,
            expires_at=now + self.settings.session_max_s * 1000,
            last_active_at=now,
        )
        await self.store.create_session(session)
        claims = {
            "sub": user.id,
            "sid": session.id,
            "iat": now // 1000,
            "exp": session.expires_at // 1000,
        }
        return SignedIn(user, session, jwt.encode(claims, self.key, algorithm="HS256"))

    # -- requests --------------------------------------------------------------------
    async def authenticate(self, request: Request, unsafe: bool) -> Principal:
        """The signed-in principal of a request, or `Unauthorized`; records activity
        for unsafe requests and demands the CSRF header when signed by cookie."""
        header = request.headers.get("authorization", "")
        via_cookie = False
        if header[:7].lower() == "bearer ":
            token = header[7:].strip()
        else:
            token = request.cookies.get(COOKIE, "")
            via_cookie = True
        if not token:
            raise Unauthorized("Sign in first.")
        if via_cookie and unsafe and request.headers.get(CSRF_HEADER) != "1":
            raise Forbidden("Cookie-signed requests must carry the X-Hellow-CSRF: 1 header.")
        session = await self.session_of(token)
        if unsafe:
            session = await self.record_activity(session)
        return Principal(session.user_id, session, via_cookie)

    def _claims(self, token: str) -> tuple[str, str]:
        """(user id, session id) of a token whose signature and `exp` check out.

        Verified tokens are remembered (bounded): verifying costs more than the rest of a
        send's authentication, and the server-side session is still read every time."""
        cached = self._verified.get(token)
        if cached is not None and cached[2] > now_ms() // 1000:
            return cached[0], cached[1]
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=["HS256"],
                options={"require": ["sub", "sid", "iat", "exp"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized("The session token is not valid.") from exc
        sid, sub, exp = claims.get("sid"), claims.get("sub"), claims.get("exp")
        if not isinstance(sid, str) or not isinstance(sub, str) or not isinstance(exp, int):
            raise Unauthorized("The session token is not valid.")
        if len(self._verified) >= VERIFIED_TOKENS:
            self._verified.clear()
        self._verified[token] = (sub, sid, exp)
        return sub, sid

    async def session_of(self, token: str) -> SessionRecord:
        sub, sid = self._claims(token)
        now = now_ms()
        entry = self._sessions.get(sid)
        session = entry[0] if entry is not None and now - entry[1] < SESSION_CACHE_MS else None
        if session is None or session_end_reason(session, now, self.idle_ms) is not None:
            # Not known, stale, or looks over here: the store has the last word (another
            # process may have seen activity since).
            session = await self.store.get_session(sid)
            if session is not None:
                if len(self._sessions) >= CACHED_SESSIONS:
                    self._sessions.clear()
                self._sessions[sid] = (session, now)
        if session is None or session.user_id != sub:
            raise Unauthorized("The session has ended.")
        reason = session_end_reason(session, now_ms(), self.idle_ms)
        if reason is not None:
            raise Unauthorized(f"The session has ended ({reason}).")
        return session

    async def record_activity(self, session: SessionRecord, force: bool = False) -> SessionRecord:
        now = now_ms()
        if force or now - session.last_active_at >= TOUCH_EVERY_MS:
            await self.store.touch_session(session.id, now)
            session.last_active_at = now
        return session

    def forget(self, session_id: str) -> None:
        """Drop a session from this process's memory (it ended here or elsewhere)."""
        self._sessions.pop(session_id, None)

    async def logout(self, session: SessionRecord) -> None:
        """Revoke at once; every instance ends that session's open streams and forgets it."""
        await self.store.revoke_session(session.id)
        self.forget(session.id)
        log.info("user %s signed out (session %s)", session.user_id, session.id[:8])
        data = wire.dumps({"reason": "logout"})
        await self.bus.publish(
            Event("session.ended", data, frozenset([session.user_id]), session_id=session.id)
        )

    def idle_expires_at(self, session: SessionRecord) -> int:
        return min(session.last_active_at + self.idle_ms, session.expires_at)
