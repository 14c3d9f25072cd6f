"""Which rows were skipped and why (``preview``, ``export``), ``broadcast list``, and campaign
files accepted where a campaign name is (issue 13 item 17)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import write_campaign

ROOT = Path(__file__).resolve().parents[2]

ROWS = [
    {"phone_number": "(212) 555-0101", "first": "Ann"},
    {"phone_number": "bad", "first": "Bob"},
    {"phone_number": "12", "first": "Cy"},
    {"phone_number": "+44 20 7946 0958", "first": "Dee"},
    {"phone_number": "212.555.0101", "first": "Eve"},
    {"phone_number": "+12125550199", "first": "Fay"},
    {"phone_number": "555-0100", "first": "Gus"},
    {"phone_number": "+1 012 555 0101", "first": "Hal"},
    {"phone_number": "", "first": "Ivy"},
]
REASONS = [
    (2, "bad", "INVALID", "invalid number: the string supplied did not seem to be a phone number"),
    (3, "12", "INVALID", "invalid number: too short"),
    (4, "+44 20 7946 0958", "SKIPPED", "country not allowed: GB"),
    (5, "212.555.0101", "DUP", "duplicate of row 1"),
    (6, "+12125550199", "DNC", "on the do-not-call list"),
    (7, "555-0100", "INVALID", "invalid number: a local number without its area code"),
    (8, "+1 012 555 0101", "INVALID", "invalid number: no such number range in US (+1)"),
    (9, "", "INVALID", "invalid number: empty"),
]


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    if args[0] == "run" and "--report" not in args:  # never into the working tree
        args = (*args, "--report", str(Path(args[1]).with_name("report.html")))
    return subprocess.run(
        [sys.executable, "-m", "dialplan", "broadcast", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("skipped")
    return write_campaign(tmp, ROWS, allowed_countries=["US"], dnc=["+12125550199"])


def test_preview_lists_skipped_rows_with_reasons(campaign: Path) -> None:
    out = cli("preview", str(campaign), "--sample", "0")
    assert out.returncode == 0, out.stderr
    listed = [line for line in out.stdout.splitlines() if line.startswith("  row ")]
    assert listed == [f"  row {n}: {phone!r}: {why}" for n, phone, _, why in REASONS]

    data = json.loads(cli("preview", str(campaign), "--format", "json").stdout)
    assert data["skipped_rows_total"] == len(REASONS)
    assert [
        (s["row"], s["phone_number"], s["final_result"], s["reason"]) for s in data["skipped_rows"]
    ] == REASONS


def test_preview_caps_the_list_and_says_how_many_more(campaign: Path) -> None:
    out = cli("preview", str(campaign), "--sample", "0", "--skipped-rows", "2")
    lines = out.stdout.splitlines()
    assert [line for line in lines if line.startswith("  row ")] == [
        f"  row {n}: {phone!r}: {why}" for n, phone, _, why in REASONS[:2]
    ]
    assert (
        "  … and 6 more skipped rows (all of them: broadcast export, column skip_reason)" in lines
    )


@pytest.fixture(scope="module")
def ran(campaign: Path) -> Path:
    db = campaign.parent / "db.sqlite"
    out = cli("run", str(campaign), "--db", str(db), "--no-progress")
    assert out.returncode == 0, out.stderr
    return db


def test_export_says_why_each_row_was_skipped(campaign: Path, ran: Path) -> None:
    out = cli("export", "test", "--db", str(ran))
    rows = json.loads(out.stdout)
    assert rows[0]["skip_reason"] is None and rows[0]["final_result"] == "LA"
    assert [(r["phone_number"], r["final_result"], r["skip_reason"]) for r in rows[1:]] == [
        (phone, final, why) for _, phone, final, why in REASONS
    ]
    out = cli("export", "test", "--db", str(ran), "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["skip_reason"] for r in table] == ["", *(why for *_, why in REASONS)]


def test_rows_the_schedule_never_reached_say_so(tmp_path: Path) -> None:
    rows = [{"phone_number": f"+1212555{n:04d}", "first": "x"} for n in range(101, 104)]
    path = write_campaign(
        tmp_path,
        rows,
        calls_per_second=0.01,  # one call every 100 s …
        schedules=[  # … in a one-minute window
            {"start_date": "2026-12-01", "stop_date": "2026-12-01"}
            | {"start_time_of_day": "12:00", "stop_time_of_day": "12:01", "time_zone": "UTC"}
        ],
    )
    out = cli("run", str(path), "--db", str(tmp_path / "db.sqlite"), "--no-progress")
    assert out.returncode == 0, out.stderr
    rows_out = json.loads(cli("export", str(path), "--db", str(tmp_path / "db.sqlite")).stdout)
    assert [r["skip_reason"] for r in rows_out] == [None] + [
        "not called: the calling schedules ended first"
    ] * 2


def test_list_shows_every_campaign_of_the_database(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    first = write_campaign(tmp_path / "a", ROWS[:3], name="spring")
    second = write_campaign(tmp_path / "b", ROWS[:1], name="autumn")
    for path in (first, second):
        assert cli("run", str(path), "--db", str(db), "--no-progress").returncode == 0
    data = json.loads(cli("list", "--db", str(db), "--format", "json").stdout)
    assert [(c["name"], c["status"], c["recipients"], c["done"], c["remaining"]) for c in data] == [
        ("spring", "finished", 3, 3, 0),
        ("autumn", "finished", 1, 1, 0),
    ]
    assert data[0]["calls_placed"] == 1 and data[0]["created"].endswith("Z")
    text = cli("list", "--db", str(db)).stdout.splitlines()
    assert text[0].split() == [
        "name",
        "status",
        "recipients",
        "done",
        "remaining",
        "calls",
        "created",
    ]
    assert text[1].split()[:6] == ["spring", "finished", "3", "3", "0", "1"]
    assert len(text) == 3


def test_list_without_a_database_exits_2(tmp_path: Path) -> None:
    out = cli("list", "--db", str(tmp_path / "absent.sqlite"))
    assert out.returncode == 2 and out.stderr.startswith("dialplan: error: no campaign database")


def test_stats_export_report_accept_the_campaign_file(campaign: Path, ran: Path) -> None:
    by_name = cli("stats", "test", "--db", str(ran), "--format", "json").stdout
    assert cli("stats", str(campaign), "--db", str(ran), "--format", "json").stdout == by_name
    assert (
        cli("export", str(campaign), "--db", str(ran)).stdout
        == cli("export", "test", "--db", str(ran)).stdout
    )
    html = campaign.parent / "r.html"
    out = cli("report", str(campaign), "--db", str(ran), "-o", str(html))
    assert out.returncode == 0 and html.is_file()
    # a JSON campaign file, and the default --db (the one `run` uses) in the current directory
    json_file = campaign.parent / "c.json"
    json_file.write_text(json.dumps({"name": "test"}))
    (campaign.parent / "broadcast.sqlite").write_bytes(ran.read_bytes())
    got = cli("stats", "c.json", "--format", "json", cwd=campaign.parent)
    assert got.stdout == by_name, got.stderr


def test_a_campaign_file_without_a_name_exits_2(tmp_path: Path, ran: Path) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text('dialplan = "plan.xml"\n')
    out = cli("stats", str(bad), "--db", str(ran))
    assert out.returncode == 2
    assert out.stderr == f"dialplan: error: {bad}: name: is required (a non-empty string)\n"
