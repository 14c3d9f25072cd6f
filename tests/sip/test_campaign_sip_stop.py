"""A graceful stop over real SIP calls (SIPp UAS on 127.0.0.1): the answered calls in flight
run to their end and are booked with what the dialplan did; after the drain timeout they are
hung up (BYE) and booked as a hang-up — the dialplan's hangup catch runs — never
INTERNAL_ERROR; the next run calls the rest, nobody twice."""

from __future__ import annotations

import contextlib
import csv
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dialplan.broadcast.campaign import Campaign, load_campaign
from dialplan.broadcast.service import RunReport, load_dialplan, run_campaign
from dialplan.broadcast.stopping import StopRequest
from dialplan.broadcast.telephony.sip import SipCampaignDriver

from .conftest import require, uas

pytestmark = pytest.mark.sip

#: waits ``{wait}`` s on the line, then stashes ``waited``; a hang-up stashes ``line=lost``
PLAN = """<dialplan name="Root">
  <catch type="hangup" goto="gone">
    <wait>{wait}</wait>
    <stash varname="waited">yes</stash>
  </catch>
  <hangup/>
  <stash name="gone" varname="line">lost</stash>
</dialplan>
"""


def _campaign(tmp: Path, hostport: str, count: int, wait_s: int) -> Campaign:
    with (tmp / "recipients.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["phone_number"])
        writer.writerows([f"+1212555{i:04d}"] for i in range(count))
    (tmp / "plan.xml").write_text(PLAN.format(wait=wait_s))
    path = tmp / "campaign.toml"
    path.write_text(
        "\n".join(
            [
                'name = "sip-stop"',
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
    return load_campaign(path)


def _run(camp: Campaign, db: Path, stop: StopRequest | None, drain_s: float) -> RunReport:
    driver = SipCampaignDriver(camp, load_dialplan(camp))
    return run_campaign(camp, db, driver=driver, clock="real", stop=stop, drain_s=drain_s)


def _in_flight(db: Path) -> set[tuple[int, int]]:
    """The calls in flight; none while the run has not created the file or its tables yet
    (the file exists before the schema does: polling it then met "no such table")."""
    if not db.exists():
        return set()
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=5)) as con:
            return set(con.execute("SELECT recipient_id, attempt_no FROM in_flight"))
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return set()
        raise


def _stop_when_calls_are_up(
    camp: Campaign, db: Path, drain_s: float
) -> tuple[RunReport, set[tuple[int, int]], float]:
    stop = StopRequest()
    reports: list[RunReport] = []
    thread = threading.Thread(target=lambda: reports.append(_run(camp, db, stop, drain_s)))
    thread.start()
    deadline = time.monotonic() + 30
    up: set[tuple[int, int]] = set()
    while len(up) < 2:
        assert time.monotonic() < deadline, "the calls never started"
        time.sleep(0.05)
        up = _in_flight(db)
    time.sleep(0.5)  # answered: the dialplan is waiting on the line
    began = time.monotonic()
    stop.request()
    thread.join(60)
    assert not thread.is_alive()
    return reports[0], up, time.monotonic() - began


def _booked(db: Path) -> dict[tuple[int, int], tuple[str, tuple[tuple[str, str], ...]]]:
    with sqlite3.connect(db) as con:
        out = {}
        for r, n, result in con.execute("SELECT recipient_id, attempt_no, result FROM attempts"):
            answers = con.execute(
                "SELECT question, response FROM responses WHERE recipient_id = ?"
                " AND attempt_no = ?",
                (r, n),
            ).fetchall()
            out[(r, n)] = (result, tuple(answers))
        return out


def test_stop_lets_answered_calls_end_then_resumes(sipp: Any, tmp_path: Path) -> None:
    require("sipp")
    peer = sipp(uas(), calls=4, timeout_s=90)  # answers, then waits for our BYE
    camp = _campaign(tmp_path, peer.hostport, 4, wait_s=3)
    db = tmp_path / "b.sqlite"
    report, up, took = _stop_when_calls_are_up(camp, db, drain_s=60)
    assert report.stopped
    assert 1.5 < took < 10  # the 3 s waits ran out on the line
    booked = _booked(db)
    assert set(booked) == up  # nobody new was dialled after the stop
    assert set(booked.values()) == {("LA", (("waited", "yes"),))}

    again = _run(camp, db, None, 30)
    assert not again.stopped
    booked = _booked(db)
    assert len(booked) == 4 and {n for _, n in booked} == {1}
    assert set(booked.values()) == {("LA", (("waited", "yes"),))}
    assert peer.wait(10) == 0  # SIPp saw 4 complete calls


def test_the_drain_timeout_hangs_up_answered_calls(sipp: Any, tmp_path: Path) -> None:
    require("sipp")
    peer = sipp(uas(), calls=2, timeout_s=90)
    camp = _campaign(tmp_path, peer.hostport, 2, wait_s=60)
    db = tmp_path / "b.sqlite"
    report, up, took = _stop_when_calls_are_up(camp, db, drain_s=0.5)
    assert report.stopped
    assert took < 5  # not the 60 s the dialplan would have waited
    booked = _booked(db)
    assert set(booked) == up
    # hung up by us: answered (LA, Q.850 16), and the dialplan heard the line drop
    assert set(booked.values()) == {("LA", (("line", "lost"),))}
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM in_flight").fetchone() == (0,)
    assert peer.wait(10) == 0  # each call ended with our BYE


def test_the_drain_timeout_cancels_ringing_calls(sipp: Any, tmp_path: Path) -> None:
    require("sipp")
    peer = sipp(uas(status=0), calls=2, timeout_s=90)  # rings until it is CANCELled
    camp = _campaign(tmp_path, peer.hostport, 2, wait_s=3)
    db = tmp_path / "b.sqlite"
    report, up, took = _stop_when_calls_are_up(camp, db, drain_s=0.5)
    assert report.stopped and len(up) == 2
    assert took < 5  # not the ring timeout
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT result, q850_cause, answered_at FROM attempts").fetchall()
        assert con.execute("SELECT COUNT(*) FROM in_flight").fetchone() == (0,)
    assert rows == [("NO_ANS", 19, None)] * 2  # CANCEL → 487, as at a ring timeout
    assert peer.wait(10) == 0  # SIPp saw each CANCEL
