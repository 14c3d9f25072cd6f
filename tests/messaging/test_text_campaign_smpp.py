"""Text campaigns on the real clock through the SMPP driver and a real loopback SMSC."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.service import run_campaign
from dialplan.messaging.smpp import SmppMessaging
from tools.smsc_peer import LoopbackSmsc

from .test_smpp_driver import config

N = 40


def _campaign(tmp_path: Path, extra: str = "", n: int = N, rate: float = 1000) -> Path:
    rows = ["phone_number,first"] + [f"+1202555{i:04d},P{i}" for i in range(1, n + 1)]
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "c.toml").write_text(
        'name = "smpp-run"\nchannel = "sms"\nrecipients = "r.csv"\n'
        'from_number = "+12025550000"\nmax_active = 8\n'
        f"messages_per_second = {rate}\n"
        'message = "Hello ${contact.first}, this is your reminder."\n' + extra
    )
    return tmp_path / "c.toml"


def _finals(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as c:
        return Counter(r[0] for r in c.execute("SELECT final_result FROM recipients"))


def test_a_throttling_smsc_slows_the_campaign_and_nothing_is_lost(tmp_path: Path) -> None:
    camp = load_campaign(_campaign(tmp_path))
    with LoopbackSmsc(max_per_s=20) as smsc:
        port = SmppMessaging(config(smsc, window=8))
        t0 = time.monotonic()
        run_campaign(camp, tmp_path / "db.sqlite", clock="real", messaging=port)
        elapsed = time.monotonic() - t0
    assert _finals(tmp_path / "db.sqlite") == {"SENT": N}
    assert smsc.throttled > 0 and port.counters.throttled == smsc.throttled
    assert Counter(s.dest for s in smsc.segs) == {f"1202555{i:04d}": 1 for i in range(1, N + 1)}
    assert elapsed >= 1.0  # 40 texts at the SMSC's 20 a second
    with sqlite3.connect(tmp_path / "db.sqlite") as c:
        deliveries = Counter(r[0] for r in c.execute("SELECT delivery FROM texts"))
    assert deliveries == {"DELIVERED": N}  # the receipts reached the store


def test_a_dropped_connection_reconnects_and_nothing_is_sent_twice(tmp_path: Path) -> None:
    camp = load_campaign(_campaign(tmp_path))
    with LoopbackSmsc(delay_s=0.02) as smsc:
        port = SmppMessaging(config(smsc, window=4))

        def cut_midway() -> None:
            while len(smsc.segs) < 15:
                time.sleep(0.005)
            smsc.cut()

        cutter = threading.Thread(target=cut_midway)
        cutter.start()
        run_campaign(camp, tmp_path / "db.sqlite", clock="real", messaging=port)
        cutter.join(5)
    assert smsc.binds >= 2 and port.counters.binds >= 2  # it reconnected
    per_number = Counter(s.dest for s in smsc.segs)
    assert max(per_number.values()) == 1  # nothing was sent twice
    finals = _finals(tmp_path / "db.sqlite")
    # a text in flight when the line broke is booked INTERNAL_ERROR, never resubmitted
    assert set(finals) <= {"SENT", "INTERNAL_ERROR"}
    assert finals["INTERNAL_ERROR"] == port.counters.uncertain <= 4
    assert finals["SENT"] >= N - 4
    with sqlite3.connect(tmp_path / "db.sqlite") as c:
        sent = {r[0].lstrip("+") for r in c.execute(
            "SELECT e164 FROM recipients WHERE final_result = 'SENT'")}  # fmt: skip
    assert sent <= set(per_number)


def test_stop_over_smpp_opts_out_confirms_once_and_is_never_texted_again(tmp_path: Path) -> None:
    path = _campaign(tmp_path, n=3, rate=3)
    camp = load_campaign(path)
    with LoopbackSmsc() as smsc:
        port = SmppMessaging(config(smsc))
        db = tmp_path / "db.sqlite"

        def reply_stop() -> None:
            while not any(s.dest == "12025550001" for s in smsc.segs):
                time.sleep(0.005)
            smsc.mo("12025550001", "12025550000", "stop")
            smsc.mo("12025550001", "12025550000", "STOP")  # a second STOP: no second confirmation
            smsc.mo("12025550002", "12025550000", "STOP please")  # not a keyword

        t = threading.Thread(target=reply_stop)
        t.start()
        run_campaign(camp, db, clock="real", messaging=port)
        t.join(5)
        confirmations = [
            s for s in smsc.segs if s.source == "12025550000" and s.dest == "12025550001"
        ]
        # the campaign's text and exactly one confirmation
        assert len(confirmations) == 2
        assert "unsubscribed" in smsc.text_of([confirmations[-1]])
        with sqlite3.connect(db) as c:
            optouts = list(c.execute("SELECT from_number, number FROM text_optouts"))
        assert optouts == [("+12025550000", "+12025550001")]
        # a later campaign from the same number skips it
        path2 = tmp_path / "c2.toml"
        path2.write_text(path.read_text().replace('"smpp-run"', '"smpp-run-2"'))
        before = len(smsc.segs)
        run_campaign(load_campaign(path2), db, clock="real", messaging=SmppMessaging(config(smsc)))
        again = [s.dest for s in smsc.segs[before:]]
    assert "12025550001" not in again and sorted(again) == ["12025550002", "12025550003"]
    with sqlite3.connect(db) as c:
        finals = dict(c.execute(
            "SELECT r.e164, r.final_result FROM recipients r JOIN campaigns k"
            " ON k.id = r.campaign_id WHERE k.name = 'smpp-run-2'"))  # fmt: skip
    assert finals["+12025550001"] == "DNT"
