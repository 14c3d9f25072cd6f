"""Workers need nothing but the database: a campaign's file and dialplan travel in
``campaign_sources`` (migration 7), so a worker on a machine without them calls it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.pg.service import load
from tests.clirun import run
from tests.pg.test_cli_postgres import _demo

ROOT = Path(__file__).resolve().parents[2]


def _worker(dsn: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``broadcast worker`` in another process, run from ``cwd``."""
    argv = [sys.executable, "-m", "dialplan", "broadcast", "worker", "--db", dsn]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*argv, "--format", "json"], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def _export(capsys: pytest.CaptureFixture[str], db: str) -> str:
    code, out, err = run(capsys, "broadcast", "export", "Charity Drive", "--format", "csv",
                         "--db", db)  # fmt: skip
    assert code == 0, err
    return out


def test_a_worker_without_the_files_calls_the_campaign(
    pg_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lite_dir, pg_dir, elsewhere = (tmp_path / d for d in ("lite", "loaded", "elsewhere"))
    for d in (lite_dir, pg_dir, elsewhere):
        d.mkdir()
    lite = str(lite_dir / "b.sqlite")
    code, _, err = run(capsys, "broadcast", "run", str(_demo(lite_dir)), "--db", lite,
                       "--no-progress", "--report", str(lite_dir / "r.html"))  # fmt: skip
    assert code == 0, err

    load(load_campaign(_demo(pg_dir)), pg_db, "virtual")
    shutil.rmtree(pg_dir)  # the loading machine's folder is gone
    done = _worker(pg_db, elsewhere)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["calls"] == 22
    with psycopg.connect(pg_db, autocommit=True) as conn:
        assert conn.execute("SELECT state FROM campaigns").fetchone() == ("finished",)
        assert conn.execute("SELECT count(*) FROM campaign_sources").fetchone() == (1,)
    assert _export(capsys, pg_db) == _export(capsys, lite)  # the same results, byte for byte


def test_a_sounds_campaign_runs_its_stored_dialplan_without_its_recipients_file(
    pg_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ``[sounds]`` campaign's dialplan is generated from its recipients file when loaded;
    the worker runs the stored one."""
    examples = ROOT / "examples"
    names = ("charity-campaign-sounds.toml", "charity-campaign-recipients.csv")
    lite_dir, pg_dir, elsewhere = (tmp_path / d for d in ("lite", "loaded", "elsewhere"))
    for d in (lite_dir, pg_dir, elsewhere):
        d.mkdir()
        for name in names:
            shutil.copy(examples / name, d / name)
    lite = str(lite_dir / "b.sqlite")
    code, _, err = run(capsys, "broadcast", "run", str(lite_dir / names[0]), "--db", lite,
                       "--no-progress")  # fmt: skip
    assert code == 0, err
    load(load_campaign(pg_dir / names[0]), pg_db, "virtual")
    shutil.rmtree(pg_dir)
    (elsewhere / names[1]).unlink()
    done = _worker(pg_db, elsewhere)
    assert done.returncode == 0, done.stderr
    with psycopg.connect(pg_db, autocommit=True) as conn:
        (xml,) = conn.execute("SELECT dialplan FROM campaign_sources").fetchone() or ("",)
    assert "<dialplan" in xml
    name = load_campaign(lite_dir / names[0]).name
    outs = []
    for db in (lite, pg_db):
        code, out, err = run(capsys, "broadcast", "export", name, "--format", "csv", "--db", db)
        assert code == 0, err
        outs.append(out)
    assert outs[0] == outs[1] and len(outs[0].splitlines()) > 2


def test_a_campaign_of_an_older_release_is_read_from_its_file(
    pg_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No stored source (loaded before migration 7): the file is read again where it exists,
    else the one-line error of that release."""
    path = _demo(tmp_path)
    load(load_campaign(path), pg_db, "virtual")
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("DELETE FROM campaign_sources")
    moved = tmp_path.parent / f"{tmp_path.name}-moved"
    tmp_path.rename(moved)
    try:
        gone = _worker(pg_db, moved)
    finally:
        moved.rename(tmp_path)
    assert gone.returncode == 2
    lines = gone.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in gone.stderr
    assert f"campaign 'Charity Drive' was loaded from {path}, which this machine" in lines[0]
    done = _worker(pg_db, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["calls"] == 22
