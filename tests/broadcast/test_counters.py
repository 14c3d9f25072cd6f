"""The stats counters (``dialplan.broadcast.store.counters``) equal the COUNT queries: over any
sequence of the store's writes (property test), over real campaign runs with retries, DNC,
duplicates, ``broadcast add`` and a kill -9 with recovery, and after the migration that adds
them to a store written before them."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialplan.broadcast.reporting.stats import campaign_stats
from dialplan.broadcast.store.counters import StatCounts
from dialplan.broadcast.store.migrations import COUNTERS, LATEST, MIGRATIONS
from dialplan.broadcast.store.rows import AttemptRow, RecipientRow, RecipientUpdate, ResponseRow
from dialplan.broadcast.store.sqlite import Store

from ..counters_check import assert_counters_agree
from .helpers import write_campaign
from .test_migrations import release1_db

ROOT = Path(__file__).resolve().parents[2]
RESULTS = (None, "LA", "AM", "BUSY", "NO_ANS", "DNC", "XFER", "CARRIER_ERROR")
#: a live answer stashes the key pressed; 9 puts the number on the DNC list
ANSWERS = """<dialplan name="A"><amd><live>
  <menu name="M" maxDigits="1" timeout="5"><play type="tts">Press a key</play>
    <keypress pressed="1"><stash varname="q">one</stash></keypress>
    <keypress pressed="2"><stash varname="q">two</stash></keypress>
    <keypress pressed="9"><stash varname="q">stop</stash>
      <dnc>${call.phonenumber}</dnc></keypress>
  </menu></live>
  <machine><play type="tts">Sorry we missed you</play></machine></amd>
