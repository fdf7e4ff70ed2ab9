"""Receipts (forward-only, capped, read implies delivered, pushed), typing, presence."""

from __future__ import annotations

import pytest

from ._util import (
    assert_problem,
    assert_time,
    collect_until,
    is_message,
    mentions,
)


@pytest.fixture
def chat3(alice, bob):
    c = alice.direct(bob)
    for i in range(3):
        alice.send(c["id"], f"m{i}")
    return c


def receipt(who, cid, **body):
    r = who.post(f"/api/conversations/{cid}/receipts", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_receipt_shape_and_forward_only(bob, chat3):
    cid = chat3["id"]
    r = receipt(bob, cid, delivered_seq=2)
    assert r == {"conversation_id": cid, "user_id": bob.id, "delivered_seq": 2, "read_seq": 0}
    assert receipt(bob, cid, delivered_seq=1)["delivered_seq"] == 2
    r = receipt(bob, cid, read_seq=1)
    assert (r["delivered_seq"], r["read_seq"]) == (2, 1)
    r = receipt(bob, cid, read_seq=0, delivered_seq=0)
    assert (r["delivered_seq"], r["read_seq"]) == (2, 1)
    c = bob.get(f"/api/conversations/{cid}").json()
    assert (c["my_delivered_seq"], c["my_read_seq"]) == (2, 1)
    mine = next(x for x in c["receipts"] if x["user_id"] == bob.id)
    assert (mine["delivered_seq"], mine["read_seq"]) == (2, 1)


def test_read_implies_delivered(bob, chat3):
    r = receipt(bob, chat3["id"], read_seq=3)
    assert (r["delivered_seq"], r["read_seq"]) == (3, 3)


def test_receipts_capped_at_last_seq(bob, chat3):
    r = receipt(bob, chat3["id"], delivered_seq=50, read_seq=99)
    assert (r["delivered_seq"], r["read_seq"]) == (3, 3)
    r = receipt(bob, chat3["id"], delivered_seq=10**15)
    assert r["delivered_seq"] == 3


def test_receipt_pushed_to_every_member(alice, bob, carol, streams):
    g = alice.group("receipts", bob, carol)
    m = alice.send(g["id"], "read me")
    readers = {who.id: streams(who) for who in (alice, bob, carol)}
    receipt(bob, g["id"], read_seq=m["seq"])
    for reader in readers.values():
        ev = reader.wait_for("receipt.updated", user_id=bob.id)
        assert ev.id is not None
        assert ev.json() == {
            "conversation_id": g["id"],
            "user_id": bob.id,
            "delivered_seq": 1,
            "read_seq": 1,
        }
    seen = alice.get(f"/api/conversations/{g['id']}").json()["receipts"]
    assert {"user_id": bob.id, "delivered_seq": 1, "read_seq": 1}.items() <= next(
        x for x in seen if x["user_id"] == bob.id
    ).items()


@pytest.mark.parametrize(
    "body,field",
    [
        ({"read_seq": "two"}, "read_seq"),
        ({"delivered_seq": [1]}, "delivered_seq"),
        ({"read_seq": 1.5}, "read_seq"),
    ],
)
def test_receipt_bad_fields_are_422(bob, chat3, body, field):
    assert_problem(
        bob.post(f"/api/conversations/{chat3['id']}/receipts", json=body), 422, field=field
    )


def test_receipt_negative_is_not_an_error_or_is_422(bob, chat3):
    r = bob.post(f"/api/conversations/{chat3['id']}/receipts", json={"read_seq": -5})
    if r.status_code == 200:
        assert r.json()["read_seq"] == 0
    else:
        assert_problem(r, 422, field="read_seq")


def test_typing_reaches_others(alice, bob, carol, streams):
    c = alice.direct(bob)
    bob_reader = streams(bob)
    carol_reader = streams(carol)
    r = alice.post(f"/api/conversations/{c['id']}/typing", json={"typing": True})
    assert r.status_code == 204, r.text
    ev = bob_reader.wait_for("typing", conversation_id=c["id"])
    assert ev.id is None, "typing is ephemeral: no id"
    assert ev.json() == {"conversation_id": c["id"], "user_id": alice.id, "typing": True}
    assert (
        alice.post(f"/api/conversations/{c['id']}/typing", json={"typing": False}).status_code
        == 204
    )
    ev = bob_reader.wait_for("typing", conversation_id=c["id"])
    assert ev.json()["typing"] is False
    # Carol is in no conversation with them: nothing.
    marker_conv = carol.direct(alice)
    marker = alice.send(marker_conv["id"], "marker")
    events = collect_until(carol_reader, lambda e: is_message(e, marker["id"]))
    assert not [e for e in events if mentions(e, c["id"])]


def test_typing_is_never_replayed(alice, bob, streams):
    c = alice.direct(bob)
    first = streams(bob)
    start = first.ready.json()["last_event_id"]
    alice.post(f"/api/conversations/{c['id']}/typing", json={"typing": True})
    first.wait_for("typing", conversation_id=c["id"])
    m = alice.send(c["id"], "after typing")
    first.wait_for("message.created", id=m["id"])
    resumed = streams(bob, last_event_id=start)
    kinds = [ev.event for ev in resumed.replayed]
    assert "message.created" in kinds and "typing" not in kinds and "presence" not in kinds
    assert all(ev.id is not None for ev in resumed.replayed if ev.event != "reset")


@pytest.mark.parametrize("body", [{}, {"typing": "yes"}, {"typing": None}])
def test_typing_bad_body_is_422(alice, bob, body):
    c = alice.direct(bob)
    assert_problem(
        alice.post(f"/api/conversations/{c['id']}/typing", json=body), 422, field="typing"
    )


def test_presence_to_users_who_share_a_conversation(alice, bob, carol, streams):
    alice.direct(bob)
    bob_reader = streams(bob)
    carol_reader = streams(carol)
    alice_reader = streams(alice)
    ev = bob_reader.wait_for("presence", user_id=alice.id)
    assert ev.id is None
    data = ev.json()
    assert data["online"] is True
    assert set(data) >= {"user_id", "online", "last_seen_at"}
    assert_time(data["last_seen_at"], nullable=True)
    alice_reader.close()
    ev = bob_reader.wait_for("presence", user_id=alice.id, online=False)
    assert_time(ev.json()["last_seen_at"])
    # Carol shares nothing with alice: no presence of hers.
    mc = carol.direct(bob)
    marker = bob.send(mc["id"], "marker")
    events = collect_until(carol_reader, lambda e: is_message(e, marker["id"]))
    assert not [e for e in events if e.event == "presence" and e.json()["user_id"] == alice.id]


def test_typing_ends_by_itself_without_false(alice, bob, streams):
    c = alice.direct(bob)
    reader = streams(bob)
    assert (
        alice.post(f"/api/conversations/{c['id']}/typing", json={"typing": True}).status_code == 204
    )
    reader.wait_for("typing", conversation_id=c["id"], typing=True)
    # Nobody sends false: others stop seeing it (6 s after the last true).
    ev = reader.wait_for("typing", timeout=20, conversation_id=c["id"], user_id=alice.id)
    assert ev.json()["typing"] is False


def test_online_until_the_last_stream_closes(alice, bob, streams):
    c = alice.direct(bob)
    watcher = streams(bob)
    one, two = streams(alice), streams(alice)

    def alice_in_conversation() -> dict:
        got = bob.get(f"/api/conversations/{c['id']}").json()
        return next(u for u in got["members"] if u["id"] == alice.id)

    assert alice_in_conversation()["online"] is True
    one.close()
    marker = alice.send(c["id"], "still here")
    events = collect_until(watcher, lambda e: is_message(e, marker["id"]))
    assert not [e for e in events if e.event == "presence" and e.json()["online"] is False]
    assert alice_in_conversation()["online"] is True
    two.close()
    ev = watcher.wait_for("presence", user_id=alice.id, online=False)
    assert_time(ev.json()["last_seen_at"])
    assert alice_in_conversation()["online"] is False
