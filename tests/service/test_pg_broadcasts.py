"""The service's broadcasts on the PostgreSQL campaign store, called by real ``broadcast worker``
processes (a throwaway PostgreSQL server; workers are ``python -m dialplan broadcast worker``
subprocesses; the server process never calls)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from dialplan.service.broadcasts import (
    BroadcastInput,
    Broadcasts,
    BroadcastSettings,
    CallFilter,
    Recipient,
)
from dialplan.service.problems import ProblemError
from dialplan.service.storage import Database

ROOT = Path(__file__).resolve().parents[2]
XML = (ROOT / "examples" / "charity-drive.xml").read_text()
#: a short call: a lived (real-clock) simulated call lasts a few seconds
SHORT = '<dialplan name="T"><play type="tts">Hello there</play></dialplan>'
#: a short call that asks (``sim_inputs`` "1" answers)
MENU = """<dialplan name="Ask"><menu name="Question" maxDigits="1" timeout="2">
  <play type="tts">Press one</play>
  <keypress pressed="1"><stash varname="tickets">yes</stash><hangup/></keypress>
</menu></dialplan>"""
SCRIPT = ("LA", "BUSY", "AM", "LA", "NO_ANS", "LA", "CARRIER_ERROR", "AM")


def people(n: int, first: int = 0, script: tuple[str, ...] = SCRIPT) -> list[Recipient]:
    return [
        Recipient(
            f"+1212555{1000 + i:04d}",
            {"first_name": f"n{i}", "sim_result": script[i % len(script)], "sim_inputs": "1"},
        )
        for i in range(first, first + n)
    ]


def settings(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Gala",
        "fromNumber": "+12125550100",
        "retryConfig": {"maxAttempts": 2, "minutesBetweenAttempts": 1},
        **extra,
    }


def layer_on(tmp: Path, dsn: str | None, **kw: Any) -> Broadcasts:
    tmp.mkdir(parents=True, exist_ok=True)
    return Broadcasts(
        Database(tmp / "service.sqlite"),
        BroadcastSettings(home=tmp / "broadcasts", store_dsn=dsn, **kw),
    )


class Workers:
    """``broadcast worker --forever`` subprocesses, stopped with SIGTERM at the end."""

    def __init__(self, dsn: str, log: Path) -> None:
        self.dsn, self.log = dsn, log
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, n: int, *extra: str) -> None:
        argv = [sys.executable, "-m", "dialplan", "broadcast", "worker", "--db", self.dsn]
        argv += ["--forever", "--lease", "3", "--dial-log", str(self.log), *extra]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        pipe = subprocess.PIPE
        for _ in range(n):
            proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=pipe, stderr=pipe, text=True)
            self.procs.append(proc)

    def stop(self) -> list[str]:
        errors = []
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                _, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
            if p.returncode != 0:
                errors.append(f"exit {p.returncode}: {err[-2000:]}")
        self.procs = []
        return errors

    def dials(self) -> list[tuple[int, int]]:
        if not self.log.is_file():
            return []
        return [
            (int(p[1]), int(p[2]))
            for p in (line.split() for line in self.log.read_text().splitlines())
        ]


@pytest.fixture
def workers(pg_db: str, tmp_path: Path) -> Iterator[Workers]:
    w = Workers(pg_db, tmp_path / "dials.log")
    yield w
    assert w.stop() == []


def wait_for(what: Any, timeout: float = 60, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def status(layer: Broadcasts, account: str, bid: int) -> str:
    return layer.get(account, bid).status


def results_of(layer: Broadcasts, account: str, bid: int) -> dict[str, str | None]:
    calls, _ = layer.calls(account, bid, CallFilter(), 1000, 0)
    return {row.phone: row.final_result for _, row in calls}


def test_a_broadcast_on_postgres_finishes_with_two_workers_and_the_sqlite_stats(
    pg_db: str, tmp_path: Path, workers: Workers
) -> None:
    spec = BroadcastInput(settings(), dialplan_xml=XML, recipients=people(16))
    lite = layer_on(tmp_path / "lite", None)
    try:
        ref = lite.create("acme", spec, start=True)
        wait_for(lambda: status(lite, "acme", ref.id) == "FINISHED")
        want_stats = lite.stats("acme", ref.id)
        want_results = results_of(lite, "acme", ref.id)
        out = io.StringIO()
        lite.export("acme", ref.id, "json", out)
        want_export = [(r["phone_number"], r["final_result"]) for r in json.loads(out.getvalue())]
    finally:
        lite.close()

    layer = layer_on(tmp_path / "pg", pg_db)
    try:
        b = layer.create("acme", spec, start=True)
        time.sleep(1.0)  # no worker yet: nobody calls, the server least of all
        assert status(layer, "acme", b.id) == "RUNNING"
        assert layer.stats("acme", b.id)["callsPlaced"] == 0
        assert [x.id for x in layer.find("acme", running=True)[0]] == [b.id]
        before = layer.progress("acme", b.id)
        assert (before.status, before.done, before.total) == ("RUNNING", 0, 16)
        workers.start(2)
        # the dashboard's event stream: the next snapshot once the workers booked something
        t0 = time.monotonic()
        moved = layer.wait_progress("acme", b.id, after=before.version, timeout=30)
        assert moved.version > before.version and moved.done > 0
        assert time.monotonic() - t0 < 30
        wait_for(lambda: status(layer, "acme", b.id) == "FINISHED")
        assert layer.find("acme", running=True)[1] == 0
        assert [x.id for x in layer.find("acme", running=False)[0]] == [b.id]
        assert layer.stats("acme", b.id) == want_stats
        assert results_of(layer, "acme", b.id) == want_results
        busy, n = layer.calls("acme", b.id, CallFilter(results=frozenset({"BUSY"})), 100, 0)
        assert n == 2 and {row.final_result for _, row in busy} == {"BUSY"}
        assert all(len(row.records) == 2 for _, row in busy)  # retried once
        done, n = layer.calls("acme", b.id, CallFilter(states=frozenset({"FINISHED"})), 5, 0)
        assert n == 16 and len(done) == 5
        live = [row for _, row in layer.calls("acme", b.id, CallFilter(), 100, 0)[0]]
        answered = [r for r in live if r.final_result == "XFER"]
        assert answered and answered[0].records[-1].responses == (("tickets", "yes"),)
        out = io.StringIO()
        layer.export("acme", b.id, "json", out)
        got = [(r["phone_number"], r["final_result"]) for r in json.loads(out.getvalue())]
        assert got == want_export
        csv = io.StringIO()
        layer.export("acme", b.id, "csv", csv)
        assert len(csv.getvalue().splitlines()) == 17
        assert "<html" in layer.report_html("acme", b.id).lower()
        snap = layer.progress("acme", b.id)
        assert (snap.status, snap.phase, snap.done, snap.total) == ("FINISHED", "finished", 16, 16)
        one = live[0]
        assert layer.call("acme", one.recipient_id)[1].phone == one.phone
        # another account sees nothing of it
        with pytest.raises(ProblemError) as missing:
            layer.get("other", b.id)
        assert missing.value.status == 404
        with pytest.raises(ProblemError):
            layer.call("other", one.recipient_id)
        assert layer.find("other")[1] == 0

        # more people for the finished broadcast: called once it is started again
        layer.add_recipients("acme", b.id, people(2, first=100, script=("LA",)))
        time.sleep(2.5)  # the workers look for running campaigns every second
        assert status(layer, "acme", b.id) == "FINISHED"
        assert layer.stats("acme", b.id)["totalCount"] == 18
        assert layer.stats("acme", b.id)["callsPlaced"] == want_stats["callsPlaced"]
        layer.start("acme", b.id)
        wait_for(lambda: status(layer, "acme", b.id) == "FINISHED")
        assert layer.progress("acme", b.id).done == 18
        changed = layer.update("acme", b.id, BroadcastInput({"maxActive": 4}))
        assert (changed.status, changed.settings["maxActive"]) == ("FINISHED", 4)
        assert layer.archive("acme", b.id).status == "ARCHIVED"
    finally:
        layer.close()
    dials = workers.dials()
    assert len(dials) == len(set(dials)) == want_stats["callsPlaced"] + 2


def _in_flight(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM attempts WHERE result IS NULL").fetchone()
    return int(row[0]) if row else 0


def _gate(dsn: str) -> tuple[int, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT max_active, spacing_ms FROM dial_gates").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _started(dsn: str) -> list[tuple[float, bool]]:
    """(start, answered a question) of every attempt."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [
            (float(r[0]), bool(r[1]))
            for r in conn.execute(
                "SELECT a.started_at, EXISTS (SELECT 1 FROM responses p WHERE"
                " p.recipient_id = a.recipient_id AND p.attempt_no = a.attempt_no)"
                " FROM attempts a ORDER BY a.started_at"
            )
        ]


