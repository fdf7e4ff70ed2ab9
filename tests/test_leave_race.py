"""Leaving a group while messages fly: nothing written after the leave reaches the
leaver, and the leaver cannot post after it, however the requests interleave."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from support import Client, EventReader, ServerProcess

TRIALS = 12


def _post(client: Client, path: str, text: str) -> int:
    body = {"client_id": uuid.uuid4().hex, "body": text}
    return client.post(path, json=body).status_code


def test_leave_and_sends_at_once_never_leak_past_the_leave(server: ServerProcess) -> None:
    alice = Client.register(server.url)
    watcher = EventReader(server.url, alice.token or "")
    watcher.wait_for("ready")
    with ThreadPoolExecutor(4) as pool:
        for _ in range(TRIALS):
            bob = Client.register(server.url)
            gid = alice.group("race", bob)["id"]
            bobs = EventReader(server.url, bob.token or "")
            bobs.wait_for("ready")
            path = f"/api/conversations/{gid}/messages"
            sends = [pool.submit(_post, c, path, "hi") for c in (alice, bob, alice)]
            leave = pool.submit(bob.delete, f"/api/conversations/{gid}/members/{bob.id}")
            assert leave.result().status_code == 204
            assert {s.result() for s in sends} <= {201, 404}

            leave_event = watcher.wait_for("conversation.updated", id=gid)
            seen = [e for e in watcher.drain(0.2) if e.event == "message.created"]
            for event in seen:
                if event.json()["sender_id"] == bob.id:
                    assert event.id < leave_event.id, "a message posted after leaving"
            for event in bobs.drain(0.2):
                assert event.id is None or event.id < leave_event.id, (
                    f"{event.event} {event.id} reached the leaver after the leave "
                    f"({leave_event.id})"
                )
            bobs.close()
    watcher.close()
