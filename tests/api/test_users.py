"""Users: me, search by prefix, online while a stream is open."""

from __future__ import annotations

from ._util import Client, assert_problem, assert_user, poll, unique


def test_me(alice):
    r = alice.get("/api/users/me")
    assert r.status_code == 200, r.text
    me = r.json()
    assert_user(me)
    assert me["id"] == alice.id
    assert me["username"] == alice.user["username"]
    assert me["display_name"] == "Alice"
    assert me["online"] is False


def test_search_by_username_prefix(server, alice):
    tag = unique("s")
    a = Client.register(server.url, username=tag + "one")
    b = Client.register(server.url, username=tag + "two")
    Client.register(server.url, username="z" + tag)  # contains it, does not start with it
    r = alice.get("/api/users", params={"q": tag})
    assert r.status_code == 200, r.text
    found = r.json()["users"]
    for u in found:
        assert_user(u)
    assert {u["id"] for u in found} == {a.id, b.id}
    one = alice.get("/api/users", params={"q": tag + "o"}).json()["users"]
    assert [u["id"] for u in one] == [a.id]


def test_search_by_display_name_prefix(server, alice):
    tag = unique("d")
    c = Client.register(server.url, display_name=f"{tag} Person")
    r = alice.get("/api/users", params={"q": tag})
    assert r.status_code == 200, r.text
    assert [u["id"] for u in r.json()["users"]] == [c.id]
    assert alice.get("/api/users", params={"q": "Person " + tag}).json()["users"] == []


def test_search_limit(server, alice):
    tag = unique("l")
    for i in range(3):
        Client.register(server.url, username=f"{tag}{i}")
    assert len(alice.get("/api/users", params={"q": tag, "limit": 2}).json()["users"]) == 2
    assert len(alice.get("/api/users", params={"q": tag, "limit": 1}).json()["users"]) == 1
    assert len(alice.get("/api/users", params={"q": tag}).json()["users"]) == 3


def test_search_needs_sign_in(server):
    import httpx

    assert_problem(httpx.get(server.url + "/api/users", params={"q": "a"}), 401)


def test_online_while_stream_open_then_last_seen(alice, bob, streams):
    def seen() -> dict:
        r = bob.get("/api/users", params={"q": alice.user["username"]})
        return next(u for u in r.json()["users"] if u["id"] == alice.id)

    assert seen()["online"] is False
    reader = streams(alice)
    assert seen()["online"] is True
    assert alice.get("/api/users/me").json()["online"] is True
    reader.close()
    after = poll(lambda: (u := seen())["online"] is False and u, what="offline after close")
    assert after["last_seen_at"] is not None
