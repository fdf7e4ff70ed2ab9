"""Messages: seq, idempotent client_id, body rules, replies, history paging, edit, delete."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest

from ._util import (
    Client,
    assert_message,
    assert_problem,
    collect_until,
    is_message,
    post_message,
    send_retry,
)


@pytest.fixture
def chat(alice, bob):
    return alice.direct(bob)


def history(c: Client, cid: str, **params) -> dict:
    r = c.get(f"/api/conversations/{cid}/messages", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"messages", "has_more"} and isinstance(body["has_more"], bool)
    for m in body["messages"]:
        assert_message(m)
    return body


def test_send_returns_message_with_gapless_seq(alice, bob, chat):
    sent = []
    for i, who in enumerate([alice, bob, alice]):
        r = post_message(who, chat["id"], f"hello {i}", client_id=f"cid-{i}")
        assert r.status_code == 201, r.text
        sent.append(r.json())
    for i, m in enumerate(sent):
        assert_message(m)
        assert m["seq"] == i + 1
        assert m["conversation_id"] == chat["id"]
        assert m["client_id"] == f"cid-{i}"
        assert m["body"] == f"hello {i}"
        assert m["reply_to"] is None and m["edited_at"] is None and m["deleted"] is False
    assert [m["sender_id"] for m in sent] == [alice.id, bob.id, alice.id]
    c = alice.get(f"/api/conversations/{chat['id']}").json()
    assert c["last_seq"] == 3
    assert c["last_message"]["id"] == sent[-1]["id"]


def test_concurrent_sends_are_gapless(busy_server):
    a, b, c = (Client.register(busy_server.url) for _ in range(3))
    g = a.group("race", b, c)
    seqs: list[int] = []
    lock = threading.Lock()

    def burst(who: Client) -> None:
        for i in range(20):
            m = send_retry(who, g["id"], f"{who.id} {i}")
            with lock:
                seqs.append(m["seq"])

    threads = [threading.Thread(target=burst, args=(w,)) for w in (a, b, c)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(seqs) == list(range(1, 61))
    got = history(a, g["id"], limit=200)["messages"]
    assert [m["seq"] for m in got] == list(range(1, 61))


def test_client_id_resend_makes_nothing(alice, bob, chat, streams):
    reader = streams(bob)
    key = uuid.uuid4().hex
    first = post_message(alice, chat["id"], "only once", client_id=key)
    assert first.status_code == 201, first.text
    second = post_message(alice, chat["id"], "only once", client_id=key)
    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    marker = alice.send(chat["id"], "marker")
    events = collect_until(reader, lambda ev: is_message(ev, marker["id"]))
    created = [ev for ev in events if ev.event == "message.created"]
    assert [ev.json()["id"] for ev in created] == [first.json()["id"], marker["id"]]
    msgs = history(alice, chat["id"])["messages"]
    assert [m["body"] for m in msgs] == ["only once", "marker"]
    assert marker["seq"] == 2


def test_client_id_resend_with_other_body_returns_original(alice, chat):
    key = uuid.uuid4().hex
    first = post_message(alice, chat["id"], "original", client_id=key)
    assert first.status_code == 201
    second = post_message(alice, chat["id"], "changed", client_id=key)
    assert second.status_code == 200, second.text
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["body"] == "original"
    assert len(history(alice, chat["id"])["messages"]) == 1


def test_client_id_belongs_to_the_sender(alice, bob, chat):
    a = post_message(alice, chat["id"], "from alice", client_id="shared-key")
    b = post_message(bob, chat["id"], "from bob", client_id="shared-key")
    assert a.status_code == 201 and b.status_code == 201, (a.text, b.text)
    assert a.json()["id"] != b.json()["id"]
    assert b.json()["seq"] == 2


@pytest.mark.parametrize("client_id,ok", [("", False), ("k" * 64, True), ("k" * 65, False)])
def test_client_id_length(alice, chat, client_id, ok):
    r = post_message(alice, chat["id"], "x", client_id=client_id)
    if ok:
        assert r.status_code == 201, r.text
    else:
        assert_problem(r, 422, field="client_id")


def test_missing_client_id_is_422(alice, chat):
    r = alice.post(f"/api/conversations/{chat['id']}/messages", json={"body": "x"})
    assert_problem(r, 422, field="client_id")


def test_body_is_trimmed(alice, chat):
    r = post_message(alice, chat["id"], "  \n hello there \t\n")
    assert r.status_code == 201, r.text
    assert r.json()["body"] == "hello there"


@pytest.mark.parametrize(
    "body,ok",
    [
        ("", False),
        ("   \n\t ", False),
        ("é" * 4000, True),
        ("  " + "b" * 4000 + "  ", True),
        ("c" * 4001, False),
        (None, False),
        (42, False),
        (["a"], False),
    ],
)
def test_body_rules(alice, chat, body, ok):
    r = alice.post(
        f"/api/conversations/{chat['id']}/messages",
        json={"client_id": uuid.uuid4().hex, "body": body},
    )
    if ok:
        assert r.status_code == 201, r.text
        assert len(r.json()["body"]) == 4000
    else:
        assert_problem(r, 422, field="body")


def test_reply_to_has_live_excerpt(alice, bob, chat):
    long = "q" * 100 + "r" * 100
    quoted = alice.send(chat["id"], long)
    reply = post_message(bob, chat["id"], "answer", reply_to=quoted["id"])
    assert reply.status_code == 201, reply.text
    rt = reply.json()["reply_to"]
    assert rt == {
        "id": quoted["id"],
        "seq": quoted["seq"],
        "sender_id": alice.id,
        "excerpt": long[:140],
    }

    def reply_now() -> dict:
        msgs = history(bob, chat["id"])["messages"]
        return next(m for m in msgs if m["id"] == reply.json()["id"])["reply_to"]

    r = alice.patch(
        f"/api/conversations/{chat['id']}/messages/{quoted['id']}", json={"body": "short now"}
    )
    assert r.status_code == 200
    assert reply_now()["excerpt"] == "short now"
    assert (
        alice.delete(f"/api/conversations/{chat['id']}/messages/{quoted['id']}").status_code == 204
    )
    now = reply_now()
    assert now["excerpt"] == "" and now["id"] == quoted["id"] and now["seq"] == quoted["seq"]


def test_reply_to_other_conversation_is_refused(alice, bob, carol, chat):
    elsewhere = alice.direct(carol)
    foreign = alice.send(elsewhere["id"], "not here")
    r = post_message(alice, chat["id"], "reply", reply_to=foreign["id"])
    assert_problem(r)
    assert r.status_code in (404, 422)
    r = post_message(alice, chat["id"], "reply", reply_to="no-such-message")
    assert_problem(r)
    assert r.status_code in (404, 422)
    assert history(alice, chat["id"])["messages"] == []


def test_history_paging(alice, bob, chat):
    for i in range(1, 8):
        send_retry(alice if i % 2 else bob, chat["id"], f"n{i}")

    def seqs(**params) -> tuple[list[int], bool]:
        page = history(bob, chat["id"], **params)
        return [m["seq"] for m in page["messages"]], page["has_more"]

    assert seqs() == ([1, 2, 3, 4, 5, 6, 7], False)
    assert seqs(limit=3) == ([5, 6, 7], True)
    assert seqs(before=5, limit=3) == ([2, 3, 4], True)
    assert seqs(before=2, limit=3) == ([1], False)
    assert seqs(before=4) == ([1, 2, 3], False)
    assert seqs(after=4, limit=2) == ([5, 6], True)
    assert seqs(after=5) == ([6, 7], False)
    assert seqs(after=7) == ([], False)
    assert seqs(after=0, limit=7) == ([1, 2, 3, 4, 5, 6, 7], False)


def test_history_limit_at_most_200(busy_server):
    a, b = Client.register(busy_server.url), Client.register(busy_server.url)
    c = a.direct(b)
    for i in range(205):
        send_retry(a, c["id"], f"m{i}")
    page = history(a, c["id"], limit=200)
    assert len(page["messages"]) == 200 and page["has_more"] is True
    assert page["messages"][-1]["seq"] == 205
    r = a.get(f"/api/conversations/{c['id']}/messages", params={"limit": 201})
    if r.status_code == 200:
        assert len(r.json()["messages"]) <= 200
    else:
        assert_problem(r, 422, field="limit")
    default = history(a, c["id"])
    assert len(default["messages"]) == 50 and default["messages"][-1]["seq"] == 205


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": -1}, {"limit": "ten"}, {"before": "x"}, {"after": "y"}]
)
def test_history_bad_params_are_422(alice, chat, params):
    r = alice.get(f"/api/conversations/{chat['id']}/messages", params=params)
    assert_problem(r, 422, field=next(iter(params)))


def test_edit_by_sender(alice, bob, chat, streams):
    reader = streams(bob)
    m = alice.send(chat["id"], "first draft")
    r = alice.patch(
        f"/api/conversations/{chat['id']}/messages/{m['id']}", json={"body": "  final  "}
    )
    assert r.status_code == 200, r.text
    edited = r.json()
    assert_message(edited)
    assert edited["body"] == "final" and edited["edited_at"] is not None
    assert edited["seq"] == m["seq"] and edited["id"] == m["id"]
    ev = reader.wait_for("message.updated", id=m["id"])
    assert ev.id is not None and ev.json()["body"] == "final"
    assert history(bob, chat["id"])["messages"][0]["body"] == "final"


def test_edit_rules(alice, bob, chat):
    m = alice.send(chat["id"], "mine")
    url = f"/api/conversations/{chat['id']}/messages/{m['id']}"
    assert_problem(bob.patch(url, json={"body": "hijack"}), 403)
    assert_problem(alice.patch(url, json={"body": "   "}), 422, field="body")
    assert_problem(alice.patch(url, json={"body": "e" * 4001}), 422, field="body")
    assert_problem(alice.patch(url, json={}), 422, field="body")
    assert_problem(
        alice.patch(f"/api/conversations/{chat['id']}/messages/nope", json={"body": "x"}), 404
    )
    assert history(alice, chat["id"])["messages"][0]["body"] == "mine"
    assert alice.delete(url).status_code == 204
    assert_problem(alice.patch(url, json={"body": "resurrect"}), 410)


def test_message_of_another_conversation_is_404_via_wrong_path(alice, bob, carol, chat):
    other = alice.direct(carol)
    m = alice.send(other["id"], "elsewhere")
    url = f"/api/conversations/{chat['id']}/messages/{m['id']}"
    assert_problem(alice.patch(url, json={"body": "x"}), 404)
    assert_problem(alice.delete(url), 404)


def test_delete_leaves_tombstone(alice, bob, chat, streams):
    reader = streams(bob)
    m = alice.send(chat["id"], "regrettable")
    url = f"/api/conversations/{chat['id']}/messages/{m['id']}"
    assert_problem(bob.delete(url), 403)
    r = alice.delete(url)
    assert r.status_code == 204, r.text
    assert r.content == b""
    ev = reader.wait_for("message.deleted", id=m["id"])
    assert ev.id is not None
    assert ev.json()["deleted"] is True and ev.json()["body"] == ""
    tomb = history(bob, chat["id"])["messages"]
    assert len(tomb) == 1
    assert tomb[0]["deleted"] is True and tomb[0]["body"] == "" and tomb[0]["seq"] == m["seq"]
    last = bob.get(f"/api/conversations/{chat['id']}").json()["last_message"]
    assert last is None or last["body"] == ""
    again = alice.delete(url)
    assert again.status_code in (204, 410), again.text


def test_deleted_text_is_gone_from_storage(server, alice, bob, chat):
    secret = "s3cr3t-" + uuid.uuid4().hex
    m = alice.send(chat["id"], secret)
    alice.patch(
        f"/api/conversations/{chat['id']}/messages/{m['id']}", json={"body": secret + " v2"}
    )
    assert alice.delete(f"/api/conversations/{chat['id']}/messages/{m['id']}").status_code == 204
    # Nothing the server answers has it any more, replays included.
    reader_body = bob.get(f"/api/conversations/{chat['id']}/messages").text
    assert secret not in reader_body
    found = [
        p.name
        for p in Path(server.data_dir).rglob("*")
        if p.is_file() and not p.name.endswith(".log") and secret.encode() in p.read_bytes()
    ]
    assert not found, f"the deleted text is still stored in {found}"


def test_deleted_text_is_not_replayed(alice, bob, chat, streams):
    first = streams(bob)
    start = first.ready.json()["last_event_id"]
    secret = "gone-" + uuid.uuid4().hex
    m = alice.send(chat["id"], secret)
    first.wait_for("message.created", id=m["id"])
    assert alice.delete(f"/api/conversations/{chat['id']}/messages/{m['id']}").status_code == 204
    first.wait_for("message.deleted", id=m["id"])
    resumed = streams(bob, last_event_id=start)
    assert resumed.replayed, "nothing replayed"
    assert not any(secret in ev.data for ev in resumed.replayed), resumed.replayed


def test_unread_count_excludes_own_and_deleted(alice, bob, chat):
    ms = [alice.send(chat["id"], f"a{i}") for i in range(4)]
    bob.send(chat["id"], "b")

    def unread(who: Client) -> int:
        return who.get(f"/api/conversations/{chat['id']}").json()["unread_count"]

    assert unread(bob) == 4 and unread(alice) == 1
    assert (
        alice.delete(f"/api/conversations/{chat['id']}/messages/{ms[3]['id']}").status_code == 204
    )
    assert unread(bob) == 3
    assert (
        bob.post(f"/api/conversations/{chat['id']}/receipts", json={"read_seq": 2}).status_code
        == 200
    )
    assert unread(bob) == 1
    assert (
        bob.post(f"/api/conversations/{chat['id']}/receipts", json={"read_seq": 5}).status_code
        == 200
    )
    assert unread(bob) == 0
    assert unread(alice) == 1


def test_send_rate_is_bounded_with_retry_after(server, alice, bob):
    c = alice.direct(bob)
    throttled = None
    for i in range(400):
        r = post_message(alice, c["id"], f"spam {i}")
        if r.status_code == 429:
            throttled = r
            break
        assert r.status_code == 201, r.text
    assert throttled is not None, "400 sends in a row were never throttled"
    assert_problem(throttled, 429)
    assert throttled.headers.get("retry-after", "").isdigit()
    assert int(throttled.headers["retry-after"]) >= 1


def test_concurrent_resends_of_one_client_id_make_one_message(busy_server):
    a, b = Client.register(busy_server.url), Client.register(busy_server.url)
    c = a.direct(b)
    for round_ in range(5):
        key = f"race-{round_}-{uuid.uuid4().hex}"
        barrier = threading.Barrier(6)
        results: list = []

        def send(key: str, barrier: threading.Barrier, results: list) -> None:
            barrier.wait(5)
            results.append(post_message(a, c["id"], "once", client_id=key))

        threads = [threading.Thread(target=send, args=(key, barrier, results)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        codes = sorted(r.status_code for r in results)
        assert codes == [200] * 5 + [201], codes
        assert len({r.json()["id"] for r in results}) == 1
    msgs = history(a, c["id"], limit=200)["messages"]
    assert [m["seq"] for m in msgs] == [1, 2, 3, 4, 5]
