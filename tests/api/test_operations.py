"""Operations: health, readiness, metrics, docs; graceful shutdown loses nothing acknowledged."""

from __future__ import annotations

import signal
import threading
import time
import uuid

import httpx

from ._util import Client, login, open_reader, post_message, unique


def test_healthz(server):
    assert httpx.get(server.url + "/healthz").status_code == 200


def test_readyz(server):
    assert httpx.get(server.url + "/readyz").status_code == 200


def test_metrics_is_prometheus_text(server, alice):
    alice.get("/api/users/me")
    r = httpx.get(server.url + "/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(("text/plain", "application/openmetrics-text"))
    lines = [line for line in r.text.splitlines() if line]
    assert any(line.startswith("# TYPE ") for line in lines)
    assert any(line.startswith("# HELP ") for line in lines)
    samples = [line for line in lines if not line.startswith("#")]
    assert samples
    for line in samples:
        name_labels, _, value = line.rpartition(" ")
        if (
            value
            and not value.replace(".", "")
            .replace("e", "")
            .replace("+", "")
            .replace("-", "")
            .isdigit()
        ):
            # a timestamp may follow the value
            name_labels, _, value = name_labels.rpartition(" ")
        float(value)
        assert name_labels


def test_docs_page(server):
    r = httpx.get(server.url + "/docs")
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]


def test_openapi_json(server):
    r = httpx.get(server.url + "/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert "openapi" in spec
    for path in (
        "/api/auth/register",
        "/api/auth/login",
        "/api/conversations",
        "/api/conversations/{id}/messages",
    ):
        assert any(p.replace("conversation_id", "id") == path for p in spec["paths"]), (
            path,
            list(spec["paths"]),
        )


def _keep_sending(
    client: Client, conversation_id: str, acked: list[dict], stop: threading.Event
) -> None:
    """Send until told to stop or the server goes away, keeping what was acknowledged."""
    i = 0
    while not stop.is_set():
        try:
            r = post_message(client, conversation_id, f"msg {i}")
        except httpx.HTTPError:
            return
        if r.status_code in (200, 201):
            acked.append(r.json())
        elif r.status_code >= 500 or r.status_code in (401, 404):
            return
        i += 1


def test_graceful_shutdown_ends_streams_and_keeps_acknowledged(make_server):
    srv = make_server(HELLOW_SEND_RATE_PER_S="100000")
    a, b = Client.register(srv.url), Client.register(srv.url)
    c = a.direct(b)
    reader = open_reader(srv.url, b.token)
    acked: list[dict] = []
    stop = threading.Event()

    sender = threading.Thread(target=_keep_sending, args=(a, c["id"], acked, stop), daemon=True)
    sender.start()
    deadline = time.monotonic() + 20
    while len(acked) < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(acked) >= 20
    last_before = reader.wait_for("message.created", id=acked[0]["id"]).id

    code = srv.stop(signal.SIGTERM, timeout=15)
    stop.set()
    sender.join(10)
    assert code not in (-signal.SIGKILL,), "the server had to be killed: it hung on shutdown"
    assert reader.closed.wait(10), "the open stream did not end on shutdown"

    srv.start()
    r = login(srv.url, a.user["username"])
    assert r.status_code == 200, r.text
    a2 = Client(srv.url, r.json()["token"])
    got = a2.all_messages(c["id"])
    ids = {m["id"] for m in got}
    missing = [m["seq"] for m in acked if m["id"] not in ids]
    assert not missing, f"acknowledged messages lost: {missing}"
    assert [m["seq"] for m in got] == list(range(1, len(got) + 1))
    # Ids keep growing across the restart.
    b2 = Client(srv.url, login(srv.url, b.user["username"]).json()["token"])
    after = open_reader(srv.url, b2.token)
    try:
        m = a2.send(c["id"], "after restart")
        assert after.wait_for("message.created", id=m["id"]).id > last_before
    finally:
        after.close()
        reader.close()


def test_acknowledged_sends_survive_sigkill(make_server):
    srv = make_server(HELLOW_SEND_RATE_PER_S="100000")
    a, b = Client.register(srv.url), Client.register(srv.url)
    c = a.direct(b)
    acked: list[dict] = []
    stop = threading.Event()

    threads = [
        threading.Thread(target=_keep_sending, args=(a, c["id"], acked, stop), daemon=True)
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < 60 and time.monotonic() < deadline:
        time.sleep(0.02)
    srv.kill()
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) >= 60
    srv.start()
    token = login(srv.url, a.user["username"]).json()["token"]
    a2 = Client(srv.url, token)
    got = a2.all_messages(c["id"])
    ids = {m["id"] for m in got}
    missing = [m["seq"] for m in acked if m["id"] not in ids]
    assert not missing, f"acknowledged, then lost on a crash: {missing}"
    assert [m["seq"] for m in got] == list(range(1, len(got) + 1))


def test_logs_do_not_leak_tokens_or_passwords(server):
    name = unique("lg")
    password = "pw-" + uuid.uuid4().hex
    r = httpx.post(server.url + "/api/auth/register", json={"username": name, "password": password})
    token = r.json()["token"]
    a = Client(server.url, token)
    a.get("/api/users/me")
    a.post("/api/auth/activity")
    login(server.url, name, "wrong-" + password)
    fake = token[:-4] + "AAAA"
    Client(server.url, fake).get("/api/users/me")
    a.post("/api/auth/logout")
    a.get("/api/users/me")
    log = server.log()
    assert log, "the server logs nothing at all"
    for secret in (token, token.split(".")[2], fake, password):
        assert secret not in log
