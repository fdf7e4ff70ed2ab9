"""Conversations: direct (idempotent), group, list order, visibility, members, leave."""

from __future__ import annotations

import pytest

from ._util import (
    PER_USER_FIELDS,
    assert_conversation,
    assert_problem,
    collect_until,
    is_message,
    member_ids,
    mentions,
    send_retry,
)


def test_direct_created_then_existing(alice, bob):
    r = alice.post("/api/conversations", json={"kind": "direct", "member_ids": [bob.id]})
    assert r.status_code == 201, r.text
    c = r.json()
    assert_conversation(c)
    assert c["kind"] == "direct"
    assert member_ids(c) == {alice.id, bob.id}
    assert c["last_seq"] == 0 and c["last_message"] is None
    assert c["unread_count"] == 0 and c["my_read_seq"] == 0 and c["my_delivered_seq"] == 0
    again = alice.post("/api/conversations", json={"kind": "direct", "member_ids": [bob.id]})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == c["id"]
    other_side = bob.post("/api/conversations", json={"kind": "direct", "member_ids": [alice.id]})
    assert other_side.status_code == 200, other_side.text
    assert other_side.json()["id"] == c["id"]
    ids = [x["id"] for x in alice.get("/api/conversations").json()["conversations"]]
    assert ids.count(c["id"]) == 1


def test_direct_repeat_makes_no_second_event(alice, bob, streams):
    reader = streams(bob)
    c = alice.direct(bob)
    assert (
        alice.post(
            "/api/conversations", json={"kind": "direct", "member_ids": [bob.id]}
        ).status_code
        == 200
    )
    m = alice.send(c["id"], "marker")
    events = collect_until(reader, lambda ev: is_message(ev, m["id"]))
    created = [ev for ev in events if ev.event == "conversation.created"]
    assert len(created) == 1, events
    assert created[0].id is not None
    data = created[0].json()
    assert data["id"] == c["id"]
    assert_conversation(data, per_user=False)
    assert not PER_USER_FIELDS & set(data), f"per-user fields in an event: {data}"


def test_direct_with_unknown_user(alice):
    r = alice.post("/api/conversations", json={"kind": "direct", "member_ids": ["no-such-user"]})
    assert_problem(r)
    assert r.status_code in (404, 422)


def test_direct_needs_exactly_one_other(alice, bob, carol):
    r = alice.post("/api/conversations", json={"kind": "direct", "member_ids": [bob.id, carol.id]})
    assert_problem(r, 422, field="member_ids")
    r = alice.post("/api/conversations", json={"kind": "direct", "member_ids": []})
    assert_problem(r, 422, field="member_ids")


def test_bad_kind_is_422(alice, bob):
    r = alice.post("/api/conversations", json={"kind": "channel", "member_ids": [bob.id]})
    assert_problem(r, 422, field="kind")


def test_group_created_with_caller(alice, bob, carol, streams):
    reader = streams(carol)
    r = alice.post(
        "/api/conversations",
        json={"kind": "group", "title": "Trip", "member_ids": [bob.id, carol.id]},
    )
    assert r.status_code == 201, r.text
    g = r.json()
    assert_conversation(g)
    assert g["kind"] == "group" and g["title"] == "Trip"
    assert member_ids(g) == {alice.id, bob.id, carol.id}
    ev = reader.wait_for("conversation.created", id=g["id"])
    assert ev.id is not None
    assert not PER_USER_FIELDS & set(ev.json())
    for who in (bob, carol):
        got = who.get(f"/api/conversations/{g['id']}")
        assert got.status_code == 200 and got.json()["title"] == "Trip"


def test_list_most_recent_activity_first(alice, bob, carol):
    c1 = alice.direct(bob)
    c2 = alice.direct(carol)
    alice.send(c1["id"], "one")

    def order() -> list[str]:
        r = alice.get("/api/conversations")
        assert r.status_code == 200, r.text
        convs = r.json()["conversations"]
        for c in convs:
            assert_conversation(c)
        return [c["id"] for c in convs]

    assert order() == [c1["id"], c2["id"]]
    bob_view = next(
        c for c in bob.get("/api/conversations").json()["conversations"] if c["id"] == c1["id"]
    )
    assert bob_view["last_seq"] == 1 and bob_view["last_message"]["body"] == "one"
    carol.send(c2["id"], "two")
    assert order() == [c2["id"], c1["id"]]
    alice.send(c1["id"], "three")
    assert order() == [c1["id"], c2["id"]]


