"""Errors: problem+json, 400/404/413/415/422, and never a 500 for any garbage input."""

from __future__ import annotations

import json

import httpx
import pytest

from ._util import PASSWORD, Client, assert_problem, unique

BIG = 64 * 1024


@pytest.fixture(scope="module")
def pair(server):
    a, b = Client.register(server.url), Client.register(server.url)
    c = a.direct(b)
    m = a.send(c["id"], "target")
    return a, b, c, m


def raw_post(
    client: Client, path: str, content: bytes, ctype: str | None = "application/json"
) -> httpx.Response:
    headers = {"Content-Type": ctype} if ctype else {}
    return client.post(path, content=content, headers=headers)


@pytest.mark.parametrize(
    "content", [b"{bad", b"{'single': 1}", b'{"a": 1,}', b"\xff\xfe", b'{"body": "x"']
)
def test_malformed_json_is_400(pair, content):
    a, _, c, _ = pair
    r = raw_post(a, f"/api/conversations/{c['id']}/messages", content)
    assert_problem(r, 400)


def test_malformed_json_unsigned_register_is_400(server):
    r = httpx.post(
        server.url + "/api/auth/register",
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert_problem(r, 400)


@pytest.mark.parametrize("valid_json", [True, False])
def test_body_over_64k_is_413(pair, valid_json):
    a, _, c, _ = pair
    if valid_json:
        content = json.dumps({"client_id": "big", "body": "x" * (BIG + 10)}).encode()
    else:
        content = b"{" + b"x" * (BIG + 10)  # refused before it is parsed: 413, not 400
    r = raw_post(a, f"/api/conversations/{c['id']}/messages", content)
    assert_problem(r, 413)


def test_body_over_64k_chunked_without_length_is_413(pair):
    a, _, c, _ = pair

    def gen():
        for _ in range(20):
            yield b" " * 8192

    r = a.post(
        f"/api/conversations/{c['id']}/messages",
        content=gen(),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(r, 413)


def test_body_just_under_64k_is_not_413(pair):
    a, _, c, _ = pair
    content = json.dumps({"client_id": "pad", "body": "ok"}).encode()
    content = content[:-1] + b" " * (BIG - len(content) - 1) + b"}"
    assert len(content) <= BIG
    r = raw_post(a, f"/api/conversations/{c['id']}/messages", content)
    assert r.status_code in (200, 201), r.text


def test_register_over_64k_is_413(server):
    content = json.dumps({"username": unique(), "password": "p" * (BIG + 1)}).encode()
    r = httpx.post(
        server.url + "/api/auth/register",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert_problem(r, 413)


@pytest.mark.parametrize(
    "ctype", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_wrong_content_type_is_415(pair, ctype):
    a, _, c, _ = pair
    r = raw_post(
        a, f"/api/conversations/{c['id']}/messages", b'{"client_id": "ct", "body": "hi"}', ctype
    )
    assert_problem(r, 415)


def test_wrong_content_type_register_is_415(server):
    r = httpx.post(
        server.url + "/api/auth/register",
        content=json.dumps({"username": unique(), "password": PASSWORD}).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert_problem(r, 415)


def test_json_with_charset_is_fine(pair):
    a, _, c, _ = pair
    r = raw_post(
        a,
        f"/api/conversations/{c['id']}/messages",
        b'{"client_id": "cs", "body": "hi"}',
        "application/json; charset=utf-8",
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/conversations/nope",
        "/api/conversations/nope/messages",
        "/api/no-such-route",
    ],
)
def test_unknown_is_404_problem(pair, path):
    a = pair[0]
    assert_problem(a.get(path), 404)


def test_unknown_message_is_404(pair):
    a, _, c, _ = pair
    assert_problem(a.patch(f"/api/conversations/{c['id']}/messages/nope", json={"body": "x"}), 404)
    assert_problem(a.delete(f"/api/conversations/{c['id']}/messages/nope"), 404)


def test_wrong_method_is_problem(pair):
    a = pair[0]
    r = a.request("PUT", "/api/conversations")
    assert_problem(r)
    assert r.status_code in (404, 405)


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"username": 123, "password": PASSWORD}, "username"),
        ({"username": None, "password": PASSWORD}, "username"),
        ({"username": ["a", "b", "c"], "password": PASSWORD}, "username"),
        ({"username": "validname", "password": 12345678}, "password"),
        (
            {"username": "validname2", "password": PASSWORD, "display_name": {"x": 1}},
            "display_name",
        ),
    ],
)
def test_register_wrong_types_are_422(server, payload, field):
    r = httpx.post(server.url + "/api/auth/register", json=payload)
    assert_problem(r, 422, field=field)


