"""A seeded 2,000-recipient campaign gives exactly the results it gave before the speed work.

The campaign has the benchmark's shape (``tools/bench/broadcast.py``): six time zones, a DNC
list, duplicates, invalid numbers, retries on BUSY/NO_ANS with spacing, a calling window, AMD,
menus with stashes and transfers run by the real engine. Its export, every attempt row (with
its answer and end times) and the campaign's virtual end are hashed and compared with the
figure pinned here. A change to the hot path that changes any result, time or order fails.

Regenerate only for a deliberate change of results: run this file with
``DIALPLAN_PRINT_PIN=1`` and review why the results differ before pasting the new digest.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dialplan.broadcast import loadproc
from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.reporting.stats import export_rows
from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.store.sqlite import Store

N = 2000
PIN = "a8f218d53c5abb636c83081600cac2428fd23a9e7902e0cba8b6d2f31552139a"

AREA_CODES = ["212", "312", "303", "602", "415", "907", "808", "617", "713", "206"]
NAMES = ["Ann", "Bob", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ivy", "Jo"]

PLAN = """<dialplan name="Pinned">
  <amd>
    <live><goto>Menu</goto></live>
    <machine><play type="tts">Hi ${contact.first}, please call us back.</play><hangup/></machine>
  </amd>
  <menu name="Menu" maxDigits="1" timeout="5">
    <play type="tts">Hello ${contact.first}. Press 1 for tickets or 2 to volunteer.</play>
    <keypress pressed="1"><stash varname="tickets">yes</stash>
      <transfer callerid="15555550100">15555550199</transfer></keypress>
    <keypress pressed="2"><stash varname="volunteer">yes</stash><hangup/></keypress>
    <keypress pressed="timeout"><hangup/></keypress>
  </menu>
</dialplan>
"""

CAMPAIGN = """name = "pinned"
dialplan = "plan.xml"
recipients = "recipients.csv"
dnc = "dnc.txt"
from_number = "+12125550100"
answering_machine_config = "AM_AND_LIVE"
max_active = 20
calls_per_second = 2
[retry_config]
max_attempts = 3
minutes_between_attempts = 30
retry_results = ["BUSY", "NO_ANS"]
[local_time_restriction]
begin = "09:00"
end = "20:00"
[simulation]
seed = 7
start = "2026-12-01T12:00:00Z"
[simulation.inputs]
"1" = 1
"2" = 1
"" = 2
"""


def write_inputs(tmp: Path) -> Path:
    rng = random.Random(42)
    (tmp / "plan.xml").write_text(PLAN)
    with (tmp / "recipients.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["phone_number", "first", "member_id", "city"])
        for i in range(N):
            r = rng.random()
            if r < 0.01:
                phone = "555-01"  # invalid
            elif r < 0.03:
                j = i - 1  # the previous row's number, written another way
                phone = f"+1{AREA_CODES[j % 10]}{200 + (j // 10000) % 800:03d}{j % 10000:04d}"
            else:
                area = AREA_CODES[i % 10]
                phone = f"({area}) {200 + (i // 10000) % 800:03d}-{i % 10000:04d}"
            w.writerow([phone, NAMES[i % 10], f"M{i:07d}", "Springfield"])
    with (tmp / "dnc.txt").open("w") as fh:
        for i in range(0, N, 50):
            fh.write(f"+1{AREA_CODES[i % 10]}{200 + (i // 10000) % 800:03d}{i % 10000:04d}\n")
    path = tmp / "campaign.toml"
    path.write_text(CAMPAIGN)
    return path


def digest(db: Path) -> tuple[str, dict[str, int]]:
    store = Store(db)
    try:
        export = list(export_rows(store, "pinned"))
    finally:
        store.close()
    con = sqlite3.connect(db)
    try:
        attempts = con.execute(
            "SELECT recipient_id, attempt_no, started_at, answered_at, ended_at, result,"
            " q850_cause, answered_by, duration, voice_id, reason FROM attempts"
            " ORDER BY recipient_id, attempt_no"
        ).fetchall()
        recipients = con.execute(
            "SELECT id, row_no, e164, region, zone_id, bucket, final_result, attempts, next_at"
            " FROM recipients ORDER BY id"
        ).fetchall()
        responses = con.execute(
            "SELECT recipient_id, attempt_no, question, response FROM responses"
            " ORDER BY recipient_id, attempt_no, question"
        ).fetchall()
        clock = con.execute("SELECT started_at, finished_at FROM campaigns").fetchall()
    finally:
        con.close()
    blob = json.dumps([export, attempts, recipients, responses, clock], sort_keys=True)
    finals: dict[str, int] = {}
    for row in export:
        finals[row["final_result"]] = finals.get(row["final_result"], 0) + 1
    return hashlib.sha256(blob.encode()).hexdigest(), finals


def test_seeded_campaign_results_are_pinned(tmp_path: Path) -> None:
    campaign = load_campaign(write_inputs(tmp_path))
    run_campaign(campaign, tmp_path / "db.sqlite", deliver=False)
    got, finals = digest(tmp_path / "db.sqlite")
    if os.environ.get("DIALPLAN_PRINT_PIN"):
        print(f"\nPIN = {got!r}  # {finals}")
    # every kind of final result is exercised, so the pin covers each path
    assert {"LA", "AM", "XFER", "BUSY", "NO_ANS", "DNC", "DUP", "INVALID"} <= set(finals)
    assert sum(finals.values()) == N
    assert got == PIN


def test_loading_on_a_second_process_gives_the_same_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pinned campaign with its recipients read by the child process (any file size)."""
    monkeypatch.setattr(loadproc, "PARALLEL_BYTES", 0)
    calls: list[int] = []
    real = loadproc.batches_in_child

    def counted(src: Any, size: int, **kw: Any) -> Any:
        calls.append(size)
        return real(src, size, patient=True)  # every row read by the child

    monkeypatch.setattr(loadproc, "batches_in_child", counted)
    campaign = load_campaign(write_inputs(tmp_path))
    run_campaign(campaign, tmp_path / "db.sqlite", deliver=False)
    assert calls  # the child process read the file
    assert digest(tmp_path / "db.sqlite")[0] == PIN
