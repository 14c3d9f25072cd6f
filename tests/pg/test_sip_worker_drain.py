"""A SIP ``broadcast worker`` drains with a bound (SIPp UAS on 127.0.0.1): a campaign stopped in
the store, or a SIGTERM, lets the calls go on for ``--drain-timeout`` seconds, then answered
calls get our BYE (booked ``LA``; the dialplan's hangup ``<catch>`` runs) and ringing ones our
CANCEL (``NO_ANS``, 19) — never ``INTERNAL_ERROR``; a resumed campaign's new calls live on."""

from __future__ import annotations

import csv
import json
import signal
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.pg.service import load
from tests.sip.conftest import require, sipp, uas  # noqa: F401 (sipp: the fixture)

from .test_campaign_workers import _dials, _worker

pytestmark = pytest.mark.sip

#: waits a minute on the line, then stashes ``waited``; a hang-up stashes ``line=lost``
PLAN = """<dialplan name="Root">
  <catch type="hangup" goto="gone">
    <wait>60</wait>
    <stash varname="waited">yes</stash>
  </catch>
  <hangup/>
  <stash name="gone" varname="line">lost</stash>
</dialplan>
"""


def _campaign(tmp: Path, hostport: str, count: int) -> Path:
    with (tmp / "recipients.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["phone_number"])
        writer.writerows([f"+1212555{i:04d}"] for i in range(count))
    (tmp / "plan.xml").write_text(PLAN)
    path = tmp / "campaign.toml"
    path.write_text(
        "\n".join(
            [
                'name = "sip-drain"',
                'dialplan = "plan.xml"',
                'recipients = "recipients.csv"',
                'from_number = "+12125550100"',
                'answering_machine_config = "LIVE_IMMEDIATE"',
                "max_active = 2",
                "calls_per_second = 50",
                "[retry_config]",
                "max_attempts = 1",
                "[sip]",
                f'proxy = "{hostport}"',
            ]
        )
        + "\n"
    )
    return path


def _query(db: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db, autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def _in_flight(db: str) -> int:
    return int(_query(db, "SELECT count(*) FROM attempts WHERE result IS NULL")[0][0])


def _attempts(db: str) -> int:
    return int(_query(db, "SELECT count(*) FROM attempts")[0][0])


def _wait(what: Any, timeout: float = 30) -> float:
    began = time.monotonic()
    while not what():
        assert time.monotonic() - began < timeout, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - began


def _booked(db: str) -> list[tuple[str, int, str]]:
    """(result, Q.850 cause, what the dialplan stashed) of every attempt."""
    return [
        (str(r), int(c), ",".join(f"{q}={v}" for q, v in answers or []))
        for r, c, answers in _query(
            db,
            "SELECT a.result, a.q850_cause, (SELECT array_agg(ARRAY[p.question, p.response])"
            " FROM responses p WHERE p.recipient_id = a.recipient_id"
            " AND p.attempt_no = a.attempt_no) FROM attempts a ORDER BY a.started_at",
        )
    ]


@pytest.mark.slow
def test_a_stopped_sip_campaign_is_hung_up_with_a_bye_after_the_drain_timeout(
    sipp: Any,  # noqa: F811
    pg_db: str,
    tmp_path: Path,
) -> None:
    require("sipp")
    peer = sipp(uas(), calls=4, timeout_s=120)  # answers, then waits for our BYE
    path = _campaign(tmp_path, peer.hostport, 4)
    load(load_campaign(path), pg_db, "real", driver="sip")
    log = tmp_path / "dials.log"
    worker = _worker(pg_db, log, "--driver", "sip", "--forever", "--drain-timeout", "1")
    try:
        _wait(lambda: _in_flight(pg_db) == 2)
        time.sleep(0.5)  # answered: the dialplan waits on the line
        _query(pg_db, "UPDATE campaigns SET state = 'paused' RETURNING id")  # the API's stop
        took = _wait(lambda: _in_flight(pg_db) == 0)
        assert 0.8 < took < 5, took  # not the minute the dialplan would have waited
        # hung up by us: answered (LA, 16), and the dialplan heard the line drop
        assert _booked(pg_db) == [("LA", 16, "line=lost")] * 2

        _query(pg_db, "UPDATE campaigns SET state = 'running' RETURNING id")  # started again
        _wait(lambda: _attempts(pg_db) == 4 and _in_flight(pg_db) == 2)
        time.sleep(2.0)
        assert _in_flight(pg_db) == 2  # a fresh driver: the new calls are not hung up at once
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, err
    assert json.loads(out)["calls_hung_up"] == 4
    assert _booked(pg_db) == [("LA", 16, "line=lost")] * 4
    dials = _dials(log)
    assert len(dials) == len(set(dials)) == 4
    assert peer.wait(10) == 0  # SIPp saw each call end with our BYE


@pytest.mark.slow
def test_sigterm_cancels_ringing_sip_calls_after_the_drain_timeout(
    sipp: Any,  # noqa: F811
    pg_db: str,
    tmp_path: Path,
) -> None:
    require("sipp")
    peer = sipp(uas(status=0), calls=2, timeout_s=120)  # rings until it is CANCELled
    path = _campaign(tmp_path, peer.hostport, 2)
    load(load_campaign(path), pg_db, "real", driver="sip")
    worker = _worker(pg_db, tmp_path / "dials.log", "--driver", "sip", "--drain-timeout", "1")
    try:
        _wait(lambda: _in_flight(pg_db) == 2)
        began = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
        took = time.monotonic() - began
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, err
    assert 0.8 < took < 6, took  # not the ring timeout
    assert _booked(pg_db) == [("NO_ANS", 19, "")] * 2  # CANCEL → 487, as at a ring timeout
    assert json.loads(out)["calls_hung_up"] == 2
    assert peer.wait(10) == 0  # SIPp saw each CANCEL
