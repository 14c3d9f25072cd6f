"""The inbound store (schema versions, round trip, outbox) and `dialplan inbound` reports."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from dialplan.cli import cli
from dialplan.inbound.store import MIGRATIONS, CallRecord, InboundStore

DAY = 1796515200.0  # 2026-12-06 00:00 UTC


def fill(path: Path) -> None:
    store = InboundStore(path)
    store.save(
        CallRecord(
            "a",
            "15551230001",
            "15550001111",
            DAY + 3600,
            answered_at=DAY + 3601,
            ended_at=DAY + 3631,
            duration_s=30,
            result="LA",
            outcome="hangup",
            responses=[{"question": "department", "response": "sales"}],
        )
    )
    store.save(
        CallRecord(
            "b",
            "15551230001",
            "15550002222",
            DAY + 7200,
            ended_at=DAY + 7200,
            result="BUSY",
            sip_status=486,
        )
    )
    store.save(
        CallRecord(
            "c",
            "15551230002",
            "15550003333",
            DAY + 86400 + 60,
            answered_at=DAY + 86461,
            ended_at=DAY + 86471,
            duration_s=10,
            result="XFER",
            responses=[{"question": "vip", "response": "=1+1"}],
            recordings=["file:///r/c.wav"],
        )
    )
    store.close()


def test_round_trip_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "in.sqlite"
    fill(path)
    store = InboundStore(path)
    [a] = [c for c in store.calls() if c.call_id == "a"]
    assert a.responses == [{"question": "department", "response": "sales"}]
    assert a.duration_s == 30 and a.out_of_hours is False
    assert [c.call_id for c in store.calls("15551230001", DAY, DAY + 86400)] == ["a", "b"]
    store.close()
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == len(MIGRATIONS)


def test_outbox_protocol(tmp_path: Path) -> None:
    store = InboundStore(tmp_path / "in.sqlite")
    store.add("e1", "http://h/", b"{}", 10.0)
    store.add("e1", "http://h/", b"{}", 10.0)  # idempotent by event id
    assert store.pending_count() == 1 and store.due(9.0, 10) == []
    [event] = store.due(10.0, 10)
    store.retry_later(event.id, 20.0, "HTTP 500")
    assert store.due(15.0, 10) == [] and store.due(20.0, 10)[0].attempts == 1
    store.delivered(event.id, 21.0)
    assert store.pending_count() == 0


def test_stats_export_report_for_a_number_and_dates(tmp_path: Path) -> None:
    db = tmp_path / "in.sqlite"
    fill(db)
    runner = CliRunner()
    out = runner.invoke(
        cli,
        [
            "inbound",
            "stats",
            "--db",
            str(db),
            "--format",
            "json",
            "--number",
            "+1 555 123 0001",
            "--since",
            "2026-12-06",
            "--until",
            "2026-12-06",
        ],
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert (data["calls"], data["answered"], data["results"]) == (2, 1, {"BUSY": 1, "LA": 1})
    assert data["answers"] == {"department": 1} and data["total_duration_s"] == 30
    everything = json.loads(
        runner.invoke(cli, ["inbound", "stats", "--db", str(db), "--format", "json"]).output
    )
    assert everything["calls"] == 3 and everything["transferred"] == 1
    text = runner.invoke(cli, ["inbound", "stats", "--db", str(db)]).output
    assert "calls: 3" in text
    exported = runner.invoke(cli, ["inbound", "export", "--db", str(db), "--since", "2026-12-07"])
    rows = list(csv.DictReader(io.StringIO(exported.output)))
    assert [r["call_id"] for r in rows] == ["c"]
    assert rows[0]["vip"] == "'=1+1"  # not a formula in a spreadsheet
    as_json = json.loads(
        runner.invoke(cli, ["inbound", "export", "--db", str(db), "--format", "json"]).output
    )
    assert as_json[0]["questionResponses"] == [{"question": "department", "response": "sales"}]
    page = tmp_path / "r.html"
    assert (
        runner.invoke(cli, ["inbound", "report", "--db", str(db), "-o", str(page)]).exit_code == 0
    )
    assert "15550003333" in page.read_text() and "<script" not in page.read_text()


def test_bad_dates_and_missing_db_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["inbound", "stats", "--db", str(tmp_path / "none.sqlite")])
    assert missing.exit_code == 2 and "no such database" in missing.output
    db = tmp_path / "in.sqlite"
    fill(db)
    bad = runner.invoke(cli, ["inbound", "stats", "--db", str(db), "--since", "yesterday"])
    assert bad.exit_code == 2 and "--since" in bad.output
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    broken = runner.invoke(cli, ["inbound", "stats", "--db", str(junk)])
    assert broken.exit_code == 2 and "not a usable inbound database" in broken.output