def _booked(dsn: str) -> list[tuple[int, int, str]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [
            (int(r[0]), int(r[1]), str(r[2]))
            for r in conn.execute(
                "SELECT recipient_id, attempt_no, result FROM attempts WHERE result IS NOT NULL"
            )
        ]


def test_stop_lets_calls_in_flight_end_and_start_resumes_after_a_server_restart(
    pg_db: str, tmp_path: Path, workers: Workers
) -> None:
    """Real clock, lived simulated calls: stop while calls are in flight → the broadcast reads
    RUNNING (phase ``stopping``) until they have ended with their own results (no
    INTERNAL_ERROR), then STOPPED, as a drain on SQLite; nothing new is dialled; a new server
    process (the old one closed while it drained) does not resume it, and starts it again when
    asked; people added and a new dialplan given while it runs are taken up by the worker;
    nobody is dialled twice."""
    kw: dict[str, Any] = {"clock": "real"}
    layer = layer_on(tmp_path, pg_db, **kw)
    spec = BroadcastInput(
        settings(maxActive=10, callsPerSecond=1, retryConfig={"maxAttempts": 1}),
        dialplan_xml=SHORT,
        recipients=people(8, script=("LA",)),
    )
    b = layer.create("acme", spec, start=True)
    workers.start(1, "--clock", "real")
    try:
        wait_for(lambda: _in_flight(pg_db) > 0, step=0.02)
        ringing = CallFilter(states=frozenset({"SELECTED"}))
        assert layer.calls("acme", b.id, ringing, 10, 0)[1] >= 1  # an attempt in flight
        assert layer.calls("acme", b.id, CallFilter(states=frozenset({"READY"})), 10, 0)[1] > 0
        # the calls ring 4 s or more: the stop comes while they are up
        assert layer.stop("acme", b.id).status == "RUNNING"
        draining = layer.progress("acme", b.id)
        assert (draining.status, draining.phase) == ("RUNNING", "stopping")
        assert _in_flight(pg_db) > 0
        layer.close()
        layer = layer_on(tmp_path, pg_db, **kw)  # a server restarted while it drains …
        assert layer.recover() == []  # … does not resume a stopped broadcast
        assert status(layer, "acme", b.id) == "RUNNING"
        # the dashboard's and SSE's progress: RUNNING until the last call is booked, then STOPPED
        snap, seen = draining, []
        while snap.status == "RUNNING":
            seen.append((snap.phase, _in_flight(pg_db) > 0))
            snap = layer.wait_progress("acme", b.id, snap.version, timeout=30)
        assert snap.status == "STOPPED" and snap.phase == "stopped"
        assert _in_flight(pg_db) == 0
        assert seen and {phase for phase, _ in seen} == {"stopping"}
        booked = _booked(pg_db)
        assert booked and {r for _, _, r in booked} == {"LA"}  # no INTERNAL_ERROR
        time.sleep(2.5)  # a stopped broadcast gets no new calls
        assert _booked(pg_db) == booked
        assert status(layer, "acme", b.id) == "STOPPED"
        assert layer.progress("acme", b.id).done == len(booked) < 8
    finally:
        layer.close()

    again = layer_on(tmp_path, pg_db, **kw)  # the server restarted
    try:
        assert again.recover() == []
        assert again.start("acme", b.id).status == "RUNNING"
        wait_for(lambda: _in_flight(pg_db) > 0, step=0.02)
        added = again.add_recipients("acme", b.id, people(2, first=50, script=("LA",)))
        assert added.added == 2
        again.update("acme", b.id, BroadcastInput({"maxActive": 7}))  # retunes the dial gate
        assert _gate(pg_db) == (7, 1000)
        # a new dialplan (a question) for the calls placed from now on
        changed = time.time()
        again.update("acme", b.id, BroadcastInput({}, dialplan_xml=MENU))
        again.close()  # and once more, while the workers call
        again = layer_on(tmp_path, pg_db, **kw)
        assert again.recover() == [b.id]
        wait_for(lambda: status(again, "acme", b.id) == "FINISHED", timeout=120)
        assert set(results_of(again, "acme", b.id)) == {
            r.phone_number for r in [*people(8), *people(2, first=50)]
        }
    finally:
        again.close()
    dials = workers.dials()
    assert len(dials) == len({rid for rid, _ in dials}) == 10  # nobody dialled twice
    started = _started(pg_db)
    assert {asked for at, asked in started if at < changed} == {False}  # the old dialplan
    # the new one from some call on, for every call after it: the worker takes the change up
    # at its next look at the campaign (every 0.25 s), and calls it had claimed before that
    # keep the old one (a fixed "1 s after the change" failed on a loaded machine)
    asked = [a for _, a in started]
    switch = asked.index(True)
    assert not any(asked[:switch]) and all(asked[switch:]) and started[switch][0] > changed
    assert {r for _, _, r in _booked(pg_db)} == {"LA"}


#: a call that talks 32 s once answered (after 4–20 s of ringing)
LONG = (
    '<dialplan name="Long"><play type="tts">'
    + "Thank you for giving to the food bank this winter. " * 8
    + "</play></dialplan>"
)


def test_a_stop_drains_for_the_workers_drain_timeout_then_reads_stopped(
    pg_db: str, tmp_path: Path, workers: Workers
) -> None:
    """Long calls, workers with ``--drain-timeout 1``: a stop reads RUNNING while the calls
    are up, the workers hang them up a second later and book them as a hang-up (``LA`` with
    the talk so far, or ``NO_ANS`` while ringing — never ``INTERNAL_ERROR``), then it reads
    STOPPED; ``start`` resumes with the others. A second stop while it drains reads STOPPED at
    once. Nobody is dialled twice."""
    layer = layer_on(tmp_path, pg_db, clock="real")
    spec = BroadcastInput(
        settings(maxActive=3, callsPerSecond=5, retryConfig={"maxAttempts": 1}),
        dialplan_xml=LONG,
        recipients=people(8, script=("LA",)),
    )
    try:
        b = layer.create("acme", spec, start=True)
        workers.start(1, "--clock", "real", "--drain-timeout", "1")
        wait_for(lambda: _in_flight(pg_db) == 3, step=0.02)
        assert layer.stop("acme", b.id).status == "RUNNING"
        took = wait_for_seconds(lambda: status(layer, "acme", b.id) == "STOPPED")
        assert took < 4.0, took  # 1 s of drain, not the 36 s or more of the calls
        assert _in_flight(pg_db) == 0
        first = _booked(pg_db)
        assert len(first) == 3 and {r for _, _, r in first} <= {"LA", "NO_ANS"}

        assert layer.start("acme", b.id).status == "RUNNING"
        wait_for(lambda: _in_flight(pg_db) == 3, step=0.02)
        assert layer.stop("acme", b.id).status == "RUNNING"
        assert layer.stop("acme", b.id).status == "STOPPED"  # the second stop: at once
        assert _in_flight(pg_db) > 0  # the workers still end and book them
        wait_for(lambda: _in_flight(pg_db) == 0, timeout=10)
        booked = _booked(pg_db)
        assert len(booked) == 6 and {r for _, _, r in booked} <= {"LA", "NO_ANS"}
        assert status(layer, "acme", b.id) == "STOPPED"
    finally:
        layer.close()
    dials = workers.dials()
    assert len(dials) == len({rid for rid, _ in dials}) == 6


def wait_for_seconds(what: Any, timeout: float = 60) -> float:
    """Seconds until ``what()`` is true."""
    began = time.monotonic()
    wait_for(what, timeout, step=0.05)
    return time.monotonic() - began


class _Uvicorn(threading.Thread):
    def __init__(self, app: Any) -> None:
        import uvicorn

        super().__init__(daemon=True)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)

    def run(self) -> None:
        self.server.run()

    def url(self) -> str:
        wait_for(lambda: self.server.started, timeout=30, step=0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"


def test_v2_routes_on_a_live_server_with_postgres_workers(
    pg_db: str, tmp_path: Path, workers: Workers
) -> None:
    from dialplan.service.app import Settings, create_app
    from dialplan.service.keys import create_key

    db_path = tmp_path / "service.sqlite"
    app = create_app(Settings(db_path=db_path, broadcasts_home=tmp_path / "broadcasts"))
    layer = layer_on(tmp_path, pg_db)
    app.state.broadcasts = layer  # what ``serve`` builds with a postgresql:// campaign store
    server = _Uvicorn(app)
    server.start()
    try:
        url = server.url()
        _, acme = create_key(Database(db_path), "acme", ["write"])
        _, other = create_key(Database(db_path), "other", ["write"])
        http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {acme}"}, trust_env=False, timeout=30
        )
        body = {
            "name": "Live",
            "fromNumber": "+12125550100",
            "dialplanXml": XML,
            "recipients": [
                {"phoneNumber": r.phone_number, "attributes": dict(r.attributes)} for r in people(6)
            ],
        }
        r = http.post("/v2/calls/broadcasts", params={"start": "true"}, json=body)
        assert r.status_code == 200, r.text
        bid = r.json()["id"]
        assert http.get(f"/v2/calls/broadcasts/{bid}").json()["status"] == "RUNNING"
        workers.start(2)
        wait_for(lambda: http.get(f"/v2/calls/broadcasts/{bid}").json()["status"] == "FINISHED")
        stats = http.get(f"/v2/calls/broadcasts/{bid}/stats").json()
        assert stats["totalCount"] == 6 and stats["busyCount"] == 1
        calls = http.get(f"/v2/calls/broadcasts/{bid}/calls", params={"limit": 100}).json()
        assert calls["totalCount"] == 6
        answers = [
            c for c in calls["items"] if c["records"] and c["records"][-1].get("questionResponses")
        ]
        assert answers[0]["records"][-1]["questionResponses"] == [
            {"question": "tickets", "response": "yes"}
        ]
        export = http.get(f"/v2/calls/broadcasts/{bid}/export")
        assert export.status_code == 200 and len(export.text.splitlines()) == 7
        assert http.get(f"/v2/calls/broadcasts/{bid}/report").status_code == 200
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {other}"}, trust_env=False
        ) as them:
            assert them.get(f"/v2/calls/broadcasts/{bid}").status_code == 404
            assert them.get(f"/v2/calls/broadcasts/{bid}/stats").status_code == 404
            assert them.get("/v2/calls").json()["items"] == []
            assert them.post(f"/v2/calls/broadcasts/{bid}/start").status_code == 404
        http.close()
    finally:
        server.server.should_exit = True
        server.join(10)
        layer.close()


