"""One runner at a time per campaign: real processes racing on one database file."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.store.lease import CampaignBusy, Lease, LeaseLost, pid_alive
from dialplan.broadcast.store.sqlite import Store
from dialplan.errors import CampaignError

from .helpers import count, crash_campaign, fake_runner, snapshot, write_campaign

ROOT = Path(__file__).resolve().parents[2]
DELAY = "0.001"  # seconds per call: a run lasts a few seconds, so two runs overlap


def child(
    campaign: Path, db: Path, log: Path, *extra: str, delay: str = DELAY
) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.broadcast.crash_child", str(campaign), str(db)),
            *("--log", str(log), "--delay", delay, *extra),
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )


def dials(log: Path) -> list[tuple[int, int]]:
    """The (recipient, attempt) pairs one process placed."""
    if not log.exists():
        return []
    return [(int(a), int(b)) for a, b in (line.split() for line in log.read_text().splitlines())]


def wait_for(db: Path, sql: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while count(db, sql) == 0:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.01)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[tuple[int, int]]]:
    """The campaign, and one uninterrupted run of it alone: (campaign, db, dials)."""
    tmp = tmp_path_factory.mktemp("lease")
    campaign = crash_campaign(tmp / "c")
    proc = child(campaign, tmp / "clean.sqlite", tmp / "clean.log", delay="0")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return campaign, tmp / "clean.sqlite", dials(tmp / "clean.log")


@pytest.mark.parametrize("stale_lease", [False, True])
def test_two_runs_started_at_once_only_one_dials(
    tmp_path: Path, clean: tuple[Path, Path, list[tuple[int, int]]], stale_lease: bool
) -> None:
    campaign, clean_db, clean_dials = clean
    db = tmp_path / "x.sqlite"
    if stale_lease:  # left by a process of this host that is gone: both race to take it over
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        Store(db).close()
        con = sqlite3.connect(db)
        now = time.time()
        con.execute(
            "INSERT INTO leases VALUES ('test', 'dead', ?, ?, ?, ?, ?)",
            (socket.gethostname(), gone.pid, now, now, now + 30),
        )
        con.commit()
        con.close()
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [child(campaign, db, log) for log in logs]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], errs
    loser = next(i for i, p in enumerate(procs) if p.returncode == 2)
    winner = procs[1 - loser]
    (line,) = errs[loser].strip().splitlines()  # one line, naming the holder
    assert f"is being run by host {socket.gethostname()} pid {winner.pid} since " in line
    assert str(db) in line and "--wait" in line
    assert dials(logs[loser]) == []
    assert sorted(dials(logs[1 - loser])) == sorted(clean_dials)
    assert snapshot(db) == snapshot(clean_db)
    assert count(db, "SELECT COUNT(*) FROM responses") == count(
        clean_db, "SELECT COUNT(*) FROM responses"
    )
    assert count(db, "SELECT COUNT(*) FROM leases") == 0  # released on exit


def test_wait_runs_after_the_holder_and_dials_nobody_again(
    tmp_path: Path, clean: tuple[Path, Path, list[tuple[int, int]]]
) -> None:
    campaign, clean_db, clean_dials = clean
    db = tmp_path / "x.sqlite"
    first = child(campaign, db, tmp_path / "a.log")
    wait_for(db, "SELECT COUNT(*) FROM leases", first)
    second = child(campaign, db, tmp_path / "b.log", "--wait")
    _, err2 = second.communicate(timeout=300)
    _, err1 = first.communicate(timeout=300)
    assert (first.returncode, second.returncode) == (0, 0), (err1, err2)
    assert "waiting for it to finish" in err2 and f"pid {first.pid}" in err2
    assert dials(tmp_path / "b.log") == []  # it found the campaign finished
    assert sorted(dials(tmp_path / "a.log")) == sorted(clean_dials)
    assert snapshot(db) == snapshot(clean_db)


def test_kill_9_of_the_holder_then_a_new_run_takes_over_and_dials_nobody_twice(
    tmp_path: Path, clean: tuple[Path, Path, list[tuple[int, int]]]
) -> None:
    campaign, clean_db, _ = clean
    db = tmp_path / "x.sqlite"
    first = child(campaign, db, tmp_path / "a.log")
    wait_for(db, "SELECT COUNT(*) FROM attempts", first)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    con = sqlite3.connect(db)
    committed = set(con.execute("SELECT recipient_id, attempt_no FROM attempts"))
    holder = con.execute("SELECT pid FROM leases").fetchall()
    con.close()
    assert holder == [(first.pid,)]  # the dead process's lease is still there
    assert not pid_alive(first.pid)

    second = child(campaign, db, tmp_path / "b.log")
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    again = set(dials(tmp_path / "b.log"))
    assert again and not again & committed  # nobody whose call was booked is called again
    assert snapshot(db) == snapshot(clean_db)
    assert count(db, "SELECT COUNT(*) FROM leases") == 0


def _campaign(tmp: Path) -> Path:
    rows = [{"phone_number": f"(212) 555-{i:04d}", "first": f"n{i}"} for i in range(20)]
    return write_campaign(tmp, rows)


def _foreign_lease(db: Path, expires_in: float) -> None:
    Store(db).close()  # the schema
    con = sqlite3.connect(db)
    now = time.time()
    con.execute(
        "INSERT INTO leases VALUES ('test', 'other', 'elsewhere', 4242, ?, ?, ?)",
        (now - 100, now - 1, now + expires_in),
    )
    con.commit()
    con.close()


def test_a_live_lease_on_another_host_refuses_and_an_expired_one_is_taken_over(
    tmp_path: Path,
) -> None:
    c = load_campaign(_campaign(tmp_path))
    db = tmp_path / "x.sqlite"
    _foreign_lease(db, expires_in=30)
    with pytest.raises(CampaignBusy, match=r"being run by host elsewhere pid 4242 since .*Z"):
        run_campaign(c, db, runner=fake_runner)
    assert count(db, "SELECT COUNT(*) FROM campaigns") == 0  # refused before anything

    db2 = tmp_path / "y.sqlite"
    _foreign_lease(db2, expires_in=-1)  # its heartbeat expired: its runner is gone
    run_campaign(c, db2, runner=fake_runner)
    assert count(db2, "SELECT COUNT(*) FROM attempts") == 20
    assert count(db2, "SELECT COUNT(*) FROM leases") == 0


def test_the_lease_is_released_when_the_run_fails(tmp_path: Path) -> None:
    rows = [{"phone_number": "2125550101", "sim_result": "NOPE"}]
    c = load_campaign(write_campaign(tmp_path, rows))
    db = tmp_path / "x.sqlite"
    for _ in range(2):  # the second run meets the same error, not a lease
        with pytest.raises(CampaignError, match="sim_result: unknown result"):
            run_campaign(c, db, runner=fake_runner)
    assert count(db, "SELECT COUNT(*) FROM leases") == 0


def test_a_runner_that_lost_its_lease_cannot_commit(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite"
    store = Store(db)
    lease = Lease.acquire(store.db, str(db), "test")
    store.fence = lease.renew
    store.begin()
    store.create_campaign("test", "b", {})  # commits under the lease: fine
    store.begin()
    store.update_campaign(1, state="running")
    other = sqlite3.connect(db, isolation_level=None)
    store.commit()
    # a takeover (the holder looked dead): its next commit is refused and rolled back
    other.execute("UPDATE leases SET owner = 'x', host = 'elsewhere', pid = 7")
    store.begin()
    store.update_campaign(1, state="finished")
    with pytest.raises(LeaseLost, match=r"lost the lease on campaign 'test'.*host elsewhere pid 7"):
        store.commit()
    assert other.execute("SELECT state FROM campaigns").fetchone() == ("running",)
    lease.release(store.db)
    assert other.execute("SELECT owner FROM leases").fetchone() == ("x",)  # not ours to delete
    other.close()
    store.close()


def test_the_heartbeat_renews_on_the_wall_clock(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite"
    store = Store(db)
    lease = Lease.acquire(store.db, str(db), "test", ttl=2.0, interval=0.05)
    first = store.db.execute("SELECT heartbeat_at, expires_at FROM leases").fetchone()
    time.sleep(0.5)  # the main thread does nothing: the heartbeat thread renews
    later = store.db.execute("SELECT heartbeat_at, expires_at FROM leases").fetchone()
    assert later[0] > first[0] + 0.2 and later[1] > first[1] + 0.2
    lease.release(store.db)
    store.close()


def test_add_respects_the_lease(tmp_path: Path) -> None:
    path = _campaign(tmp_path)
    db = tmp_path / "x.sqlite"
    run_campaign(load_campaign(path), db, runner=fake_runner)
    _foreign_lease(db, expires_in=30)
    (tmp_path / "new.csv").write_text("phone_number,first\n(212) 555-9999,z\n")
    out = subprocess.run(
        [
            *(sys.executable, "-m", "dialplan", "broadcast", "add", str(path)),
            *(str(tmp_path / "new.csv"), "--db", str(db)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "being run by host elsewhere pid 4242" in out.stderr
    assert count(db, "SELECT COUNT(*) FROM recipients") == 20


@pytest.mark.parametrize("expires_in", [30, -1])
def test_a_holder_busy_writing_is_named_or_waited_for_not_a_lock_timeout(
    tmp_path: Path, expires_in: float
) -> None:
    db = tmp_path / "x.sqlite"
    _foreign_lease(db, expires_in=expires_in)  # even expired: it is evidently writing
    writer = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")  # the holder, in a long write transaction
    con = sqlite3.connect(db, timeout=0.1, isolation_level=None)
    try:
        with pytest.raises(CampaignBusy, match="being run by host elsewhere pid 4242"):
            Lease.acquire(con, str(db), "test")
        said: list[str] = []
        threading.Timer(0.5, lambda: writer.execute("ROLLBACK")).start()
        if expires_in > 0:  # the holder is alive: its lease ends, then a waiter takes it
            threading.Timer(0.7, lambda: writer.execute("DELETE FROM leases")).start()
        lease = Lease.acquire(con, str(db), "test", wait=True, on_wait=said.append, poll=0.05)
        assert len(said) == 1 and "waiting for it to finish" in said[0]
        assert con.execute("SELECT owner FROM leases").fetchone() == (lease.owner,)
        lease.release(con)
    finally:
        writer.close()
        con.close()