</dialplan>
"""
OPS = (
    "add",
    "attempt",
    "rebook",
    "update",
    "respond",
    "dnc",
    "finish",
    "add_known",
    "rollback",
)


def _apply(store: Store, op: str, rng: random.Random, campaigns: list[int]) -> None:
    cid = rng.choice(campaigns)
    ids = [
        r[0] for r in store.db.execute("SELECT id FROM recipients WHERE campaign_id = ?", (cid,))
    ]
    if op in ("add", "add_known") or not ids:
        first_id, row = store.next_recipient(cid)
        numbers = [f"+1212555{rng.randrange(30):04d}" for _ in range(rng.randrange(1, 6))]
        store.add_recipients(
            [
                RecipientRow(
                    cid, row + i, n, n, "US", None, "{}", None, None, "call_initiated", None, 0.0
                )
                for i, n in enumerate(numbers)
            ]
        )
        if op == "add_known":  # ``broadcast add``: numbers the campaign had are dropped
            store.drop_known(cid, first_id)
        return
    dialled = [
        r[0]
        for r in store.db.execute(
            "SELECT id FROM recipients WHERE campaign_id = ? AND attempts > 0", (cid,)
        )
    ]
    rid = rng.choice(dialled if op == "rebook" and dialled else ids)
    (tries,) = store.db.execute("SELECT attempts FROM recipients WHERE id = ?", (rid,)).fetchone()
    if op in ("attempt", "rebook"):
        no = tries if op == "rebook" and tries else tries + 1
        answered = rng.random() < 0.5
        duration = round(rng.uniform(0, 200), 3) if answered else 0.0
        store.record_attempts(
            [
                AttemptRow(
                    rid,
                    no,
                    100.0 * no,
                    101.0 if answered else None,
                    120.0,
                    rng.choice(RESULTS[1:]),
                    16,
                    None,
                    duration,
                )
            ]
        )
        store.update_recipients([RecipientUpdate(rid, no, 200.0 * no, rng.choice(RESULTS))])
    elif op == "update":
        store.update_recipients([RecipientUpdate(rid, tries, 5.0, rng.choice(RESULTS))])
    elif op == "respond":
        store.record_responses([ResponseRow(rid, max(tries, 1), rng.choice("ab"), "yes")])
    elif op == "dnc":
        (number,) = store.db.execute("SELECT e164 FROM recipients WHERE id = ?", (rid,)).fetchone()
        store.add_dnc(cid, [number], "list")
        store.bucket_dnc_and_duplicates(cid, scrub_duplicates=rng.random() < 0.5)
    elif op == "finish":
        store.finish_remaining(cid)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(OPS), min_size=1, max_size=40), st.integers(0, 2**32))
def test_the_counters_follow_every_write_of_the_store(ops: list[str], seed: int) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "c.sqlite")
        try:
            campaigns = [store.create_campaign(f"c{i}", f"b{i}", {}) for i in range(2)]
            for op in ops:
                store.begin()
                if op == "rollback":  # work that is rolled back leaves no count behind
                    for other in rng.choices(OPS[:-1], k=3):
                        _apply(store, other, rng, campaigns)
                    store.rollback()
                else:
                    _apply(store, op, rng, campaigns)
                    store.commit()
                assert_counters_agree(store)
        finally:
            store.close()


def test_a_rebooked_attempt_moves_its_seconds_not_adds_them(tmp_path: Path) -> None:
    """An attempt booked again (same recipient and number) replaces the first booking."""
    store = Store(tmp_path / "c.sqlite")
    cid = store.create_campaign("c", "b", {})
    store.begin()
    store.add_recipients(
        [
            RecipientRow(
                cid,
                1,
                "+12125550100",
                "+12125550100",
                "US",
                None,
                "{}",
                None,
                None,
                "call_initiated",
                None,
                0.0,
            )
        ]
    )
    for duration in (61.0, 30.0):
        store.record_attempts([AttemptRow(1, 1, 0.0, 1.0, 2.0, "LA", 16, None, duration)])
    store.commit()
    counts = store.stat_counts(cid)
    store.close()
    assert (counts.placed, counts.attempted, counts.duration, counts.billed) == (1, 1, 30.0, 60)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dialplan", "broadcast", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def run_cli_campaign_with_adds(tmp_path: Path, db: str) -> None:
    """A CLI campaign on ``db`` (SQLite path or PostgreSQL DSN) that moves every counter:
    loading with DNC and duplicate bucketing, retries, answers and ``<dnc>`` during the run,
    ``broadcast add`` (dropping the known numbers), a second run and its ``finish_remaining``."""
    rows = [
        {"phone_number": f"(212) 555-{i:04d}", "first": f"n{i}", "sim_result": r, "sim_inputs": k}
        for i, (r, k) in enumerate(
            [("LA", "1"), ("BUSY", ""), ("NO_ANS", ""), ("AM", ""), ("LA", "9"), ("LA", "2")] * 8
        )
    ]
    rows += [dict(rows[0]), {"phone_number": "not a number", "first": "x"}]  # a duplicate, INVALID
    campaign = write_campaign(
        tmp_path / "c",
        rows,
        dnc=["(212) 555-0003"],
        scrub_duplicates=True,
        tables={
            "retry_config": {
                "max_attempts": 3,
                "minutes_between_attempts": 20,
                "retry_results": ["BUSY", "NO_ANS"],
            },
        },
    )
    (tmp_path / "c" / "plan.xml").write_text(ANSWERS)
    done = _run("run", str(campaign), "--db", db, "--no-progress")
    assert done.returncode == 0, done.stderr
    extra = tmp_path / "more.csv"
    extra.write_text(
        "phone_number,first,sim_result,sim_inputs\n(212) 555-0001,again,LA,\n"
        "(212) 555-0900,new,BUSY,\n"
    )
    added = _run("add", "test", str(extra), "--db", db)
    assert added.returncode == 0, added.stderr
    again = _run("run", str(campaign), "--db", db, "--no-progress")  # calls the new one
    assert again.returncode == 0, again.stderr


def test_a_campaign_with_retries_dnc_duplicates_and_adds_keeps_its_counters(
    tmp_path: Path,
) -> None:
    db = tmp_path / "c.sqlite"
    run_cli_campaign_with_adds(tmp_path, str(db))
    store = Store(db, readonly=True)
    try:
        assert assert_counters_agree(store) == 1
        kept = store.stat_counts(store.campaign("test").id)  # type: ignore[union-attr]
        assert kept.placed > kept.attempted > 0  # retries happened
        assert kept.finals.get("DNC", 0) >= 1 and kept.responded > 0 and kept.awaiting >= 0
    finally:
        store.close()


def test_the_migration_counts_what_an_older_store_holds(tmp_path: Path) -> None:
    """A release-1 file: read-only it is counted from its rows (no counters table yet); the
    upgrade fills the counters from the rows, and ``stats`` says the same before and after."""
    path = release1_db(tmp_path)
    old = Store(path, readonly=True)
    cid = old.campaign("Charity Drive").id  # type: ignore[union-attr]
    before, counted = campaign_stats(old, "Charity Drive"), StatCounts.counted(old, cid)
    assert old.stat_counts(cid) == counted
    old.close()
    store = Store(path)
    try:
        assert store.version == LATEST >= COUNTERS
        tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master")}
        assert "campaign_counts" in tables
        assert store.db.execute("SELECT COUNT(*) FROM campaign_counts").fetchone()[0] > 0
        assert_counters_agree(store)
        assert campaign_stats(store, "Charity Drive") == before
    finally:
        store.close()


def test_the_counters_migration_is_one_step_of_the_list() -> None:
    step = next(m for m in MIGRATIONS if m.version == COUNTERS)
    assert "campaign_counts" in step.what
    db = sqlite3.connect(":memory:")
    for m in MIGRATIONS:
        if m.version <= COUNTERS:
            m.apply(db)
    assert db.execute("SELECT COUNT(*) FROM campaign_counts").fetchone()[0] == 0