def test_stop_and_start_in_virtual_time(pg_db: str, tmp_path: Path, workers: Workers) -> None:
    """Virtual-time workers leave a stopped campaign at once (its clock stays where it was)
    and take it up again when it is started; the final results are the scripted ones."""
    layer = layer_on(tmp_path, pg_db)
    spec = BroadcastInput(
        settings(callsPerSecond=1, retryConfig={"maxAttempts": 1}),
        dialplan_xml=SHORT,
        recipients=people(300, script=("LA", "BUSY", "AM")),
    )
    try:
        b = layer.create("acme", spec, start=True)
        workers.start(2)
        wait_for(lambda: len(_booked(pg_db)) >= 20, step=0.02)
        layer.stop("acme", b.id)
        wait_for(lambda: _in_flight(pg_db) == 0)
        booked = _booked(pg_db)
        time.sleep(1.5)
        assert _booked(pg_db) == booked and len(booked) < 300
        assert status(layer, "acme", b.id) == "STOPPED"
        layer.start("acme", b.id)
        wait_for(lambda: status(layer, "acme", b.id) == "FINISHED", timeout=120)
        assert layer.stats("acme", b.id)["callsPlaced"] == 300
        assert [r for _, _, r in _booked(pg_db)].count("BUSY") == 100
    finally:
        layer.close()
    dials = workers.dials()
    assert len(dials) == len(set(dials)) == 300


