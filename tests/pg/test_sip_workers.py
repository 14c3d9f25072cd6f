"""Two PostgreSQL workers on the real clock call a SIPp UAS on loopback; a webhook receiver
that hangs does not slow dialling (on the real clock and in virtual time)."""

from __future__ import annotations

import csv
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dialplan.broadcast.campaign import Campaign, load_campaign
from dialplan.broadcast.pg.service import arm, load
from dialplan.broadcast.pg.store import PgStore
from tests.sip.conftest import require, sipp, uas  # noqa: F401 (sipp: the fixture)

from .campaigns import scripted
from .test_campaign_workers import _check_rate_and_lines, _dials, _finish, _worker

PLANS = Path(__file__).resolve().parents[1] / "sip" / "plans"


class _Hanging(BaseHTTPRequestHandler):
    """Takes the request and answers only when ``release`` is set."""

    release: threading.Event
    first_at: list[float]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        if not self.first_at:
            self.first_at.append(time.time())
        self.release.wait(60)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hanging() -> Iterator[tuple[str, type[_Hanging]]]:
    handler = type("H", (_Hanging,), {"release": threading.Event(), "first_at": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hang", handler
    finally:
        handler.release.set()
        server.shutdown()
        server.server_close()


def _sessions(dsn: str) -> set[int]:
    """The other client sessions on the database."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return {
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        }


def _state(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        (state,) = conn.execute("SELECT state FROM campaigns").fetchone() or ("",)
        return str(state)


def _arm(dsn: str, campaign: Campaign) -> None:
    """Start the paused campaign (as the service's start does)."""
    with psycopg.connect(dsn) as conn, conn.transaction():
        store = PgStore.on(conn, dsn)
        row = store.campaign(campaign.name)
        assert row is not None and row.state == "paused"
        arm(store, campaign, row, "real", "sip")


def _wait_for(
    done: Callable[[], bool], procs: list[subprocess.Popen[str]], what: str, timeout: float = 120
) -> None:
    """Poll ``done`` while every worker runs; ``timeout`` bounds a worker that never gets there."""
    deadline = time.monotonic() + timeout
    while not done():
        for p in procs:
            assert p.poll() is None, p.communicate()
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def _sip_campaign(tmp: Path, hostport: str, count: int, webhook: str) -> Path:
    with (tmp / "recipients.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["phone_number", "first"])
        writer.writerows([f"+1212555{i:04d}", f"R{i}"] for i in range(count))
    (tmp / "plan.xml").write_text((PLANS / "one_key.xml").read_text())
    path = tmp / "campaign.toml"
    path.write_text(
        "\n".join(
            [
                'name = "sip-workers"',
                'dialplan = "plan.xml"',
                'recipients = "recipients.csv"',
                'from_number = "+12125550100"',
                'answering_machine_config = "LIVE_IMMEDIATE"',
                "max_active = 6",
                "calls_per_second = 4",
                "[sip]",
                f'proxy = "{hostport}"',
                'recordings_dir = "recordings"',
                "[webhook]",
                f'url = "{webhook}"',
                'secret = "s"',
                "[network]",
                "allow_private = true",
            ]
        )
        + "\n"
    )
    return path


@pytest.mark.sip
@pytest.mark.slow
def test_two_sip_workers_share_the_limits_while_the_receiver_hangs(
    sipp: Any,  # noqa: F811
    pg_db: str,
    tmp_path: Path,
    hanging: tuple[str, type[_Hanging]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require("espeak-ng", "sox", "sipp", root=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    url, handler = hanging
    peer = sipp(uas(digits="1", first_digit_ms=300), calls=50, timeout_s=120)
    path = _sip_campaign(tmp_path, peer.hostport, 50, url)
    campaign = load_campaign(path)
    # paused until both workers wait for it: on a loaded machine one may start later than the
    # other takes to dial all 50
    load(campaign, pg_db, "real", driver="sip", start=False)
    log = tmp_path / "dials.log"
    before = _sessions(pg_db)
    argv = ("--driver", "sip", "--max-wait", "1", "--forever")
    procs = [_worker(pg_db, log, *argv) for _ in range(2)]
    try:
        _wait_for(lambda: len(_sessions(pg_db) - before) >= 2, procs, "both workers connected")
        _arm(pg_db, campaign)
        _wait_for(lambda: _state(pg_db) == "finished", procs, "the campaign finished")
        for p in procs:
            p.send_signal(signal.SIGTERM)  # --forever: drained, then the report
        reports = _finish(procs, timeout=120)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(int(str(r["calls"])) > 5 for r in reports)  # both workers dialled
    dials = _dials(log)
    assert len(dials) == len(set(dials)) == 50
    # the receiver hung from its first event on, and calls kept starting all the while
    assert handler.first_at
    starts = [float(ln.split()[3]) for ln in log.read_text().splitlines()]
    assert sum(1 for t in starts if t > handler.first_at[0] + 1) >= 20
    with psycopg.connect(pg_db, autocommit=True) as conn:
        finals = dict(conn.execute("SELECT final_result, count(*) FROM recipients GROUP BY 1"))
        assert finals == {"LA": 50}
        answers = conn.execute("SELECT count(*) FROM responses").fetchone()
        assert answers == (50,)
        _check_rate_and_lines(conn, 4, 6)
        (pending,) = conn.execute(
            "SELECT count(*) FROM outbox WHERE delivered_at IS NULL"
        ).fetchone() or (0,)
        assert pending > 0  # still there for the next worker: nothing lost, nothing blocked
    assert peer.wait(10) == 0


def _schedule(db: str) -> list[tuple[int, int, float]]:
    with psycopg.connect(db, autocommit=True) as conn:
        return [
            (int(a), int(b), float(c))
            for a, b, c in conn.execute(
                "SELECT r.row_no, a.attempt_no, a.started_at FROM attempts a"
                " JOIN recipients r ON r.id = a.recipient_id ORDER BY 1, 2"
            )
        ]


@pytest.mark.slow
def test_virtual_dial_schedule_is_the_same_with_a_hanging_receiver(
    pg_server: Any, tmp_path: Path, hanging: tuple[str, type[_Hanging]]
) -> None:
    url, handler = hanging
    schedules = []
    for name, hook in (("quiet", None), ("hung", url)):
        db = pg_server.dsn()
        with psycopg.connect(db, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}_{id(tmp_path)}")
        db = pg_server.dsn(f"{name}_{id(tmp_path)}")
        path = scripted(tmp_path / name, 300, cps=5, max_active=12, webhook=hook)
        load(load_campaign(path), db, "virtual")
        (report,) = _finish([_worker(db, tmp_path / f"{name}.log", "--max-wait", "0")])
        assert report["campaigns_finished"] == 1
        schedules.append(_schedule(db))
    assert handler.first_at  # the receiver was called, and hung
    assert len(schedules[0]) > 300
    assert schedules[0] == schedules[1]


@pytest.mark.sip
@pytest.mark.slow
def test_a_sip_worker_killed_mid_call_is_booked_once_and_the_other_goes_on(
    sipp: Any,  # noqa: F811
    pg_db: str,
    tmp_path: Path,
    hanging: tuple[str, type[_Hanging]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real-clock version of the 20,000-recipient test: a worker SIGKILLed with calls in
    flight; those attempts end INTERNAL_ERROR (listed in retry_results: called again) and
    nothing else changes."""
    from .test_campaign_workers import _kill_when_busy

    require("espeak-ng", "sox", "sipp", root=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    url, _ = hanging
    peer = sipp(uas(digits="1", first_digit_ms=300), calls=80, timeout_s=120)
    path = _sip_campaign(tmp_path, peer.hostport, 50, url)
    with path.open("a") as fh:
        fh.write('[retry_config]\nretry_results = ["INTERNAL_ERROR"]\nmax_attempts = 2\n')
        fh.write("minutes_between_attempts = 0.01\n")
    load(load_campaign(path), pg_db, "real", driver="sip")
    log = tmp_path / "dials.log"
    procs = [_worker(pg_db, log, "--driver", "sip", "--max-wait", "1") for _ in range(2)]
    try:
        victim, alive = _kill_when_busy(pg_db, procs, min_done=5)
        procs.append(_worker(pg_db, log, "--driver", "sip", "--max-wait", "1"))
        _finish([*alive, procs[-1]], timeout=120)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    dials = _dials(log)
    assert len(dials) == len(set(dials))
    with psycopg.connect(pg_db, autocommit=True) as conn:
        lost = dict(
            conn.execute(
                "SELECT recipient_id, attempt_no FROM attempts"
                " WHERE reason = 'worker lost' AND worker_id = %s",
                (victim,),
            )
        )
        assert lost  # at least one of the two calls in flight at the kill (one may end first)
        finals = conn.execute("SELECT id, final_result, attempts FROM recipients").fetchall()
        for rid, final, attempts in finals:
            if rid in lost:  # retried once (max_attempts 2): answered then
                assert (final, attempts) == ("LA", lost[rid] + 1), (rid, final, attempts)
            else:
                assert (final, attempts) == ("LA", 1), (rid, final, attempts)
        _check_rate_and_lines(conn, 4, 6)
