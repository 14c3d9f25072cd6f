"""``serve --db postgresql://…``: several live servers on one PostgreSQL database share keys, flows,
calls, idempotency records, the webhook outbox and the DNC list."""

from __future__ import annotations

import concurrent.futures
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from dialplan.service import pgstorage
from dialplan.service.outbox import Deliverer, add_event
from dialplan.service.servers import release_claims
from dialplan.service.sql import open_database
from dialplan.service.storage import SCHEMA_VERSION, Database

from .conftest import Receiver, Server, charity_xml, start_server, stop_server

SECRET = "whsec-test-0123456789"
ROOT = Path(__file__).resolve().parents[2]


def _dialplan(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "dialplan", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture(scope="module")
def servers(
    shared_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """Two servers, as behind a load balancer, on one PostgreSQL database."""
    tmp = tmp_path_factory.mktemp("pgserve")
    options = ("--allow-private", "--sync-limit", "1", "--peer-timeout", "2")
    a = start_server(tmp, *options, db=shared_dsn)
    try:
        b = start_server(tmp, *options, db=shared_dsn)
    except BaseException:
        stop_server(a)
        raise
    yield a, b
    stop_server(a)
    stop_server(b)


def _call(flow: str, **extra: Any) -> dict[str, Any]:
    return {"flow_id": flow, "to": "+12125550100", "caller_id": "+12125550199", **extra}


def _wait_final(c: httpx.Client, call_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        call: dict[str, Any] = c.get(f"/v1/calls/{call_id}").json()
        if call["final"]:
            return call
        time.sleep(0.05)
    raise AssertionError(f"call {call_id} never ended")


# -- the database itself ---------------------------------------------------------------------


def test_placeholders_are_translated_outside_quoted_strings() -> None:
    assert pgstorage.translate("SELECT * FROM t WHERE a = ? AND b = '?' AND c LIKE 'x%'") == (
        "SELECT * FROM t WHERE a = %s AND b = '?' AND c LIKE 'x%%'"
    )


def test_both_engines_have_the_same_tables_and_columns(pg_dsn: str, tmp_path: Path) -> None:
    assert pgstorage.SCHEMA_VERSION == SCHEMA_VERSION  # a migration added to one engine only
    Database(tmp_path / "s.sqlite")
    lite = sqlite3.connect(tmp_path / "s.sqlite")
    tables = [r[0] for r in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    sqlite_columns = {
        (t, c[1])
        for t in tables
        if t != "sqlite_sequence"
        for c in lite.execute(f"PRAGMA table_info({t})")
    }
    open_database(pg_dsn).close()
    with psycopg.connect(pg_dsn) as conn:
        pg_columns = {
            (t, c)
            for t, c in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'dialplan_service' AND table_name <> 'schema_migrations'"
            )
        }
    pg_only = {(t, c) for t, c in pg_columns if t in pgstorage.PG_ONLY_TABLES}
    assert pg_only and pg_columns - {("outbox", "rowid")} - pg_only == sqlite_columns


def test_the_service_tables_live_beside_the_campaign_store(pg_db: str) -> None:
    """The campaign store's ``outbox`` and ``dnc`` (schema public) and the service's coexist."""
    db = open_database(pg_db)
    try:
        with db.write() as conn:
            conn.execute(
                "INSERT INTO dnc (account, number, created_at) VALUES (?, ?, ?)",
                ("acme", "+12125550100", 1.0),
            )
    finally:
        db.close()
    with psycopg.connect(pg_db) as conn:
        schemas = {
            r[0]
            for r in conn.execute(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'dnc'"
            )
        }
    assert schemas == {"public", "dialplan_service"}


def test_an_unreachable_server_is_one_line_without_the_password(pg_server: Any) -> None:
    dsn = f"postgresql://alice:s3cret@127.0.0.1:{pg_server.port}/nosuchdb"
    done = _dialplan("keys", "list", "--db", dsn)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "s3cret" not in done.stderr
    assert f"postgresql://alice@127.0.0.1:{pg_server.port}/nosuchdb" in done.stderr
    served = _dialplan("serve", "--db", dsn, "--port", "0")
    assert served.returncode == 2 and "s3cret" not in served.stderr
    assert "cannot open service database" in served.stderr


def test_a_newer_schema_is_refused(pg_dsn: str) -> None:
    open_database(pg_dsn).close()
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO dialplan_service.schema_migrations (version) VALUES (999)")
    done = _dialplan("keys", "list", "--db", pg_dsn)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "schema 999 is newer than this dialplan" in done.stderr


def test_keys_cli_on_postgres(pg_dsn: str) -> None:
    made = _dialplan("keys", "create", "--db", pg_dsn, "--account", "acme", "--format", "json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    listed = _dialplan("keys", "list", "--db", pg_dsn, "--format", "json")
    assert [k["id"] for k in json.loads(listed.stdout)] == [key["id"]]
    assert _dialplan("keys", "revoke", "--db", pg_dsn, key["id"]).returncode == 0
    assert _dialplan("keys", "revoke", "--db", pg_dsn, key["id"]).returncode == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "service.sqlite")
    return str(request.getfixturevalue("pg_dsn"))


def test_two_deliverers_never_claim_the_same_event(any_db: str) -> None:
    db = open_database(any_db)
    try:
        with db.write() as conn:
            for n in range(30):
                add_event(conn, "call_x", "http://127.0.0.1:9/", SECRET, {"event_id": f"e{n}"})
        a = Deliverer(db, owner="srv_a", batch=10)
        b = Deliverer(db, owner="srv_b", batch=10)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            claims = list(pool.map(lambda d: d.claim(), [a, b, a, b]))
        ids = [r["id"] for rows in claims for r in rows]
        assert len(ids) == 30 and len(set(ids)) == 30
        assert a.claim() == [] and b.claim() == []  # all held (nothing was sent)
        # srv_a is gone (no heartbeat): its claims are freed for the others, srv_b's are not
        held_by_a = sum(len(rows) for d, rows in zip([a, b, a, b], claims, strict=True) if d is a)
        assert release_claims(db, "srv_b", timeout_s=30) == held_by_a
        assert sum(len(b.claim()) for _ in range(3)) == held_by_a and b.claim() == []
        a.close()
        b.close()
    finally:
        db.close()


# -- two live servers --------------------------------------------------------------------------


def test_keys_flows_and_tenants_are_shared(servers: tuple[Server, Server]) -> None:
    a, b = servers
    acme = a.key("acme", "write")
    globex = b.key("globex", "write")
    reader = a.key("acme", "read")
    with b.client() as c:
        assert c.get("/v1/flows").status_code == 401
    with b.client(reader) as c:
        assert c.post("/v1/flows", json={"name": "x", "xml": charity_xml()}).status_code == 403
    with a.client(acme) as c:
        made = c.post("/v1/flows", json={"name": "charity", "xml": charity_xml()})
    assert made.status_code == 201, made.text
    flow = made.json()["id"]
    with b.client(acme) as c:
        got = c.get(f"/v1/flows/{flow}")
        assert got.status_code == 200 and got.json()["name"] == "charity"
    with b.client(globex) as c:
        assert c.get(f"/v1/flows/{flow}").status_code == 404
        assert c.get("/v1/flows").json()["items"] == []


def test_one_idempotency_key_sent_to_two_servers_at_once_creates_one_flow(
    servers: tuple[Server, Server],
) -> None:
    a, b = servers
    key = a.key("initech", "write")
    body = {"name": "raced", "xml": charity_xml()}

    def post(server: Server) -> httpx.Response:
        with server.client(key) as c:
            return c.post("/v1/flows", json=body, headers={"Idempotency-Key": "race-1"})

    for _ in range(3):  # the race goes either way; the outcome must not
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(post, [a, b]))
        assert sorted(r.status_code for r in answers) in ([201, 201], [201, 409]), [
            r.text for r in answers
        ]
    with b.client(key) as c:
        flows = c.get("/v1/flows").json()["items"]
    assert [f["name"] for f in flows] == ["raced"]


def test_a_call_taken_by_one_server_is_read_through_the_other(
    servers: tuple[Server, Server], receiver: Receiver
) -> None:
    a, b = servers
    key = a.key("acme", "write")
    with a.client(key) as c:
        flow = c.post("/v1/flows", json={"name": "c", "xml": charity_xml()}).json()["id"]
        polled = c.post("/v1/calls", json=_call(flow, mode="poll"))
        hooked = c.post(
            "/v1/calls",
            json=_call(flow, mode="webhook", webhook_url=receiver.url, webhook_secret=SECRET),
        )
    assert polled.status_code == 202 and hooked.status_code == 202, hooked.text
    with b.client(key) as c:
        call = _wait_final(c, polled.json()["id"])
        assert call["status"] == "completed"
        assert _wait_final(c, hooked.json()["id"])["status"] == "completed"
    hooked_id = hooked.json()["id"]
    receiver.wait_for(
        lambda bodies: (
            {b["event"] for b in bodies if b["call_id"] == hooked_id}
            >= {"call.answered", "call.ended"}
        )
    )
    time.sleep(1.0)  # time for a second delivery, if either server were to make one
    ids = [h["x-dialplan-event-id"] for h, _ in receiver.received]
    assert len(ids) == len(set(ids)) == 2  # each event once, by one of the two servers


def test_a_starting_server_leaves_a_live_servers_calls_alone(
    shared_dsn: str, servers: tuple[Server, Server], tmp_path: Path
) -> None:
    a, _ = servers
    key = a.key("acme", "write")
    with a.client(key) as c:
        flow = c.post("/v1/flows", json={"name": "c", "xml": charity_xml()}).json()["id"]
        ringing = c.post(
            "/v1/calls", json=_call(flow, mode="poll", simulation={"ring_s": 60})
        ).json()["id"]
    late = start_server(tmp_path, "--peer-timeout", "2", db=shared_dsn)
    try:
        time.sleep(3)  # past the peer timeout: the late server has swept several times
        with late.client(key) as c:
            call = c.get(f"/v1/calls/{ringing}").json()
            elsewhere = c.delete(f"/voice/v1/call/{ringing}")
    finally:
        stop_server(late)
    # not booked as interrupted: server a is alive and still rings
    assert (call["status"], call["final"]) == ("queued", False), call
    # a control sent to the late server is answered by the server that runs the call (a
    # simulated call takes none)
    assert elsewhere.status_code == 409, elsewhere.text
    assert "simulated calls run in virtual time" in elsewhere.json()["detail"]


def test_the_calls_and_events_of_a_killed_server_are_booked_by_a_live_one(
    shared_dsn: str, servers: tuple[Server, Server], tmp_path: Path, receiver: Receiver
) -> None:
    _, b = servers
    receiver.statuses = [500] * 1000  # the receiver is down while the doomed server runs
    doomed = start_server(tmp_path, "--allow-private", "--peer-timeout", "2", db=shared_dsn)
    key = b.key("acme", "write")
    hook = {"mode": "webhook", "webhook_url": receiver.url, "webhook_secret": SECRET}
    try:
        with doomed.client(key) as c:
            flow = c.post("/v1/flows", json={"name": "c", "xml": charity_xml()}).json()["id"]
            done = c.post("/v1/calls", json=_call(flow, **hook)).json()["id"]
            ringing = c.post(
                "/v1/calls", json=_call(flow, simulation={"ring_s": 60}, **hook)
            ).json()["id"]
            _wait_final(c, done)
        receiver.wait_for(lambda bodies: len(bodies) >= 2)  # doomed tried, and failed
    finally:
        doomed.process.kill()  # kill -9: no goodbye, the heartbeat just stops
        doomed.process.wait()
    with receiver.lock:
        receiver.statuses = []
        receiver.received.clear()
    with b.client(key) as c:
        call = _wait_final(c, ringing, timeout=20)
    assert (call["status"], call["failure_reason"]) == ("failed", "interrupted")
    # every event, those the doomed server had claimed included, is delivered by server b
    receiver.wait_for(
        lambda bodies: (
            {(b["call_id"], b["event"]) for b in bodies}
            >= {
                (done, "call.answered"),
                (done, "call.ended"),
                (ringing, "call.failed"),
                (ringing, "call.ended"),
            }
        ),
        timeout=30,
    )


def test_the_dnc_list_is_shared(servers: tuple[Server, Server]) -> None:
    a, b = servers
    key = a.key("dnc-co", "write")
    with a.client(key) as c:
        added = c.post("/v1/dnc", json={"numbers": ["+12125550123", "+12125550124"]})
        assert added.json() == {"added": 2}
        again = c.post("/v1/dnc", json={"numbers": ["+12125550123", "+12125550125"]})
        assert again.json() == {"added": 1}
    with b.client(key) as c:
        assert [e["number"] for e in c.get("/v1/dnc").json()["items"]] == [
            "+12125550123",
            "+12125550124",
            "+12125550125",
        ]
        assert c.delete("/v1/dnc/+12125550124").status_code == 204
    with a.client(key) as c:
        assert c.delete("/v1/dnc/+12125550124").status_code == 404


def test_a_broadcast_created_on_one_server_is_called_by_a_worker_and_read_on_the_other(
    servers: tuple[Server, Server], shared_dsn: str
) -> None:
    """The servers only store the broadcast; a ``broadcast worker`` process calls it."""
    a, b = servers
    key = a.key("acme", "write")
    people = [
        {"phoneNumber": "+12125550131", "attributes": {"sim_result": "LA", "sim_inputs": "1"}},
        {"phoneNumber": "+12125550132", "attributes": {"sim_result": "BUSY"}},
        {"phoneNumber": "+12125550133", "attributes": {"sim_result": "AM"}},
    ]
    body = {
        "name": "pg",
        "fromNumber": "+12125550100",
        "dialplanXml": charity_xml(),
        "recipients": people,
        "retryConfig": {"maxAttempts": 1},
    }
    with a.client() as c:
        r = c.post("/v2/calls/broadcasts?start=true", json=body, auth=("acme", key))
    assert r.status_code == 200, r.text
    bid = r.json()["id"]
    time.sleep(0.5)
    with b.client() as c:  # nothing is called in a server: no worker yet
        stats = c.get(f"/v2/calls/broadcasts/{bid}/stats", auth=("acme", key)).json()
        assert stats["callsPlaced"] == 0 and stats["callsRemaining"] == 3, stats
    worker = subprocess.run(
        [sys.executable, "-m", "dialplan", "broadcast", "worker", "--db", shared_dsn],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=a.log.parent,  # the servers' working folder: the broadcasts' files are there
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr
    with b.client() as c:
        got = c.get(f"/v2/calls/broadcasts/{bid}", auth=("acme", key)).json()
        stats = c.get(f"/v2/calls/broadcasts/{bid}/stats", auth=("acme", key)).json()
        calls = c.get("/v2/calls", params={"id": bid}, auth=("acme", key))
    assert got["status"] == "FINISHED", got
    assert stats["callsPlaced"] == 3 and stats["callsRemaining"] == 0, stats
    assert stats["busyCount"] == 1 and stats["answeringMachineCount"] == 1, stats
    assert calls.status_code == 200