def test_a_text_broadcast_on_postgres_is_sent_by_a_worker_as_on_sqlite(
    pg_db: str, tmp_path: Path, workers: Workers
) -> None:
    """A text broadcast stored by a PostgreSQL server is sent by a worker (the simulated
    messaging driver) and reads back as the same broadcast sent in one process on SQLite."""
    script = ("DELIVERED", "DELIVERED", "CARRIER_ERROR", "UNDELIVERED")
    texts = [
        Recipient(f"+1212555{2000 + i:04d}", {"sim_result": script[i % len(script)]})
        for i in range(8)
    ]
    spec = BroadcastInput(
        {"name": "t", "message": "Doors open at 7", "fromNumber": "+12125550100"},
        recipients=texts,
        channel="sms",
    )
    outcomes = []
    for name, dsn in (("sqlite", None), ("pg", pg_db)):
        layer = layer_on(tmp_path / name, dsn)
        view = layer.view("sms")
        try:
            b = view.create("acme", spec, start=True)
            if dsn is not None:
                workers.start(1)
            wait_for(lambda: status(view, "acme", b.id) != "RUNNING")  # noqa: B023
            assert status(view, "acme", b.id) == "FINISHED"
            outcomes.append((view.stats("acme", b.id), results_of(view, "acme", b.id)))
        finally:
            layer.close()
    assert outcomes[1] == outcomes[0]
    assert (outcomes[0][0]["sentCount"], outcomes[0][0]["deliveredCount"]) == (6, 4), outcomes[0]
