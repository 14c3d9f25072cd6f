"""``dialplan broadcast`` stats/export/preview on a campaign database, and CLI errors."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.service import run_campaign

from ..broadcast.helpers import fake_runner, write_campaign

ROOT = Path(__file__).resolve().parents[2]

ROWS = [
    {"phone_number": "(212) 555-0101", "first": "Ann", "sim_result": "LA", "sim_inputs": "1"},
    {"phone_number": "(212) 555-0102", "first": "Bob", "sim_result": "LA", "sim_inputs": "2"},
    {"phone_number": "(312) 555-0103", "first": "Cy", "sim_result": "BUSY", "sim_inputs": ""},
    {"phone_number": "bad", "first": "Dee", "sim_result": "", "sim_inputs": ""},
]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dialplan", "broadcast", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cli")
    c = load_campaign(
        write_campaign(
            tmp,
            ROWS,
            tables={"retry_config": {"max_attempts": 2, "minutes_between_attempts": 5}},
        )
    )
    run_campaign(c, tmp / "db.sqlite", runner=fake_runner)
    return tmp / "db.sqlite"


def test_stats_json_uses_callfire_names_and_adds_up(db: Path) -> None:
    out = cli("stats", "test", "--db", str(db), "--format", "json")
    assert out.returncode == 0, out.stderr
    s = json.loads(out.stdout)
    assert s["totalCount"] == 4
    assert (s["liveCount"], s["transferCount"], s["busyCount"], s["errorCount"]) == (2, 1, 1, 1)
    assert s["callsPlaced"] == 4 and s["callsAttempted"] == 3


def test_export_json_contract(db: Path) -> None:
    out = cli("export", "test", "--db", str(db), "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["phone_number"] for r in rows] == [r["phone_number"] for r in ROWS]
    assert [r["final_result"] for r in rows] == ["XFER", "LA", "BUSY", "INVALID"]
    first = rows[0]
    assert first["attributes"] == {"first": "Ann"}
    (attempt,) = first["attempts"]
    assert set(attempt) >= {"result", "q850_cause", "answered_by", "started_at", "duration"}
    assert attempt["answered_by"] == "HUMAN" and attempt["q850_cause"] == 16
    assert attempt["started_at"].endswith("Z")
    assert first["responses"] == [{"question": "tickets", "response": "yes"}]
    assert [a["result"] for a in rows[2]["attempts"]] == ["BUSY", "BUSY"]
    assert rows[3]["attempts"] == []


def test_export_csv_has_one_column_per_question(db: Path) -> None:
    out = cli("export", "test", "--db", str(db), "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["final_result"] for r in rows] == ["XFER", "LA", "BUSY", "INVALID"]
    assert [r["tickets"] for r in rows] == ["yes", "", "", ""]
    assert [r["volunteer"] for r in rows] == ["", "yes", "", ""]
    assert [r["attempts"] for r in rows] == ["1", "1", "2", "0"]
    assert rows[0]["first"] == "Ann"


def test_unknown_campaign_and_missing_db_exit_2(db: Path, tmp_path: Path) -> None:
    out = cli("stats", "nope", "--db", str(db))
    assert out.returncode == 2 and "no campaign 'nope'" in out.stderr and "test" in out.stderr
    out = cli("stats", "test", "--db", str(tmp_path / "absent.sqlite"))
    assert out.returncode == 2 and "no campaign database" in out.stderr


def test_bad_campaign_file_exits_2_with_key(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, ROWS, max_active=-1)
    out = cli("run", str(path), "--db", str(tmp_path / "db.sqlite"), "--no-progress")
    assert out.returncode == 2
    assert (
        "max_active: must be between 1 and 10000, got -1" in out.stderr
        and "Traceback" not in out.stderr
    )


def test_report_command_writes_html_with_the_numbers(db: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "report.html"
    out = cli("report", "test", "--db", str(db), "-o", str(out_file))
    assert out.returncode == 0, out.stderr
    html = out_file.read_text()
    assert html.count("<svg") >= 2
    assert 'data-code="XFER"' in html and 'data-code="BUSY"' in html
    assert "tickets" in html and "volunteer" in html


def test_broken_dialplan_exits_2_before_anything_is_stored(tmp_path: Path) -> None:
    """A bad input of the campaign, like a bad campaign file: exit 2 (issue 13 item 13)."""
    path = write_campaign(tmp_path, ROWS)
    (tmp_path / "plan.xml").write_text("<dialplan><menu><keypress pressed='1'/></menu>")
    db = tmp_path / "db.sqlite"
    out = cli("run", str(path), "--db", str(db), "--no-progress")
    assert out.returncode == 2 and "invalid dialplan" in out.stderr
    assert not db.exists()


def test_stats_text_keeps_names_and_adds_meanings(db: Path) -> None:
    out = cli("stats", "test", "--db", str(db))
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in out.stdout.splitlines()[1:]}
    assert rows["callsAttempted"] == ["3", "numbers dialled at least once"]
    assert rows["callsPlaced"] == ["4", "calls placed, retries included"]
    assert rows["transferCount"][0] == "1" and "XFER" in rows["transferCount"][1]
    # every counter of the JSON contract is listed, each with a meaning
    data = json.loads(cli("stats", "test", "--db", str(db), "--format", "json").stdout)
    assert list(rows) == list(data)
    assert all(len(v) == 2 and v[1] for v in rows.values())
