"""``broadcast worker`` processes sending one text campaign, one of them SIGKILLed mid-run:
nobody is texted twice, STOP replies one worker received keep every worker from texting that
number, the shared rate holds, and everyone else ends where the one-process SQLite run ends."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import psycopg
import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.pg.service import load
from dialplan.broadcast.service import run_campaign

from .test_campaign_workers import _dials, _finish, _worker

UNIQUE, AGAIN = 3000, 1500  # recipients with their own numbers; the first AGAIN listed again
CPS = 25  # a number comes again (UNIQUE / CPS) = 120 virtual seconds after its first text
FATES = ("DELIVERED", "DELIVERED", "UNDELIVERED", "DELIVERED", "CARRIER_TEMP_ERROR", "NO_RECEIPT")


def _number(i: int) -> str:
    return f"+1{('212', '312', '415', '808')[i % 4]}55{i % 10000:05d}"


def _campaign(tmp: Path) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    lines = ["phone_number,first,sim_result,sim_reply"]
    for i in range(UNIQUE + AGAIN):
        j = i % UNIQUE
        reply = "STOP" if i < UNIQUE and j % 5 == 0 else ""
        lines.append(f"{_number(j)},n{i},{FATES[(j * 7) % len(FATES)]},{reply}")
    (tmp / "r.csv").write_text("\n".join(lines) + "\n")
    path = tmp / "texts.toml"
    path.write_text(
        'name = "texts"\nchannel = "sms"\nrecipients = "r.csv"\nfrom_number = "+12025550000"\n'
        f'message = "Hi ${{contact.first}}"\nmessages_per_second = {CPS}\nmax_active = 100\n'
        "scrub_duplicates = false\n"
        "[retry_config]\nmax_attempts = 2\nminutes_between_attempts = 1\n"
        '[simulation]\nseed = 5\nstart = "2026-12-01T15:00:00Z"\n'
    )
    return path


def _kill_with_texts_in_flight(
    db: str, procs: list[subprocess.Popen[str]], min_done: int
) -> tuple[str, list[subprocess.Popen[str]]]:
    """SIGKILL whichever of ``procs`` first holds attempts it has not booked, having booked
    ``min_done`` (a text takes no time: the workers are frozen with SIGSTOP first, then looked
    at); returns its worker id and the workers left alive.

    Any worker may be the victim: on a loaded machine the first one started may be the last to
    run, and the other two may finish the campaign before it books ``min_done``."""
    by_pid = {p.pid: p for p in procs}
    deadline = time.monotonic() + 60
    with psycopg.connect(db, autocommit=True) as conn:
        while True:
            for p in procs:
                assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline, "no worker ever had texts in flight"
            for pid in by_pid:
                os.kill(pid, signal.SIGSTOP)
            row = conn.execute(
                "SELECT w.pid, w.id FROM workers w JOIN attempts a ON a.worker_id = w.id"
                " WHERE w.pid = ANY(%s) GROUP BY w.pid, w.id"
                " HAVING count(*) FILTER (WHERE a.result IS NULL) >= 1"
                " AND count(*) FILTER (WHERE a.result IS NOT NULL) >= %s LIMIT 1",
                (list(by_pid), min_done),
            ).fetchone()
            if row:
                break
            for pid in by_pid:
                os.kill(pid, signal.SIGCONT)
            time.sleep(0.01)
    pid, worker = row
    os.kill(pid, signal.SIGKILL)
    by_pid[pid].wait()
    alive = [p for p in procs if p.pid != pid]
    for p in alive:
        os.kill(p.pid, signal.SIGCONT)
    return str(worker), alive


@pytest.mark.slow
def test_workers_one_killed_text_nobody_twice_and_honour_every_stop(
    pg_db: str, tmp_path: Path
) -> None:
    path = _campaign(tmp_path / "c")
    ref = tmp_path / "ref.sqlite"
    run_campaign(load_campaign(path), ref, deliver=False)
    with sqlite3.connect(ref) as con:
        expected = dict(con.execute("SELECT row_no, final_result FROM recipients"))
    load(load_campaign(path), pg_db, "virtual")
    log = tmp_path / "dials.log"
    procs = [_worker(pg_db, log, "--tick", "1") for _ in range(3)]
    try:
        victim, alive = _kill_with_texts_in_flight(pg_db, procs, min_done=500)
        procs.append(_worker(pg_db, log, "--tick", "1"))
        reports = _finish([*alive, procs[-1]])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert sum(int(str(r["campaigns_finished"])) for r in reports) == 1
    dials = _dials(log)
    assert len(dials) == len(set(dials)), "a (recipient, attempt) was sent twice"
    with psycopg.connect(pg_db, autocommit=True) as conn:
        assert conn.execute("SELECT state FROM campaigns").fetchone() == ("finished",)
        booked = set(conn.execute("SELECT recipient_id, attempt_no FROM attempts"))
        # every text sent is booked; an attempt the victim committed and was killed before
        # sending (no line in the log) ends INTERNAL_ERROR with the others it held
        assert set(dials) <= booked
        unsent = booked - set(dials)
        attempts: dict[int, list[tuple[int, str, float, str]]] = defaultdict(list)
        for rid, n, result, started, who in conn.execute(
            "SELECT recipient_id, attempt_no, result, started_at, worker_id FROM attempts"
            " ORDER BY 1, 2"
        ):
            attempts[rid].append((n, result, started, who))
        recipients = conn.execute(
            "SELECT id, row_no, e164, final_result FROM recipients"
        ).fetchall()
        optouts = dict(conn.execute("SELECT number, added_at FROM text_optouts"))
        texts = dict(
            ((r, n), s)
            for r, n, s in conn.execute("SELECT recipient_id, attempt_no, segments FROM texts")
        )
        starts = [r[0] for r in conn.execute("SELECT started_at FROM attempts ORDER BY 1")]
    for i in range(len(starts) - CPS):  # messages_per_second across the workers
        assert starts[i + CPS] - starts[i] >= 1.0 - 1e-6, (i, starts[i : i + CPS + 1])
    lost = {rid for rid, a in attempts.items() if a[-1][1] == "INTERNAL_ERROR"}
    assert lost and all(attempts[rid][-1][3] == victim for rid in lost)
    assert {rid for rid, _ in unsent} <= lost
    sent_to: dict[str, int] = defaultdict(int)
    for rid, row_no, e164, final in recipients:
        mine = attempts.get(rid, [])
        # nobody texted twice: one SENT at most, every earlier attempt a temporary error
        assert [a[1] for a in mine].count("SENT") <= 1, mine
        assert all(a[1] == "CARRIER_TEMP_ERROR" for a in mine[:-1]), mine
        assert all((rid, a[0]) in texts for a in mine if rid not in lost), (rid, mine)
        sent_to[e164] += sum(a[1] == "SENT" for a in mine)
        # a STOP booked by any worker: the number is never texted after it
        if e164 in optouts:
            assert all(a[1] != "SENT" or a[2] < optouts[e164] for a in mine), (e164, mine)
        if rid not in lost:
            want = expected[row_no]
            stopped_late = want == "DNC" and e164 not in optouts  # its STOP died with the victim
            assert final == want or stopped_late or {final, want} == {"DNC", "DNT"}, (
                row_no, final, want,
            )  # fmt: skip
    stops = {_number(j) for j in range(0, UNIQUE, 5)}
    assert len(optouts) >= len(stops) - 20 and set(optouts) <= stops
    assert all(sent_to[n] <= 1 for n in optouts)  # listed twice, texted once
    assert sum(1 for n in optouts if int(n[-5:]) < AGAIN) > 200  # and listed again