def test_list_only_my_conversations(alice, bob, carol):
    mine = alice.direct(bob)
    theirs = bob.direct(carol)
    ids = {c["id"] for c in alice.get("/api/conversations").json()["conversations"]}
    assert mine["id"] in ids and theirs["id"] not in ids


def test_get_one(alice, bob):
    c = alice.direct(bob)
    r = bob.get(f"/api/conversations/{c['id']}")
    assert r.status_code == 200, r.text
    assert_conversation(r.json())
    assert r.json()["id"] == c["id"]


def test_non_member_gets_404_everywhere(alice, bob, carol):
    g = alice.group("secret", bob)
    m = alice.send(g["id"], "hidden")
    base = f"/api/conversations/{g['id']}"
    calls = [
        carol.get(base),
        carol.get(base + "/messages"),
        carol.post(base + "/messages", json={"client_id": "x", "body": "let me in"}),
        carol.patch(f"{base}/messages/{m['id']}", json={"body": "mine now"}),
        carol.delete(f"{base}/messages/{m['id']}"),
        carol.post(base + "/receipts", json={"read_seq": 1}),
        carol.post(base + "/typing", json={"typing": True}),
        carol.post(base + "/members", json={"user_ids": [carol.id]}),
        carol.delete(f"{base}/members/{carol.id}"),
    ]
    for r in calls:
        assert_problem(r, 404)
    # Not revealed: exactly like a conversation that does not exist.
    unknown = carol.get("/api/conversations/does-not-exist")
    hidden = assert_problem(calls[0], 404)
    nothing = assert_problem(unknown, 404)
    assert (hidden["type"], hidden["title"]) == (nothing["type"], nothing["title"])
    assert "hidden" not in calls[0].text and "secret" not in calls[0].text
    msgs = alice.get(base + "/messages").json()["messages"]
    assert [x["body"] for x in msgs] == ["hidden"]


def test_add_members_to_group(alice, bob, carol, streams):
    g = alice.group("adds", bob)
    bob_reader = streams(bob)
    carol_reader = streams(carol)
    r = bob.post(f"/api/conversations/{g['id']}/members", json={"user_ids": [carol.id]})
    assert r.status_code == 200, r.text
    assert_conversation(r.json())
    assert member_ids(r.json()) == {alice.id, bob.id, carol.id}
    assert carol.get(f"/api/conversations/{g['id']}").status_code == 200
    ev = bob_reader.wait_for("conversation.updated", id=g["id"])
    assert carol.id in member_ids(ev.json())
    assert ev.id is not None
    ev = collect_until(
        carol_reader,
        lambda e: (
            e.event in ("conversation.created", "conversation.updated")
            and e.json()["id"] == g["id"]
        ),
    )[-1]
    assert ev.id is not None
    m = alice.send(g["id"], "welcome carol")
    carol_reader.wait_for("message.created", id=m["id"])


def test_add_members_to_direct_is_409(alice, bob, carol):
    c = alice.direct(bob)
    r = alice.post(f"/api/conversations/{c['id']}/members", json={"user_ids": [carol.id]})
    assert_problem(r, 409)
    assert member_ids(alice.get(f"/api/conversations/{c['id']}").json()) == {alice.id, bob.id}


def test_group_with_unknown_member(alice, bob):
    r = alice.post(
        "/api/conversations",
        json={"kind": "group", "title": "ghosts", "member_ids": [bob.id, "no-such-user"]},
    )
    assert_problem(r)
    assert r.status_code in (404, 422)
    assert alice.get("/api/conversations").json()["conversations"] == []


def test_add_unknown_member(alice, bob):
    g = alice.group("unknown add", bob)
    r = alice.post(f"/api/conversations/{g['id']}/members", json={"user_ids": ["no-such-user"]})
    assert_problem(r)
    assert r.status_code in (404, 422)


