"""The ``call_controls`` queue between the servers of a PostgreSQL service, in one process: two
desks (two server ids) on a real database, the simulated runner as the owner's (it answers every
control with 409, which is an outcome like any other)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from dialplan.service.controls import ControlDesk, Outcome, decode, encode
from dialplan.service.pgstorage import MIGRATIONS, SCHEMA_VERSION, PgDatabase
from dialplan.service.runner import HangUp, PlayAudio, SimulatedCallRunner
from dialplan.service.sql import open_database
from dialplan.service.storage import now

SIMULATED = "simulated calls run in virtual time"


@pytest.fixture
def db(pg_dsn: str) -> Iterator[PgDatabase]:
    opened = open_database(pg_dsn)
    assert isinstance(opened, PgDatabase)
    yield opened
    opened.close()


@pytest.fixture
def runner() -> Iterator[SimulatedCallRunner]:
    running = SimulatedCallRunner(workers=1)
    yield running
    running.close()


def _desk(db: PgDatabase, owner: str, runner: SimulatedCallRunner, **kw: float) -> ControlDesk:
    return ControlDesk(db, db.dsn, owner, runner, **kw)


def _rows(dsn: str) -> list[tuple[str, str, str | None]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT id, state, outcome FROM dialplan_service.call_controls ORDER BY created_at"
        ).fetchall()
    return [(str(i), str(s), o) for i, s, o in rows]


def test_commands_are_stored_as_plain_json_and_read_back_alike() -> None:
    for command in (HangUp(), PlayAudio("tts", "Hello", "female1", "p2"), PlayAudio("url", "u")):
        assert decode(encode(command)) == command


def test_a_forwarded_control_is_run_by_the_owner_and_its_outcome_returned(
    db: PgDatabase, runner: SimulatedCallRunner, pg_dsn: str
) -> None:
    owner, other = _desk(db, "srv_a", runner), _desk(db, "srv_b", runner)
    owner.start()
    other.start()
    try:
        started = time.monotonic()
        outcome = other.forward("call_1", "srv_a", HangUp())
        took = time.monotonic() - started
    finally:
        other.close()
        owner.close()
    assert (outcome.status, outcome.kind) == (409, "not-controllable")
    assert SIMULATED in outcome.detail
    assert took < 1.0  # woken by NOTIFY, not by the 1 s poll
    [(_, state, stored)] = _rows(pg_dsn)
    assert state == "done" and stored is not None
    assert Outcome.from_json(stored) == outcome


def test_a_command_whose_notification_was_lost_is_found_by_the_poll(
    db: PgDatabase, runner: SimulatedCallRunner, pg_dsn: str
) -> None:
    owner = _desk(db, "srv_a", runner, poll_s=0.3)
    owner.start()
    try:
        with db.connect() as conn:  # queued without its NOTIFY
            conn.execute(
                "INSERT INTO call_controls (id, call_id, owner, command, state, created_at,"
                " deadline) VALUES ('ctl_1', 'call_1', 'srv_a', ?, 'pending', ?, ?)",
                (encode(HangUp()), now(), now() + 30),
            )
        deadline = time.monotonic() + 5
        while _rows(pg_dsn)[0][1] != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        owner.close()
    [(_, state, stored)] = _rows(pg_dsn)
    assert state == "done" and stored is not None and SIMULATED in stored


def test_a_command_past_its_deadline_is_never_taken(
    db: PgDatabase, runner: SimulatedCallRunner, pg_dsn: str
) -> None:
    """Its requester died before it could cancel it: the owner still never runs it late."""
    with db.connect() as conn:
        conn.execute(
            "INSERT INTO call_controls (id, call_id, owner, command, state, created_at,"
            " deadline) VALUES ('ctl_1', 'call_1', 'srv_a', ?, 'pending', ?, ?)",
            (encode(HangUp()), now() - 10, now() - 5),
        )
    owner = _desk(db, "srv_a", runner, poll_s=0.2)
    owner.start()
    time.sleep(0.6)  # a start's look and a few polls
    owner.close()
    assert [state for _, state, _ in _rows(pg_dsn)] == ["pending"]


def test_an_owner_that_does_not_take_it_in_time_gets_it_cancelled_for_good(
    db: PgDatabase, runner: SimulatedCallRunner, pg_dsn: str
) -> None:
    other = _desk(db, "srv_b", runner, ack_wait_s=0.5)
    other.start()
    try:
        started = time.monotonic()
        outcome = other.forward("call_1", "srv_a", HangUp())  # srv_a is not listening
        took = time.monotonic() - started
    finally:
        other.close()
    assert (outcome.status, outcome.kind, outcome.retry_after_s) == (503, "owner-unavailable", 1)
    assert 0.5 <= took < 1.5
    with db.connect() as conn:  # the cancel alone keeps it from running, not the deadline too
        conn.execute("UPDATE call_controls SET deadline = ?", (now() + 30,))
    owner = _desk(db, "srv_a", runner, poll_s=0.2)
    owner.start()  # the owner is back: it looks for its commands at once
    time.sleep(0.6)
    owner.close()
    assert [(state, stored) for _, state, stored in _rows(pg_dsn)] == [("cancelled", None)]


def test_a_database_of_the_release_before_gets_the_call_controls_table(pg_dsn: str) -> None:
    number = next(n for n, m in enumerate(MIGRATIONS, 1) if "TABLE call_controls" in m)
    open_database(pg_dsn).close()
    with psycopg.connect(pg_dsn, autocommit=True) as conn:  # back to the schema before, a call
        conn.execute("DROP TABLE dialplan_service.call_controls")
        conn.execute("DELETE FROM dialplan_service.schema_migrations WHERE version = %s", (number,))
        conn.execute(
            "INSERT INTO dialplan_service.calls (id, account, flow_id, flow_version, request,"
            " status, created_at) VALUES ('call_old', 'acme', 'flw_1', 1, '{}', 'queued', 1.0)"
        )
    upgraded = open_database(pg_dsn)
    try:
        with upgraded.connect() as conn:
            assert conn.execute("SELECT count(*) FROM call_controls").fetchone()[0] == 0
            assert conn.execute("SELECT id FROM calls").fetchone()[0] == "call_old"
            versions = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
    finally:
        upgraded.close()
    assert versions == SCHEMA_VERSION


def test_an_owner_whose_listening_connection_drops_still_takes_its_commands(
    db: PgDatabase, runner: SimulatedCallRunner, pg_dsn: str
) -> None:
    owner, other = _desk(db, "srv_a", runner, poll_s=0.3), _desk(db, "srv_b", runner)
    owner.start()
    other.start()
    try:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:  # the LISTENing sessions die
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            ).fetchone()
        outcome = other.forward("call_1", "srv_a", HangUp())
    finally:
        other.close()
        owner.close()
    assert killed is not None and killed[0] == 2
    assert (outcome.status, outcome.kind) == (409, "not-controllable")
