"""A stalled reader is cut off (not buffered without bound) and resumes without loss."""

from __future__ import annotations

import json
import threading

from ._util import Client, RawStream, open_reader, rss_kb, send_retry

BODY = "w" * 3900  # about 4 KiB per event


def test_stalled_reader_is_cut_off_and_resumes_without_loss(busy_server):
    srv = busy_server
    senders = [Client.register(srv.url) for _ in range(3)]
    slow_user = Client.register(srv.url)
    healthy_user = Client.register(srv.url)
    g = senders[0].group("flood", *senders[1:], slow_user, healthy_user)

    # Warm up the server so that its memory is measured in a steady state.
    for i in range(30):
        send_retry(senders[0], g["id"], f"warm {i} " + BODY)
    healthy = open_reader(srv.url, healthy_user.token)
    stalled = RawStream(srv.port, slow_user.token)
    try:
        stalled.read_until(b"event: ready")
        assert b" 200 " in stalled.raw.split(b"\r\n", 1)[0]
        rss_before = rss_kb(srv.proc.pid)

        per_sender = 300  # 900 events of ~4 KiB: several times any sane per-stream queue
        errors: list[BaseException] = []

        def flood(who: Client) -> None:
            try:
                for i in range(per_sender):
                    send_retry(who, g["id"], f"{i} " + BODY)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=flood, args=(s,)) for s in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        total = 30 + per_sender * len(senders)
        last = senders[0].get(f"/api/conversations/{g['id']}").json()["last_seq"]
        assert last == total

        # The healthy reader kept up and was not cut off.
        seen = 0
        while True:
            ev = healthy.next(30)
            if ev.event == "message.created":
                seen = ev.json()["seq"]
                if seen == total:
                    break
        assert not healthy.closed.is_set()

        rss_after = rss_kb(srv.proc.pid)
        # The stalled reader: the server closed it rather than buffering everything.
        closed = stalled.read_to_end(timeout=30)
        assert closed, (
            f"a stalled stream was never closed; {len(stalled.raw)} bytes read after the flood"
        )
        assert rss_after - rss_before < 150 * 1024, f"server RSS grew {rss_after - rss_before} KiB"

        got: dict[int, str] = {}
        resume_from = None
        for eid, kind, data in stalled.events():
            if kind == "ready":
                resume_from = json.loads(data)["last_event_id"]
            if kind == "message.created":
                m = json.loads(data)
                if m["conversation_id"] == g["id"]:
                    got[m["seq"]] = m["id"]
                    resume_from = eid
        assert len(got) < total - 30, "the stalled reader got everything: it was never cut off"
        assert resume_from is not None
    finally:
        stalled.close()
        healthy.close()

    # It resumes with Last-Event-ID and loses nothing.
    resumed = open_reader(srv.url, slow_user.token, last_event_id=resume_from, timeout=60)
    try:
        replayed = [
            e.json()["seq"]
            for e in resumed.replayed
            if e.event == "message.created" and e.json()["conversation_id"] == g["id"]
        ]
        assert not set(replayed) & set(got), "duplicates after resume"
        assert sorted(set(got) | set(replayed)) == list(range(31, total + 1))
        m = senders[0].send(g["id"], "after")
        resumed.wait_for("message.created", id=m["id"])
    finally:
        resumed.close()
