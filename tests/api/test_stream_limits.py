"""A stalled reader is cut off (not buffered without bound) and resumes without loss."""

from __future__ import annotations

import json
import threading

from ._util import Client, RawStream, open_reader, rss_kb, send_retry

# ~12 KB per event on the wire ("€" is 3 bytes of UTF-8), 4000 characters or fewer.
BODY = "€" * 3900
STALLED = 10  # streams that never read: an unbounded server would buffer it all 10 times
PER_SENDER = 270  # x3 senders: ~10 MB for each stream, several times any sane queue


def test_stalled_readers_are_cut_off_memory_bounded_and_resume_without_loss(busy_server):
    srv = busy_server
    senders = [Client.register(srv.url) for _ in range(3)]
    slow_user = Client.register(srv.url)
    healthy_user = Client.register(srv.url)
    g = senders[0].group("flood", *senders[1:], slow_user, healthy_user)

    # Warm up, so that memory is measured in a steady state.
    for i in range(30):
        send_retry(senders[0], g["id"], f"warm {i} " + BODY)
    healthy = open_reader(srv.url, healthy_user.token)
    stalled = [RawStream(srv.port, slow_user.token) for _ in range(STALLED)]
    try:
        for s in stalled:
            s.read_until(b"event: ready")
            assert b" 200 " in s.raw.split(b"\r\n", 1)[0]
        rss_before = rss_kb(srv.proc.pid)

        errors: list[BaseException] = []

        def flood(who: Client) -> None:
            try:
                for i in range(PER_SENDER):
                    send_retry(who, g["id"], f"{i} " + BODY)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=flood, args=(s,)) for s in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        assert not errors, errors
        total = 30 + PER_SENDER * len(senders)
        assert senders[0].get(f"/api/conversations/{g['id']}").json()["last_seq"] == total

        # The healthy reader kept up and was not cut off.
        while True:
            ev = healthy.next(30)
            if ev.event == "message.created" and ev.json()["seq"] == total:
                break
        assert not healthy.closed.is_set()

        peak = rss_kb(srv.proc.pid, "VmHWM")
        grew_mib = (peak - rss_before) / 1024
        pushed_mib = (total - 30) * len(BODY.encode()) * STALLED / 2**20
        assert grew_mib < 48, f"server memory grew {grew_mib:.0f} MiB ({pushed_mib:.0f} MiB pushed)"

        # Each stalled stream: the server closed it rather than buffering everything.
        for s in stalled:
            assert s.read_to_end(timeout=30), (
                f"a stalled stream was never closed; {len(s.raw)} bytes read after the flood"
            )
        s = stalled[0]
        got: dict[int, str] = {}
        resume_from = None
        for eid, kind, data in s.events():
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
        for s in stalled:
            s.close()
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