@pytest.mark.parametrize("payload", [[], "string", 42, None, True, [{"username": "x"}]])
def test_non_object_bodies_are_4xx(server, pair, payload):
    a, _, c, m = pair
    targets = [
        ("POST", "/api/auth/register", None),
        ("POST", "/api/auth/login", None),
        ("POST", "/api/conversations", a),
        ("POST", f"/api/conversations/{c['id']}/messages", a),
        ("PATCH", f"/api/conversations/{c['id']}/messages/{m['id']}", a),
        ("POST", f"/api/conversations/{c['id']}/receipts", a),
        ("POST", f"/api/conversations/{c['id']}/typing", a),
        ("POST", f"/api/conversations/{c['id']}/members", a),
    ]
    for method, path, who in targets:
        client = who or Client(server.url)
        r = client.request(
            method,
            path,
            content=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert_problem(r)
        assert r.status_code in (400, 422), (method, path, r.status_code, r.text[:200])


GARBAGE = [
    None,
    True,
    -1,
    0,
    10**30,
    -(10**30),
    1.5e308,
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud83d",  # a lone surrogate
    "😀" * 10,
    "Ω" * 5000,
    "x" * 20000,
    [],
    [1, 2],
    {},
    {"$ne": None},
    "<script>alert(1)</script>",
    "'; DROP TABLE users; --",
]


def _requests(a: Client, c: dict, m: dict):
    cid, mid = c["id"], m["id"]
    for g in GARBAGE:
        yield "POST", "/api/auth/register", {"username": g, "password": g, "display_name": g}, False
        yield "POST", "/api/conversations", {"kind": g, "member_ids": g, "title": g}, True
        yield "POST", "/api/conversations", {"kind": "group", "member_ids": [g], "title": g}, True
        yield "POST", "/api/conversations", {"kind": "direct", "member_ids": [g]}, True
        yield (
            "POST",
            f"/api/conversations/{cid}/messages",
            {"client_id": g, "body": g, "reply_to": g},
            True,
        )
        yield (
            "POST",
            f"/api/conversations/{cid}/messages",
            {"client_id": "fz", "body": "x", "reply_to": g},
            True,
        )
        yield "PATCH", f"/api/conversations/{cid}/messages/{mid}", {"body": g}, True
        yield (
            "POST",
            f"/api/conversations/{cid}/receipts",
            {"delivered_seq": g, "read_seq": g},
            True,
        )
        yield "POST", f"/api/conversations/{cid}/typing", {"typing": g}, True
        yield "POST", f"/api/conversations/{cid}/members", {"user_ids": g}, True
        yield "POST", f"/api/conversations/{cid}/members", {"user_ids": [g]}, True


def test_fuzz_bodies_never_500(server, pair):
    a, _, c, m = pair
    anon = Client(server.url)
    bad = []
    for method, path, body, signed in _requests(a, c, m):
        who = a if signed else anon
        content = json.dumps(body, allow_nan=True).encode("utf-8", errors="surrogatepass")
        r = who.request(method, path, content=content, headers={"Content-Type": "application/json"})
        if r.status_code >= 500 or "Traceback" in r.text:
            bad.append(
                (method, path, body if len(str(body)) < 200 else str(body)[:200], r.status_code)
            )
        elif r.status_code >= 400:
            ctype = r.headers.get("content-type", "")
            if not ctype.startswith("application/problem+json"):
                bad.append((method, path, str(body)[:100], r.status_code, ctype))
    assert not bad, bad


@pytest.mark.parametrize("garbage", [None, 10**30, ["a"]])
def test_login_garbage_is_4xx(server, garbage):
    r = httpx.post(server.url + "/api/auth/login", json={"username": garbage, "password": garbage})
    assert_problem(r)
    assert r.status_code in (400, 401, 422)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"client_id": "n", "body": NaN}',
        b'{"client_id": "n", "body": Infinity}',
        b'{"client_id": "n", "body": "x", "body": 5}',
        b"[" * 5000 + b"]" * 5000,
        b'{"client_id": "' + b"\\ud800" + b'", "body": "x"}',
        b'{"client_id": "n", "body": "\\u0000"}',
        b"",
        b"null",
        b'"\\u0000"',
        b"1" * 5000,
    ],
)
def test_fuzz_raw_json_never_500(pair, raw):
    a, _, c, _ = pair
    r = raw_post(a, f"/api/conversations/{c['id']}/messages", raw)
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert_problem(r)


@pytest.mark.parametrize(
    "path",
    [
        "/api/users?q=" + "a" * 10000,
        "/api/users?q=%00",
        "/api/users?q=%ff%fe",
        "/api/users?limit=-1",
        "/api/users?limit=99999999999999999999999",
        "/api/users?limit=abc",
        "/api/conversations/%00",
        "/api/conversations/" + "x" * 5000,
        "/api/conversations/..%2f..%2fetc%2fpasswd",
        "/api/conversations/%F0%9F%98%80/messages",
        "/api/conversations/{cid}/messages?before=99999999999999999999999",
        "/api/conversations/{cid}/messages?after=-99999999999999999999999",
        "/api/conversations/{cid}/messages?limit=1e3",
        "/api/conversations/{cid}/messages?before=1&after=1",
        "/api/conversations/{cid}/messages?before=0",
    ],
)
def test_fuzz_query_and_path_never_500(pair, path):
    a, _, c, _ = pair
    r = a.get(path.replace("{cid}", c["id"]))
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert_problem(r)


@pytest.mark.parametrize("value", ["99999999999999999999999", "-1", "%00", "1.5"])
def test_fuzz_last_event_id_query_never_500(pair, value):
    a = pair[0]
    with (
        httpx.Client(base_url=a.base_url, timeout=10) as http,
        http.stream(
            "GET",
            f"/api/events?last_event_id={value}",
            headers={"Authorization": f"Bearer {a.token}"},
        ) as r,
    ):
        assert r.status_code < 500
        if r.status_code != 200:
            r.read()
            assert_problem(r)


def test_validation_errors_name_each_bad_field(server):
    r = httpx.post(server.url + "/api/auth/register", json={"username": "x", "password": "short"})
    body = assert_problem(r, 422)
    fields = {e["field"] for e in body["errors"]}
    assert "username" in fields or "password" in fields


def test_a_get_with_a_body_over_64k_is_413_too(pair):
    a, _, c, _ = pair
    r = a.http.request(
        "GET",
        f"/api/conversations/{c['id']}/messages",
        headers={**a.headers(), "Content-Type": "application/json"},
        content=b"x" * (64 * 1024 + 1),
    )
    assert_problem(r, 413)
