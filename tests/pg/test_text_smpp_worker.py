"""A text campaign on PostgreSQL sent by a worker through the real loopback SMSC (SMPP 3.4):
every number gets its text once, receipts are booked, a STOP is put on the shared list."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

import psycopg
import pytest

from tests.clirun import run
from tools.smsc_peer import LoopbackSmsc

N = 30


def _campaign(tmp: Path, smsc: LoopbackSmsc) -> Path:
    rows = ["phone_number,first"] + [f"+1202555{i:04d},P{i}" for i in range(1, N + 1)]
    (tmp / "r.csv").write_text("\n".join(rows) + "\n")
    path = tmp / "c.toml"
    path.write_text(
        'name = "smpp-pg"\nchannel = "sms"\nrecipients = "r.csv"\n'
        'from_number = "+12025550000"\nmax_active = 8\nmessages_per_second = 20\n'
        'message = "Hello ${contact.first}, this is your reminder."\n'
        f'[smpp]\nport = {smsc.relay_port}\nsystem_id = "esme"\npassword = "pw"\n'
        "reconnect_min_s = 0.05\nreconnect_max_s = 0.2\nreceipt_wait_s = 2.0\n"
        "throttle_wait_s = 0.02\nliveness_s = 0.2\n"
    )
    return path


def test_a_worker_sends_a_text_campaign_through_the_loopback_smsc(
    pg_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LoopbackSmsc() as smsc:
        path = _campaign(tmp_path, smsc)

        def reply_stop() -> None:
            deadline = time.monotonic() + 30
            while not any(s.dest == "12025550001" for s in smsc.segs):
                if time.monotonic() > deadline:
                    return
                time.sleep(0.005)
            smsc.mo("12025550001", "12025550000", "STOP")

        stopper = threading.Thread(target=reply_stop)
        stopper.start()
        code, out, err = run(
            capsys, "broadcast", "run", str(path), "--db", pg_db, "--driver", "smpp",
            "--no-progress", "--report", str(tmp_path / "r.html"), "--format", "json",
        )  # fmt: skip
        stopper.join(5)
        segs = list(smsc.segs)
    assert code == 0, err
    stats = json.loads(out)["stats"]
    assert stats["sentCount"] == N and stats["deliveredCount"] == N  # receipts booked
    per_number = Counter(s.dest for s in segs if s.source == "12025550000")
    assert per_number == {f"1202555{i:04d}": 1 for i in range(1, N + 1)} | {"12025550001": 2}
    with psycopg.connect(pg_db) as conn:
        assert conn.execute("SELECT number FROM text_optouts").fetchall() == [("+12025550001",)]
        assert conn.execute("SELECT dispatch->>'driver' FROM campaigns").fetchone() == ("smpp",)
        (n, segments) = conn.execute("SELECT count(*), sum(segments) FROM texts").fetchone() or ()
        starts = [r[0] for r in conn.execute("SELECT started_at FROM attempts ORDER BY 1")]
    assert (n, segments) == (N, N)
    assert all(b - a >= 0.05 - 1e-6 for a, b in pairwise(starts))  # 20/s
