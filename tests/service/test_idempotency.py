"""Idempotency-Key: replay, conflicting reuse (422), still running (409), and races."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from dialplan.service.sql import open_database

from .conftest import Server, charity_xml


def test_same_key_same_body_replays_the_first_response(server: Server, acme: str) -> None:
    body = {"name": "idem-replay", "xml": charity_xml()}
    with server.client(acme) as c:
        first = c.post("/v1/flows", json=body, headers={"Idempotency-Key": "replay-1"})
        again = c.post("/v1/flows", json=body, headers={"Idempotency-Key": "replay-1"})
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["location"] == first.headers["location"]
        assert again.headers.get("idempotent-replayed") == "true"
        assert "idempotent-replayed" not in first.headers
        names = [f["name"] for f in c.get("/v1/flows", params={"limit": 500}).json()["items"]]
        assert names.count("idem-replay") == 1
        # without the header, the same body makes a new flow
        assert c.post("/v1/flows", json=body).json()["id"] != first.json()["id"]


def test_same_key_other_body_is_422(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        c.post(
            "/v1/flows",
            json={"name": "a", "xml": charity_xml()},
            headers={"Idempotency-Key": "k-422"},
        )
        r = c.post(
            "/v1/flows",
            json={"name": "b", "xml": charity_xml()},
            headers={"Idempotency-Key": "k-422"},
        )
    assert r.status_code == 422
    assert r.json()["type"].endswith("/idempotency-key-reused")


def test_keys_are_per_account(server: Server, acme: str, globex: str) -> None:
    body = {"name": "shared-key", "xml": charity_xml()}
    with server.client(acme) as a, server.client(globex) as g:
        one = a.post("/v1/flows", json=body, headers={"Idempotency-Key": "same"})
        two = g.post("/v1/flows", json=body, headers={"Idempotency-Key": "same"})
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] != two.json()["id"]


def test_refusals_are_replayed_too(server: Server, acme: str) -> None:
    bad = {"name": "bad", "xml": "<dialplan><goto>x</goto></dialplan>"}
    with server.client(acme) as c:
        first = c.post("/v1/flows", json=bad, headers={"Idempotency-Key": "bad-1"})
        again = c.post("/v1/flows", json=bad, headers={"Idempotency-Key": "bad-1"})
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json()
    assert again.headers["content-type"] == "application/problem+json"


def _key_state(server: Server, account: str, key: str) -> str | None:
    """The state of an Idempotency-Key's row in the server's database (None: no row)."""
    db = open_database(server.db_path)  # SQLite here, PostgreSQL in test_postgres_shared
    try:
        with db.connect() as conn:
            row = conn.execute(
                "SELECT state FROM idempotency WHERE account = ? AND key = ?", (account, key)
            ).fetchone()
    finally:
        db.close()
    return None if row is None else str(row["state"])


def test_still_running_is_409(server: Server, acme: str, flow_id: str) -> None:
    # a sync call holds its request (1 s limit here); the same key meanwhile is a conflict
    body = {
        "flow_id": flow_id,
        "to": "+15555550123",
        "caller_id": "+15555550100",
        "mode": "sync",
        "simulation": {"ring_s": 3},
    }
    results: list[httpx.Response] = []

    def first() -> None:
        with server.client(acme) as c:
            results.append(c.post("/v1/calls", json=body, headers={"Idempotency-Key": "running"}))

    thread = threading.Thread(target=first)
    thread.start()
    # the first request holds the key once its row says so (a fixed 0.2 s was not always
    # enough on a loaded machine: the second request then came first)
    deadline = time.monotonic() + 30
    while _key_state(server, "acme", "running") != "running":
        assert time.monotonic() < deadline and thread.is_alive(), "the first request never ran"
        time.sleep(0.01)
    with server.client(acme) as c:
        second = c.post("/v1/calls", json=body, headers={"Idempotency-Key": "running"})
        thread.join()
        assert second.status_code == 409
        assert second.headers["retry-after"] == "1"
        assert results[0].status_code == 202
        third = c.post("/v1/calls", json=body, headers={"Idempotency-Key": "running"})
    assert third.status_code == 202 and third.json()["id"] == results[0].json()["id"]


def test_identical_posts_at_once_create_one_resource(server: Server, acme: str) -> None:
    body = {"name": "race", "xml": charity_xml()}
    barrier = threading.Barrier(8)
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def post() -> None:
        with server.client(acme) as c:
            barrier.wait()
            r = c.post("/v1/flows", json=body, headers={"Idempotency-Key": "race-1"})
            with lock:
                answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with server.client(acme) as c:
        names = [f["name"] for f in c.get("/v1/flows", params={"limit": 500}).json()["items"]]
    assert names.count("race") == 1
    created = {body["id"] for status, body in answers if status == 201}
    assert len(created) == 1
    assert all(status in (201, 409) for status, _ in answers)


def test_bad_keys_are_400(server: Server, acme: str) -> None:
    with server.client(acme) as c:
        r = c.post(
            "/v1/flows",
            json={"name": "x", "xml": charity_xml()},
            headers={"Idempotency-Key": "k" * 256},
        )
    assert r.status_code == 400