def test_leave_group(alice, bob, carol, streams):
    g = alice.group("leavers", bob, carol)
    other = alice.direct(bob)  # a marker channel bob stays in
    before = alice.send(g["id"], "before leaving")
    reader = streams(bob)
    alice_reader = streams(alice)
    r = bob.delete(f"/api/conversations/{g['id']}/members/{bob.id}")
    assert r.status_code == 204, r.text
    ev = alice_reader.wait_for("conversation.updated", id=g["id"])
    assert member_ids(ev.json()) == {alice.id, carol.id}
    assert_problem(bob.get(f"/api/conversations/{g['id']}"), 404)
    assert_problem(bob.get(f"/api/conversations/{g['id']}/messages"), 404)
    assert g["id"] not in {c["id"] for c in bob.get("/api/conversations").json()["conversations"]}
    assert member_ids(alice.get(f"/api/conversations/{g['id']}").json()) == {alice.id, carol.id}

    after = alice.send(g["id"], "after leaving")
    alice.post(f"/api/conversations/{g['id']}/typing", json={"typing": True})
    carol.post(f"/api/conversations/{g['id']}/receipts", json={"read_seq": after["seq"]})
    alice.patch(
        f"/api/conversations/{g['id']}/messages/{before['id']}", json={"body": "edited later"}
    )
    marker = alice.send(other["id"], "marker")
    events = collect_until(reader, lambda ev: is_message(ev, marker["id"]))
    leaked = [
        ev for ev in events if mentions(ev, g["id"]) and ev.event not in ("conversation.updated",)
    ]
    assert not leaked, f"after leaving, bob still got {leaked}"
    assert not any("after leaving" in ev.data or "edited later" in ev.data for ev in events)

    # A resume from before the leave replays nothing that happened after it.
    resumed = streams(bob, last_event_id=reader.ready.json()["last_event_id"])
    replayed = resumed.replayed
    assert any(is_message(ev, marker["id"]) for ev in replayed), replayed
    assert not any("after leaving" in ev.data or "edited later" in ev.data for ev in replayed)
    assert not any(ev.event == "message.created" and mentions(ev, g["id"]) for ev in replayed)


def test_leave_only_yourself(alice, bob, carol):
    g = alice.group("no kicking", bob, carol)
    r = alice.delete(f"/api/conversations/{g['id']}/members/{bob.id}")
    assert_problem(r, 403)
    assert bob.id in member_ids(alice.get(f"/api/conversations/{g['id']}").json())


def test_leave_direct_is_refused(alice, bob):
    c = alice.direct(bob)
    r = alice.delete(f"/api/conversations/{c['id']}/members/{alice.id}")
    assert_problem(r)
    assert alice.get(f"/api/conversations/{c['id']}").status_code == 200


def test_leave_then_cannot_act(alice, bob):
    g = alice.group("gone", bob)
    assert bob.delete(f"/api/conversations/{g['id']}/members/{bob.id}").status_code == 204
    assert_problem(
        bob.post(f"/api/conversations/{g['id']}/messages", json={"client_id": "a", "body": "x"}),
        404,
    )
    assert_problem(bob.post(f"/api/conversations/{g['id']}/typing", json={"typing": True}), 404)


@pytest.mark.parametrize("kind", ["direct", "group"])
def test_unread_counts_in_list(alice, bob, kind):
    c = alice.direct(bob) if kind == "direct" else alice.group("unread", bob)
    for i in range(3):
        send_retry(alice, c["id"], f"m{i}")
    send_retry(bob, c["id"], "mine")

    def unread(who) -> int:
        convs = who.get("/api/conversations").json()["conversations"]
        return next(x for x in convs if x["id"] == c["id"])["unread_count"]

    assert unread(bob) == 3
    assert unread(alice) == 1


def test_concurrent_direct_creation_makes_one(server, users):
    import threading

    a, b = users(2)
    barrier = threading.Barrier(6)
    results: list = []

    def create(me, other) -> None:
        barrier.wait(5)
        results.append(
            me.post("/api/conversations", json={"kind": "direct", "member_ids": [other.id]})
        )

    threads = [
        threading.Thread(target=create, args=((a, b) if i % 2 else (b, a))) for i in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    codes = sorted(r.status_code for r in results)
    assert codes == [200] * 5 + [201], codes
    assert len({r.json()["id"] for r in results}) == 1
