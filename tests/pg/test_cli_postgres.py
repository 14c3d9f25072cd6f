"""``--db postgresql://…`` on the ``broadcast`` commands: the same answers as SQLite, one-line
errors (exit 2) for a server that is away or a schema that is too new."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest

from tests.clirun import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _demo(tmp: Path) -> Path:
    """The demo campaign (windows, schedules, DNC list, duplicates, retries, answers)."""
    for name in ("charity-drive.toml", "charity-drive.xml", "charity-drive-recipients.csv"):
        shutil.copy(EXAMPLES / name, tmp / name)
    shutil.copy(EXAMPLES / "charity-drive-dnc.txt", tmp / "charity-drive-dnc.txt")
    return tmp / "charity-drive.toml"


def test_stats_export_report_and_list_agree_with_sqlite(
    pg_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _demo(tmp_path)
    lite = str(tmp_path / "b.sqlite")
    for db in (lite, pg_db):
        code, out, err = run(
            capsys, "broadcast", "run", str(path), "--db", db, "--no-progress",
            "--report", str(tmp_path / "r.html"), "--format", "json",
        )  # fmt: skip
        assert code == 0, err
        assert json.loads(out)["stats"]["callsRemaining"] == 0
    answers = {}
    for db in (lite, pg_db):
        outputs = []
        for args in (
            ("stats", "Charity Drive", "--format", "json"),
            ("export", "Charity Drive", "--format", "csv"),
            ("export", "Charity Drive"),
            ("list", "--format", "json"),
        ):
            code, out, err = run(capsys, "broadcast", *args, "--db", db)
            assert code == 0, err
            outputs.append(out)
        code, out, err = run(
            capsys, "broadcast", "report", "Charity Drive", "--db", db,
            "-o", str(tmp_path / f"{len(answers)}.html"),
        )  # fmt: skip
        assert code == 0, err
        answers[db] = outputs
    sqlite_out, pg_out = answers[lite], answers[pg_db]
    assert json.loads(pg_out[0]) == json.loads(sqlite_out[0])
    assert pg_out[1] == sqlite_out[1]  # the CSV export, byte for byte
    assert json.loads(pg_out[2]) == json.loads(sqlite_out[2])
    listed = [json.loads(o) for o in (sqlite_out[3], pg_out[3])]
    for rows in listed:
        for r in rows:
            r.pop("created")
    assert listed[0] == listed[1]
    assert "tickets" in pg_out[1] and "duplicate of row" in pg_out[1]


def test_a_server_that_is_away_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    away = "postgresql://dialplan:secret@127.0.0.1:1/campaigns"
    for args in (
        ("run", str(_demo(tmp_path)), "--no-progress"),
        ("stats", "Charity Drive"),
        ("export", "Charity Drive"),
        ("list",),
        ("worker",),
    ):
        code, out, err = run(capsys, "broadcast", *args, "--db", away)
        assert code == 2, (args, out, err)
        assert err.count("\n") == 1 and "cannot open campaign database" in err, err
        assert "127.0.0.1:1/campaigns" in err and "secret" not in err


def test_a_newer_schema_is_refused(
    pg_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (99, 'future')")
    for args in (("stats", "x"), ("worker",), ("run", str(_demo(tmp_path)), "--no-progress")):
        code, _, err = run(capsys, "broadcast", *args, "--db", pg_db)
        assert code == 2
        assert err.count("\n") == 1 and "schema version 99 is newer" in err, err


def test_a_worker_needs_postgresql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "broadcast", "worker", "--db", str(tmp_path / "b.sqlite"))
    assert code == 2 and "workers need a postgresql:// database" in err


def test_a_second_run_joins_as_a_worker(
    pg_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On SQLite a second run of a held campaign is refused; on PostgreSQL it joins (and a
    run of a finished campaign finds nothing to do)."""
    path = _demo(tmp_path)
    for _ in range(2):
        code, out, err = run(
            capsys, "broadcast", "run", str(path), "--db", pg_db, "--no-progress",
            "--report", str(tmp_path / "r.html"), "--format", "json",
        )  # fmt: skip
        assert code == 0, err
    assert json.loads(out)["resumed"] is True
    with psycopg.connect(pg_db, autocommit=True) as conn:
        (n,) = conn.execute("SELECT count(*) FROM attempts").fetchone() or (0,)
    assert n == 22


def test_add_then_run_calls_only_the_new_people(
    pg_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _demo(tmp_path)
    report = str(tmp_path / "r.html")
    code, _, err = run(capsys, "broadcast", "run", str(path), "--db", pg_db, "--no-progress",
                       "--report", report)  # fmt: skip
    assert code == 0, err
    more = tmp_path / "more.csv"
    more.write_text(
        "phone_number,firstName,lastName,city,sim_result,sim_inputs\n"
        "(212) 555-0101,Maria,Lopez,New York,LA,1\n"  # already in the campaign
        "(212) 555-0190,New,Person,New York,LA,2\n"
    )
    code, out, err = run(capsys, "broadcast", "add", "Charity Drive", str(more), "--db", pg_db)
    assert code == 0, err
    assert "added 1 recipients" in out and "skipped 1 already" in out
    code, out, err = run(capsys, "broadcast", "run", str(path), "--db", pg_db, "--no-progress",
                         "--report", report, "--format", "json")  # fmt: skip
    assert code == 0, err
    stats = json.loads(out)["stats"]
    assert stats["totalCount"] == 23 and stats["callsPlaced"] == 23


def test_a_worker_leaves_campaigns_of_another_clock_or_driver_alone(
    pg_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A simulating worker never books computed results into a campaign of real SIP calls."""
    from dialplan.broadcast.campaign import load_campaign
    from dialplan.broadcast.pg.service import load

    load(load_campaign(_demo(tmp_path)), pg_db, "real", driver="sip")
    code, out, err = run(capsys, "broadcast", "worker", "--db", pg_db, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["calls"] == 0
    assert "'Charity Drive' left alone: it runs with --clock real --driver sip" in err
    with psycopg.connect(pg_db, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM attempts").fetchone() == (0,)
