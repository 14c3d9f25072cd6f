"""A full disk and a damaged database file: one line naming the file, exit 2, nothing lost."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .helpers import count, crash_campaign, snapshot, write_campaign

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dialplan", "broadcast", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )


def child(campaign: Path, db: Path) -> subprocess.CompletedProcess[str]:
    """The fake-runner campaign process, committing every 500 calls (see crash_child)."""
    return subprocess.run(
        [sys.executable, "-m", "tests.broadcast.crash_child", str(campaign), str(db)],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    (line,) = stderr.splitlines()
    return line


@contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A real filesystem of ``size`` (tmpfs) mounted at ``where``; needs mount rights."""
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_a_full_disk_mid_run_is_one_line_keeps_what_was_committed_and_resumes(
    tmp_path: Path,
) -> None:
    campaign = crash_campaign(tmp_path / "c")
    clean = tmp_path / "clean.sqlite"
    assert child(campaign, clean).returncode == 0
    with small_disk(tmp_path / "disk", "4m") as disk:
        db = disk / "x.sqlite"
        full = child(campaign, db)
        assert full.returncode == 2
        line = one_line(full.stderr)
        assert line.startswith(f"dialplan: error: {db}: the disk is full;")
        assert "run again to resume" in line
        con = sqlite3.connect(db)
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        kept = con.execute("SELECT * FROM attempts ORDER BY 1, 2").fetchall()
        con.close()
        assert kept  # it failed mid-run, after some commits …
        clean_con = sqlite3.connect(clean)
        assert set(kept) <= set(clean_con.execute("SELECT * FROM attempts"))  # … all kept
        clean_con.close()

        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)  # free space
        again = child(campaign, db)
        assert again.returncode == 0, again.stderr
        assert snapshot(db) == snapshot(clean)


def test_a_full_disk_in_the_cli_is_one_line_and_exit_2(tmp_path: Path) -> None:
    campaign = crash_campaign(tmp_path / "c")
    report = str(tmp_path / "report.html")
    with small_disk(tmp_path / "disk", "2m") as disk:
        db = str(disk / "x.sqlite")
        out = cli(
            "run", str(campaign), "--db", db, "--no-progress", "--max-wait", "0", "--report", report
        )
        assert out.returncode == 2
        assert one_line(out.stderr).startswith(f"dialplan: error: {db}: the disk is full;")
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        out = cli(
            "run", str(campaign), "--db", db, "--no-progress", "--max-wait", "0", "--report", report
        )
        assert out.returncode == 0, out.stderr
        assert count(Path(db), "SELECT COUNT(*) FROM recipients WHERE final_result IS NULL") == 0


def _damage(tmp_path: Path, table: str) -> Path:
    """A finished campaign's database with one leaf page of ``table`` overwritten with garbage
    (for the recipients, a page in the middle of the file)."""
    rows = [{"phone_number": f"(212) 555-{i:04d}", "first": f"n{i}" * 20} for i in range(3000)]
    campaign = write_campaign(tmp_path / "c", rows)
    db = tmp_path / "x.sqlite"
    assert child(campaign, db).returncode == 0
    con = sqlite3.connect(db)
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    size = con.execute("PRAGMA page_size").fetchone()[0]
    leaves = [
        p
        for (p,) in con.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf'", (table,)
        )
    ]
    con.close()
    middle = min(leaves, key=lambda p: abs(p - pages / 2))
    assert table != "recipients" or pages / 4 < middle < 3 * pages / 4
    with db.open("r+b") as fh:
        fh.seek((middle - 1) * size)
        fh.write(b"\xff" * size)
    return db


@pytest.mark.parametrize("command", ["stats", "export", "report", "run"])
def test_a_damaged_database_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    # ``stats`` reads the counters only (O(1), never the recipients): damage what it reads
    damaged = _damage(tmp_path, "campaign_counts" if command == "stats" else "recipients")
    before = damaged.read_bytes()
    if command == "run":
        args = [str(tmp_path / "c" / "campaign.toml"), "--no-progress"]
        args += ["--report", str(tmp_path / "r.html")]
    else:
        args = ["test", *(["-o", str(tmp_path / "out")] if command != "stats" else [])]
    out = cli(command, *args, "--db", str(damaged))
    assert out.returncode == 2
    line = one_line(out.stderr)
    assert line.startswith(f"dialplan: error: {damaged}: the database file is damaged;")
    assert "malformed" in line
    if command != "run":
        assert damaged.read_bytes() == before  # reading never writes


@pytest.mark.parametrize("command", ["stats", "export", "run"])
def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path, command: str) -> None:
    not_db = tmp_path / "notes.sqlite"
    not_db.write_text("these are my notes, not a campaign database\n" * 100)
    campaign = write_campaign(tmp_path / "c", [{"phone_number": "2125550101"}])
    args = [str(campaign), "--report", str(tmp_path / "r.html")] if command == "run" else ["test"]
    out = cli(command, *args, "--db", str(not_db))
    assert out.returncode == 2
    line = one_line(out.stderr)
    assert line.startswith(f"dialplan: error: {not_db}: cannot open campaign database: it is not")
    assert not_db.read_text().startswith("these are my notes")
