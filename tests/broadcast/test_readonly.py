"""stats/export/report only read: the database file is opened read-only and never changed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.store.sqlite import Store

from .helpers import fake_runner, write_campaign

ROOT = Path(__file__).resolve().parents[2]

ROWS = [
    {"phone_number": "(212) 555-0101", "first": "Ann", "sim_result": "LA", "sim_inputs": "1"},
    {"phone_number": "(212) 555-0102", "first": "Bob", "sim_result": "BUSY", "sim_inputs": ""},
    {"phone_number": "bad", "first": "Dee", "sim_result": "", "sim_inputs": ""},
]
READERS = [
    ("stats", "--format", "json"),
    ("export", "--format", "csv"),
    ("export", "--format", "json"),
    ("report", "-o", "{out}/report.html"),
]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "dialplan", "broadcast", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def read_all(db: Path, out: Path) -> list[str]:
    """Every reading command's output (exit 0 asserted)."""
    outputs = []
    for command, *opts in READERS:
        args = [a.format(out=out) for a in opts]
        res = cli(command, "test", "--db", str(db), *args)
        assert res.returncode == 0, (command, res.stderr)
        outputs.append(res.stdout.replace(str(out), "OUT"))
    return outputs


def state(directory: Path) -> dict[str, tuple[str, int]]:
    """Every file of the directory: its sha256 and mtime."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(directory.iterdir())
    }


@pytest.fixture
def campaign_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    c = load_campaign(write_campaign(tmp_path / "c", ROWS))
    data.mkdir()
    run_campaign(c, data / "db.sqlite", runner=fake_runner)
    return data


def test_reading_changes_no_byte_and_creates_no_journal(campaign_dir: Path, tmp_path: Path) -> None:
    before = state(campaign_dir)
    assert list(before) == ["db.sqlite"]  # a closed database is one self-contained file
    (tmp_path / "out").mkdir()
    read_all(campaign_dir / "db.sqlite", tmp_path / "out")
    assert state(campaign_dir) == before  # no -wal, -shm or -journal; same bytes and mtime


@contextmanager
def readonly_mount(src: Path, dst: Path) -> Iterator[Path]:
    """``src`` seen read-only at ``dst`` (a read-only bind mount; needs root and mount rights)."""
    dst.mkdir()
    done = subprocess.run(["mount", "--bind", str(src), str(dst)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {done.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(dst)], check=True)
        yield dst
    finally:
        subprocess.run(["umount", str(dst)], check=True)


def test_a_database_on_a_read_only_mount_can_be_read(campaign_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    expected = read_all(campaign_dir / "db.sqlite", tmp_path / "out")
    with readonly_mount(campaign_dir, tmp_path / "ro") as ro:
        with pytest.raises(OSError):
            (ro / "probe").write_text("x")  # really read-only
        assert read_all(ro / "db.sqlite", tmp_path / "out") == expected


def test_a_database_left_in_wal_mode_by_a_killed_run_can_be_read_read_only(
    campaign_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    expected = read_all(campaign_dir / "db.sqlite", tmp_path / "out")
    db = campaign_dir / "db.sqlite"
    # a writer that dies without closing leaves the database in WAL mode (+ -wal, -shm)
    code = (
        "import os, sys; from dialplan.broadcast.store.sqlite import Store;"
        "s = Store(sys.argv[1]); s.begin(); s.update_campaign(1, state='finished'); s.commit();"
        "os._exit(0)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code, str(db)], env=env, check=True)
    assert {p.name for p in campaign_dir.iterdir()} >= {"db.sqlite-wal", "db.sqlite-shm"}
    with readonly_mount(campaign_dir, tmp_path / "ro") as ro:
        assert read_all(ro / "db.sqlite", tmp_path / "out") == expected
    # and with only the main file left (WAL mode, but every change checkpointed into it)
    Store(db).close()
    store = Store(db)
    store.db.execute("PRAGMA journal_mode=WAL")
    store.db.close()  # a WAL-mode file with no -wal/-shm beside it
    for leftover in ("db.sqlite-wal", "db.sqlite-shm"):
        (campaign_dir / leftover).unlink(missing_ok=True)
    with readonly_mount(campaign_dir, tmp_path / "ro2") as ro:
        assert read_all(ro / "db.sqlite", tmp_path / "out") == expected


def test_a_read_only_store_refuses_to_write(campaign_dir: Path) -> None:
    store = Store(campaign_dir / "db.sqlite", readonly=True)
    try:
        with pytest.raises(Exception, match="readonly"):
            store.db.execute("UPDATE campaigns SET state = 'x'")
    finally:
        store.close()


def test_a_run_starting_while_a_reader_reads_waits_for_it(campaign_dir: Path) -> None:
    db = campaign_dir / "db.sqlite"
    reader = Store(db, readonly=True)
    reader.db.execute("BEGIN")
    reader.db.execute("SELECT COUNT(*) FROM recipients").fetchone()  # a long export, say
    threading.Timer(1.0, lambda: reader.db.execute("COMMIT")).start()
    t0 = time.monotonic()
    writer = Store(db)  # has to turn the file back to WAL: waits for the reader
    assert time.monotonic() - t0 >= 0.9
    assert writer.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    writer.close()
    reader.close()
