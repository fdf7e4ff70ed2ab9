"""Authentication and sessions: register, login, logout, activity, session, cookie + CSRF."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import jwt
import pytest

from ._util import (
    JWT_SECRET,
    PASSWORD,
    SESSION_FIELDS,
    Client,
    assert_problem,
    assert_user,
    collect_until,
    is_message,
    login,
    parse_time,
    register,
    unique,
)


def cookie_attrs(r: httpx.Response) -> tuple[str, set[str]]:
    """(value, lower-cased attributes) of the hellow_session Set-Cookie."""
    for header in r.headers.get_list("set-cookie"):
        parts = [p.strip() for p in header.split(";")]
        name, _, value = parts[0].partition("=")
        if name == "hellow_session":
            return value, {p.lower().replace(" ", "") for p in parts[1:]}
    raise AssertionError(f"no hellow_session cookie: {r.headers.get_list('set-cookie')}")


def assert_session(s: dict, with_token: bool = True) -> None:
    expected = SESSION_FIELDS if with_token else SESSION_FIELDS - {"token"}
    assert set(s) >= expected, s
    assert_user(s["user"])
    exp = parse_time(s["expires_at"])
    idle = parse_time(s["idle_expires_at"])
    assert isinstance(s["idle_timeout_s"], int | float)
    assert idle <= exp
    assert exp > datetime.now(UTC)


# ---- register -------------------------------------------------------------------------


def test_register_returns_session(server):
    name = unique("reg")
    r = register(server.url, username=name, password=PASSWORD, display_name="Régis")
    assert r.status_code == 201, r.text
    s = r.json()
    assert_session(s)
    assert s["user"]["username"] == name
    assert s["user"]["display_name"] == "Régis"
    assert s["idle_timeout_s"] == 300
    assert isinstance(s["token"], str) and s["token"].count(".") == 2


def test_register_token_is_hs256_jwt_with_claims(server):
    r = register(server.url, username=unique("jwt"), password=PASSWORD)
    s = r.json()
    header = jwt.get_unverified_header(s["token"])
    assert header["alg"] == "HS256"
    claims = jwt.decode(s["token"], JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == s["user"]["id"]
    assert claims["sid"]
    assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int)
    assert 43200 - 5 <= claims["exp"] - claims["iat"] <= 43200 + 5
    exp = parse_time(s["expires_at"]).timestamp()
    assert abs(exp - claims["exp"]) <= 2


def test_register_sets_session_cookie(server):
    r = register(server.url, username=unique("ck"), password=PASSWORD)
    assert r.status_code == 201
    value, attrs = cookie_attrs(r)
    assert value == r.json()["token"]
    assert "httponly" in attrs
    assert "samesite=strict" in attrs
    assert "path=/" in attrs
    assert "secure" not in attrs, "Secure only when the request came over https"


def test_register_display_name_defaults_to_username(server):
    name = unique("dn")
    r = register(server.url, username=name, password=PASSWORD)
    assert r.status_code == 201
    assert r.json()["user"]["display_name"] == name


def test_register_username_stored_lower_case_and_unique_ignoring_case(server):
    base = unique("mx")
    r = register(server.url, username="MX" + base[2:], password=PASSWORD)
    assert r.status_code == 201, r.text
    assert r.json()["user"]["username"] == base.lower()
    again = register(server.url, username=base.lower(), password=PASSWORD)
    assert_problem(again, 409)
    again = register(server.url, username=base.upper(), password=PASSWORD)
    assert_problem(again, 409)


@pytest.mark.parametrize(
    "username",
    [
        "ab",
        "x" * 33,
        "has space",
        "slash/name",
        "at@sign",
        "plus+sign",
        "ünïcode",
        "tab\tname",
        "nul\x00name",
        "",
        "emoji😀x",
    ],
)
def test_register_rejects_bad_username(server, username):
    r = register(server.url, username=username, password=PASSWORD)
    assert_problem(r, 422, field="username")


def test_register_accepts_username_edges(server):
    tag = unique("")[:6]
    for name in (f"a.{tag}", f"{tag}_-.", (tag + "z" * 32)[:32], f"{tag[:3]}"):
        r = register(server.url, username=name, password=PASSWORD)
        if r.status_code == 409:  # the 3-char name may exist already; the rule held
            continue
        assert r.status_code == 201, (name, r.text)
        assert r.json()["user"]["username"] == name


@pytest.mark.parametrize(
    "password,ok", [("x" * 7, False), ("x" * 8, True), ("y" * 256, True), ("z" * 257, False)]
)
def test_register_password_length(server, password, ok):
    r = register(server.url, username=unique("pw"), password=password)
    if ok:
        assert r.status_code == 201, r.text
    else:
        assert_problem(r, 422, field="password")


@pytest.mark.parametrize("display_name,ok", [("", False), ("d" * 64, True), ("d" * 65, False)])
def test_register_display_name_length(server, display_name, ok):
    r = register(server.url, username=unique("dl"), password=PASSWORD, display_name=display_name)
    if ok:
        assert r.status_code == 201, r.text
        assert r.json()["user"]["display_name"] == display_name
    else:
        assert_problem(r, 422, field="display_name")


@pytest.mark.parametrize("missing", ["username", "password"])
def test_register_missing_field_is_422(server, missing):
    body = {"username": unique("mf"), "password": PASSWORD}
    del body[missing]
    assert_problem(register(server.url, **body), 422, field=missing)


# ---- login ----------------------------------------------------------------------------


def test_login_returns_new_session_and_cookie(server):
    name = unique("li")
    first = register(server.url, username=name, password=PASSWORD).json()
    r = login(server.url, name)
    assert r.status_code == 200, r.text
    s = r.json()
    assert_session(s)
    assert s["user"]["id"] == first["user"]["id"]
    assert s["token"] != first["token"]
    value, attrs = cookie_attrs(r)
    assert value == s["token"] and "httponly" in attrs and "samesite=strict" in attrs
    # Both sessions work independently.
    for token in (first["token"], s["token"]):
        me = httpx.get(server.url + "/api/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200


def test_login_unknown_user_and_wrong_password_look_alike(server):
    name = unique("lw")
    register(server.url, username=name, password=PASSWORD)
    wrong = login(server.url, name, "not the password")
    unknown = login(server.url, unique("nobody"), "not the password")
    a = assert_problem(wrong, 401)
    b = assert_problem(unknown, 401)
    for key in ("type", "title", "status", "detail"):
        assert a[key] == b[key], (key, a, b)
    assert "set-cookie" not in wrong.headers


def test_login_throttled_after_repeated_failures(make_server):
    srv = make_server(HELLOW_LOGIN_MAX_FAILURES="3")
    name = unique("th")
    assert register(srv.url, username=name, password=PASSWORD).status_code == 201
    statuses = []
    throttled = None
    for _ in range(8):
        r = login(srv.url, name, "wrong password!")
        statuses.append(r.status_code)
        if r.status_code == 429:
            throttled = r
            break
        assert r.status_code == 401, r.text
    assert throttled is not None, f"never throttled: {statuses}"
    assert_problem(throttled, 429)
    retry_after = throttled.headers.get("retry-after")
    assert retry_after is not None and retry_after.isdigit() and int(retry_after) >= 1
    # The throttle holds for the account, even with the right password now.
    again = login(srv.url, name, PASSWORD)
    assert again.status_code == 429, again.text


# ---- logout, session, activity ----------------------------------------------------------


def test_logout_revokes_token_at_once(alice):
    r = alice.post("/api/auth/logout")
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_problem(alice.get("/api/users/me"), 401)
    assert_problem(alice.get("/api/auth/session"), 401)
    assert_problem(alice.post("/api/auth/activity"), 401)
    assert_problem(alice.post("/api/auth/logout"), 401)


def test_logout_one_session_keeps_the_other(server):
    name = unique("lo")
    first = register(server.url, username=name, password=PASSWORD).json()["token"]
    second = login(server.url, name).json()["token"]
    a, b = Client(server.url, first), Client(server.url, second)
    assert a.post("/api/auth/logout").status_code == 204
    assert a.get("/api/users/me").status_code == 401
    assert b.get("/api/users/me").status_code == 200


def test_logout_ends_open_streams(alice, streams):
    reader = streams(alice)
    assert alice.post("/api/auth/logout").status_code == 204
    ev = reader.wait_for("session.ended")
    assert isinstance(ev.json().get("reason"), str)
    assert ev.id is None
    assert reader.closed.wait(10), "the stream stayed open after session.ended"


def test_get_session_has_no_token(alice):
    r = alice.get("/api/auth/session")
    assert r.status_code == 200, r.text
    s = r.json()
    assert "token" not in s
    assert_session(s, with_token=False)
    assert s["user"]["id"] == alice.id


def test_activity_is_204_and_extends_idle_expiry(alice):
    before = parse_time(alice.get("/api/auth/session").json()["idle_expires_at"])
    time.sleep(0.05)
    r = alice.post("/api/auth/activity")
    assert r.status_code == 204, r.text
    after = parse_time(alice.get("/api/auth/session").json()["idle_expires_at"])
    assert after > before


@pytest.mark.parametrize("path", ["/api/auth/session", "/api/users/me", "/api/conversations"])
def test_unsigned_requests_are_401(server, path):
    assert_problem(httpx.get(server.url + path), 401)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        jwt.encode({"sub": "x", "sid": "y", "iat": 1, "exp": 4102444800}, "wrong-secret" * 4),
        jwt.encode(
            {"sub": "x", "sid": "no-such-session", "iat": int(time.time()), "exp": 4102444800},
            JWT_SECRET,
        ),
        "Bearer",
    ],
)
def test_bad_tokens_are_401(server, token):
    r = httpx.get(server.url + "/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(r, 401)


def test_forged_sid_for_real_user_is_401(alice):
    claims = jwt.decode(alice.token, JWT_SECRET, algorithms=["HS256"])
    claims["sid"] = "forged-" + claims["sid"]
    forged = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    assert_problem(Client(alice.base_url, forged).get("/api/users/me"), 401)


def test_unsigned_alg_none_token_is_401(alice):
    claims = jwt.decode(alice.token, JWT_SECRET, algorithms=["HS256"])
    forged = jwt.encode(claims, None, algorithm="none")
    assert_problem(Client(alice.base_url, forged).get("/api/users/me"), 401)


# ---- cookie + CSRF -----------------------------------------------------------------------


def cookie_client(server) -> tuple[httpx.Client, dict]:
    http = httpx.Client(base_url=server.url, timeout=10)
    r = http.post("/api/auth/register", json={"username": unique("co"), "password": PASSWORD})
    assert r.status_code == 201
    assert http.cookies.get("hellow_session")
    return http, r.json()


def test_cookie_signs_requests(server):
    http, s = cookie_client(server)
    r = http.get("/api/users/me")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == s["user"]["id"]


def test_cookie_unsafe_request_needs_csrf_header(server, bob):
    http, _ = cookie_client(server)
    body = {"kind": "direct", "member_ids": [bob.id]}
    r = http.post("/api/conversations", json=body)
    assert_problem(r, 403)
    assert http.get("/api/conversations").json()["conversations"] == []
    r = http.post("/api/conversations", json=body, headers={"X-Hellow-CSRF": "1"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = http.post(
        f"/api/conversations/{cid}/messages",
        json={"client_id": "c1", "body": "hi"},
        headers={"X-Hellow-CSRF": "1"},
    )
    assert r.status_code == 201
    mid = r.json()["id"]
    assert_problem(http.patch(f"/api/conversations/{cid}/messages/{mid}", json={"body": "x"}), 403)
    assert_problem(http.delete(f"/api/conversations/{cid}/messages/{mid}"), 403)
    assert_problem(
        http.post(f"/api/conversations/{cid}/messages", json={"client_id": "c2", "body": "x"}), 403
    )
    msgs = http.get(f"/api/conversations/{cid}/messages").json()["messages"]
    assert [(m["body"], m["deleted"]) for m in msgs] == [("hi", False)]


def test_cookie_logout_and_activity_need_csrf_header(server):
    http, _ = cookie_client(server)
    assert_problem(http.post("/api/auth/activity"), 403)
    assert_problem(http.post("/api/auth/logout"), 403)
    assert http.get("/api/users/me").status_code == 200, (
        "logout without CSRF must not end the session"
    )
    assert http.post("/api/auth/activity", headers={"X-Hellow-CSRF": "1"}).status_code == 204
    assert http.post("/api/auth/logout", headers={"X-Hellow-CSRF": "1"}).status_code == 204
    assert http.get("/api/users/me").status_code == 401


def test_bearer_unsafe_request_needs_no_csrf_header(alice, bob):
    r = alice.post("/api/conversations", json={"kind": "direct", "member_ids": [bob.id]})
    assert r.status_code == 201, r.text
    assert alice.post("/api/auth/activity").status_code == 204


def test_cookie_signs_event_stream(server):
    http, s = cookie_client(server)
    with http.stream("GET", "/api/events") as r:
        assert r.status_code == 200
        ready = False
        for line in r.iter_lines():
            if line.startswith("event: ready"):
                ready = True
            elif ready and line.startswith("data:"):
                assert s["user"]["id"] in line
                break
    assert ready


def test_cookie_is_secure_when_the_request_came_over_https(server):
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (a TLS-terminating proxy in front).
    r = httpx.post(
        server.url + "/api/auth/register",
        json={"username": unique("tls"), "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert r.status_code == 201, r.text
    _, attrs = cookie_attrs(r)
    assert "secure" in attrs, attrs


def test_logout_ends_only_that_sessions_streams(server, streams):
    name = unique("ls")
    first = Client(
        server.url, register(server.url, username=name, password=PASSWORD).json()["token"]
    )
    second = Client(server.url, login(server.url, name).json()["token"])
    first.user = second.user = first.get("/api/users/me").json()
    kept = streams(first)
    ended = streams(second)
    assert second.post("/api/auth/logout").status_code == 204
    ended.wait_for("session.ended")
    assert ended.closed.wait(10)
    other = Client.register(server.url)
    c = other.direct(first)
    m = other.send(c["id"], "still here?")
    events = collect_until(kept, lambda ev: is_message(ev, m["id"]))
    assert "session.ended" not in [ev.event for ev in events]
    assert not kept.closed.is_set()
