"""Campaign runs with the simulated driver and a fake dialplan runner: outcomes, retries,
throttling, DNC/duplicates/invalid/country buckets, AMD configurations, stats, resume."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.reporting.stats import campaign_stats, export_rows
from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.store.sqlite import Store
from dialplan.broadcast.telephony.port import CallSpec, CallSummary

from .helpers import campaign, fake_runner, write_campaign

RETRY = {"max_attempts": 3, "minutes_between_attempts": 30, "retry_results": ["BUSY", "NO_ANS"]}


def run(c: Any, db: Path, runner: Any = fake_runner) -> list[dict[str, Any]]:
    run_campaign(c, db, runner=runner)
    store = Store(db)
    try:
        return list(export_rows(store, c.name))
    finally:
        store.close()


def stats_of(db: Path, name: str) -> dict[str, Any]:
    store = Store(db)
    try:
        return campaign_stats(store, name)
    finally:
        store.close()


SCRIPTED = [
    {"phone_number": "(212) 555-0101", "first": "Ann", "sim_result": "LA", "sim_inputs": ""},
    {"phone_number": "+1 312 555 0102", "first": "Bob", "sim_result": "LA", "sim_inputs": "1"},
    {"phone_number": "415.555.0103", "first": "Cy", "sim_result": "AM", "sim_inputs": ""},
    {"phone_number": "6025550104", "first": "Di", "sim_result": "BUSY", "sim_inputs": ""},
    {"phone_number": "1-303-555-0105", "first": "Ed", "sim_result": "NO_ANS", "sim_inputs": ""},
    {
        "phone_number": "212 555 0106",
        "first": "Flo",
        "sim_result": "CARRIER_ERROR",
        "sim_inputs": "",
    },
    {"phone_number": "212-555-0107", "first": "Gus", "sim_result": "LA", "sim_inputs": "2"},
    {"phone_number": "212-555-0108", "first": "Hal", "sim_result": "LA", "sim_inputs": ""},
    {"phone_number": "(212) 555-0101", "first": "Dup", "sim_result": "LA", "sim_inputs": ""},
    {"phone_number": "12345", "first": "Bad", "sim_result": "", "sim_inputs": ""},
    {"phone_number": "+44 20 7946 0018", "first": "Uk", "sim_result": "LA", "sim_inputs": ""},
]


def test_scripted_recipients_end_exactly_as_scripted(tmp_path: Path) -> None:
    c = campaign(
        tmp_path,
        SCRIPTED,
        dnc=["+1 212 555 0108"],
        allowed_countries=["US", "CA"],
        tables={"retry_config": RETRY},
    )
    rows = run(c, tmp_path / "db.sqlite")
    assert [r["phone_number"] for r in rows] == [r["phone_number"] for r in SCRIPTED]
    finals = [r["final_result"] for r in rows]
    assert finals == [
        *("LA", "XFER", "AM", "BUSY", "NO_ANS", "CARRIER_ERROR", "LA", "DNC"),
        *("DUP", "INVALID", "SKIPPED"),
    ]
    by_name = {r["attributes"]["first"]: r for r in rows}
    # attempts: results and Q.850 causes
    assert [(a["result"], a["q850_cause"]) for a in by_name["Ann"]["attempts"]] == [("LA", 16)]
    assert by_name["Ann"]["attempts"][0]["answered_by"] == "HUMAN"
    assert by_name["Cy"]["attempts"][0]["answered_by"] == "MACHINE"
    assert [(a["result"], a["q850_cause"]) for a in by_name["Di"]["attempts"]] == [("BUSY", 17)] * 3
    assert [(a["result"], a["q850_cause"]) for a in by_name["Ed"]["attempts"]] == [
        ("NO_ANS", 19)
    ] * 3
    (err,) = by_name["Flo"]["attempts"]
    assert err["result"] == "CARRIER_ERROR" and err["q850_cause"] in (27, 38, 41)
    assert err["answered_by"] is None
    # responses from the dialplan
    assert by_name["Bob"]["responses"] == [{"question": "tickets", "response": "yes"}]
    assert by_name["Gus"]["responses"] == [{"question": "volunteer", "response": "yes"}]
    # skipped rows are never called
    for name in ("Hal", "Dup", "Bad", "Uk"):
        assert by_name[name]["attempts"] == []
    stats = stats_of(tmp_path / "db.sqlite", "test")
    assert stats["liveCount"] == 3 and stats["transferCount"] == 1
    assert stats["answeringMachineCount"] == 1
    assert stats["busyCount"] == 1 and stats["noAnswerCount"] == 1
    assert stats["doNotCallCount"] == 1
    assert stats["errorCount"] == 2  # CARRIER_ERROR + INVALID
    assert stats["miscCount"] == 2  # DUP + SKIPPED
    assert stats["callsAttempted"] == 7
    assert stats["callsPlaced"] == 1 + 1 + 1 + 3 + 3 + 1 + 1
    assert stats["callsRemaining"] == 0 and stats["callsAwaitingRedial"] == 0


def test_stats_add_up(tmp_path: Path) -> None:
    rows = [{"phone_number": f"212555{i:04d}", "first": "x"} for i in range(200)]
    rows += [{"phone_number": "2125550007", "first": "dup"}, {"phone_number": "1", "first": "bad"}]
    c = campaign(tmp_path, rows, dnc=["2125550003"], tables={"retry_config": RETRY})
    run(c, tmp_path / "db.sqlite")
    s = stats_of(tmp_path / "db.sqlite", "test")
    parts = [
        "liveCount",
        "answeringMachineCount",
        "busyCount",
        "noAnswerCount",
        "doNotCallCount",
        "errorCount",
        "miscCount",
        "callsRemaining",
    ]
    assert sum(s[p] for p in parts) == s["totalCount"] == 202
    assert s["callsPlaced"] >= s["callsAttempted"] == 200 - 1  # the DNC number is not called
    assert s["doNotCallCount"] == 1 and s["miscCount"] == 1
    assert s["responseRatePercent"] == pytest.approx(
        100 * (s["liveCount"] + s["answeringMachineCount"]) / s["callsAttempted"], abs=0.01
    )


def test_retry_spacing_and_limits(tmp_path: Path) -> None:
    rows = [
        {"phone_number": f"212555{i:04d}", "sim_result": r}
        for i, r in enumerate(["BUSY", "NO_ANS", "CARRIER_ERROR", "AM"] * 5)
    ]
    retry = {"max_attempts": 4, "minutes_between_attempts": 45, "retry_results": ["BUSY", "NO_ANS"]}
    c = campaign(tmp_path, rows, max_active=2, tables={"retry_config": retry})
    out = run(c, tmp_path / "db.sqlite")
    db = sqlite3.connect(tmp_path / "db.sqlite")
    for r in out:
        n = len(r["attempts"])
        expected = 4 if r["final_result"] in ("BUSY", "NO_ANS") else 1
        assert n == expected
    rows_db = db.execute(
        "SELECT recipient_id, started_at, ended_at FROM attempts ORDER BY recipient_id, attempt_no"
    ).fetchall()
    prev: dict[int, float] = {}
    for rid, start, end in rows_db:
        if rid in prev:
            assert start - prev[rid] >= 45 * 60 - 1e-6
        prev[rid] = end


def test_throttling_never_exceeds_max_active_or_rate(tmp_path: Path) -> None:
    rows = [{"phone_number": f"212555{i:04d}"} for i in range(400)]
    c = campaign(
        tmp_path,
        rows,
        max_active=4,
        calls_per_second=3,
        tables={"simulation": {"seed": 5, "start": "2026-12-01T15:00:00Z"}},
    )
    run(c, tmp_path / "db.sqlite")
    db = sqlite3.connect(tmp_path / "db.sqlite")
    calls = db.execute("SELECT started_at, ended_at FROM attempts ORDER BY started_at").fetchall()
    assert len(calls) == 400
    ms = [(round(s * 1000), round(e * 1000)) for s, e in calls]
    peak = 0
    for s, _ in ms:
        active = sum(1 for s2, e2 in ms if s2 <= s < e2)
        peak = max(peak, active)
        assert active <= 4
        assert sum(1 for s2, _ in ms if s <= s2 < s + 1000) <= 3
    assert peak == 4  # the lines are actually used


def test_dnc_numbers_are_never_called(tmp_path: Path) -> None:
    rows = [{"phone_number": f"(212) 555-{i:04d}"} for i in range(50)]
    dnc = ["+1 212 555 0003", "2125550010", "1-212-555-0049", "# a comment", "not a number"]
    c = campaign(tmp_path, rows, dnc=dnc, tables={"retry_config": RETRY})
    out = run(c, tmp_path / "db.sqlite")
    called = {r["e164"] for r in out if r["attempts"]}
    blocked = {"+12125550003", "+12125550010", "+12125550049"}
    assert not called & blocked
    assert {r["e164"] for r in out if r["final_result"] == "DNC"} == blocked


def test_opt_out_during_campaign_blocks_later_calls_to_that_number(tmp_path: Path) -> None:
    rows = [
        {"phone_number": "2125550101", "sim_result": "LA", "sim_inputs": "9"},
        {"phone_number": "2125550101", "sim_result": "LA", "sim_inputs": ""},
    ]
    c = campaign(tmp_path, rows, scrub_duplicates=False)
    out = run(c, tmp_path / "db.sqlite")
    assert [r["final_result"] for r in out] == ["LA", "DNC"]
    assert out[1]["attempts"] == []


class Recorder:
    def __init__(self) -> None:
        self.specs: list[CallSpec] = []

    def __call__(self, spec: CallSpec) -> CallSummary:
        self.specs.append(spec)
        return fake_runner(spec)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        # (final results LA-row, AM-row), answered_by, which AMD verdicts reach the dialplan
        ("AM_AND_LIVE", (("LA", "AM"), ("HUMAN", "MACHINE"), ["live", "machine"])),
        ("LIVE_WITH_AMD", (("LA", "AM"), ("HUMAN", "MACHINE"), ["live"])),
        ("AM_ONLY", (("LA", "AM"), ("HUMAN", "MACHINE"), ["machine"])),
        ("LIVE_IMMEDIATE", (("LA", "AM"), (None, None), ["live", "live"])),
    ],
)
def test_answering_machine_configs(tmp_path: Path, config: str, expected: Any) -> None:
    rows = [
        {"phone_number": "2125550101", "sim_result": "LA"},
        {"phone_number": "2125550102", "sim_result": "AM"},
    ]
    c = campaign(tmp_path, rows, answering_machine_config=config)
    rec = Recorder()
    out = run(c, tmp_path / "db.sqlite", rec)
    finals, answered_by, verdicts = expected
    assert tuple(r["final_result"] for r in out) == finals
    assert tuple(r["attempts"][0]["answered_by"] for r in out) == answered_by
    assert [s.amd for s in rec.specs] == verdicts


def test_contact_attributes_and_letters_reach_the_dialplan(tmp_path: Path) -> None:
    rows = [{"first": "Ann", "phone_number": "2125550101", "city": "Albany", "sim_result": "LA"}]
    c = campaign(tmp_path, rows)
    rec = Recorder()
    run(c, tmp_path / "db.sqlite", rec)
    (spec,) = rec.specs
    assert spec.contact["first"] == "Ann" and spec.contact["city"] == "Albany"
    assert spec.contact["A"] == "Ann" and spec.contact["C"] == "Albany"
    assert spec.variables["call.phonenumber"] == "+12125550101"


def test_same_seed_same_campaign(tmp_path: Path) -> None:
    rows = [{"phone_number": f"212555{i:04d}"} for i in range(120)]
    c1 = campaign(tmp_path / "a", rows, tables={"retry_config": RETRY})
    c2 = campaign(tmp_path / "b", rows, tables={"retry_config": RETRY})
    a = run(c1, tmp_path / "a.sqlite")
    b = run(c2, tmp_path / "b.sqlite")
    assert a == b
    assert len({r["final_result"] for r in a}) >= 3  # the seeded weights give a mix


def test_running_again_resumes_without_new_calls(tmp_path: Path) -> None:
    rows = [{"phone_number": f"212555{i:04d}"} for i in range(30)]
    c = campaign(tmp_path, rows, tables={"retry_config": RETRY})
    first = run(c, tmp_path / "db.sqlite")
    report = run_campaign(c, tmp_path / "db.sqlite", runner=fake_runner)
    assert report.resumed
    store = Store(tmp_path / "db.sqlite")
    assert list(export_rows(store, "test")) == first
    store.close()


def test_changed_campaign_on_same_db_is_refused(tmp_path: Path) -> None:
    from dialplan.errors import CampaignError

    rows = [{"phone_number": "2125550101"}]
    c = campaign(tmp_path, rows)
    run(c, tmp_path / "db.sqlite")
    changed = campaign(tmp_path, rows, max_active=7)
    with pytest.raises(CampaignError, match=r"settings changed \(max_active\)"):
        run_campaign(changed, tmp_path / "db.sqlite", runner=fake_runner)


def test_schedule_end_leaves_recipients_undialed(tmp_path: Path) -> None:
    rows = [{"phone_number": f"212555{i:04d}"} for i in range(20)]
    sched = [
        {
            "start_date": "2026-12-01",
            "stop_date": "2026-12-01",
            "start_time_of_day": "10:00",
            "stop_time_of_day": "10:00:05",
            "time_zone": "America/New_York",
        }
    ]
    c = campaign(tmp_path, rows, calls_per_second=1, schedules=sched)
    out = run(c, tmp_path / "db.sqlite")
    called = [r for r in out if r["attempts"]]
    assert len(called) == 5  # one call a second during five seconds
    assert all(r["final_result"] == "UNDIALED" for r in out if not r["attempts"])
    s = stats_of(tmp_path / "db.sqlite", "test")
    assert s["miscCount"] == 15 and s["callsRemaining"] == 0


def test_webhook_events_are_queued_in_the_outbox(tmp_path: Path) -> None:
    rows = [
        {"phone_number": "2125550101", "sim_result": "LA", "sim_inputs": "1"},
        {"phone_number": "2125550102", "sim_result": "BUSY"},
        {"phone_number": "2125550103", "sim_result": "AM"},
    ]
    c = load_campaign(
        write_campaign(
            tmp_path,
            rows,
            tables={
                "webhook": {"url": "http://127.0.0.1:9/hook", "secret": "s3"},
                "network": {"allow_private": True},
                "custom_data": {"campaign_ref": "abc", "n": 7},
            },
        )
    )
    run_campaign(c, tmp_path / "db.sqlite", runner=fake_runner, deliver=False)
    db = sqlite3.connect(tmp_path / "db.sqlite")
    bodies = [json.loads(b) for (b,) in db.execute("SELECT body FROM outbox ORDER BY id")]
    ids = [b["event_id"] for b in bodies]
    assert len(ids) == len(set(ids))
    events = [b["event"] for b in bodies]
    assert events.count("broadcastcall_complete") == 1 and events[-1] == "broadcastcall_complete"
    assert events.count("disconnected") == 3
    assert events.count("connected") == 2
    broadcast_ids = {b["broadcast_id"] for b in bodies}
    assert len(broadcast_ids) == 1
    for b in bodies:
        assert b["timestamp"].endswith("Z")
        assert b["custom_data"] == {"campaign_ref": "abc", "n": 7}
        if b["event"] != "broadcastcall_complete":
            assert b["voice_id"] and b["to"].startswith("+1")
    disc = {b["to"]: b for b in bodies if b["event"] == "disconnected"}
    assert disc["+12125550102"]["disconnect_cause_code"] == 17
    assert disc["+12125550101"]["disconnect_cause_code"] == 16
    assert disc["+12125550103"]["call_answered_by"] == "MACHINE"
    complete = bodies[-1]
    assert "voice_id" not in complete
    assert len(complete["broadcast_call_info"]) == 3


def test_loopback_webhook_needs_allow_private(tmp_path: Path) -> None:
    from dialplan.errors import CampaignError

    c = load_campaign(
        write_campaign(
            tmp_path,
            [{"phone_number": "2125550101"}],
            tables={"webhook": {"url": "http://127.0.0.1:9/hook", "secret": "s"}},
        )
    )
    with pytest.raises(CampaignError, match=r"webhook\.url: .*allow_private"):
        run_campaign(c, tmp_path / "db.sqlite", runner=fake_runner)


def test_real_clock_waits_like_real_calls(tmp_path: Path) -> None:
    import time

    rows = [
        {"phone_number": "2125550101", "sim_result": "BUSY"},
        {"phone_number": "2125550102", "sim_result": "CARRIER_ERROR"},
    ]
    c = campaign(tmp_path, rows, calls_per_second=2, max_active=1)
    t0 = time.time()
    run_campaign(c, tmp_path / "db.sqlite", runner=fake_runner, clock="real")
    elapsed = time.time() - t0
    db = sqlite3.connect(tmp_path / "db.sqlite")
    (first_start, last_end) = db.execute(
        "SELECT MIN(started_at), MAX(ended_at) FROM attempts"
    ).fetchone()
    assert first_start >= t0 - 1  # real time, not the simulation start
    # one line: the second call waits for the first (a 1-4 s busy signal) to end
    assert elapsed >= last_end - first_start - 0.05
    assert 1.0 <= last_end - first_start <= 8.0


def test_schedule_end_keeps_the_last_result_of_recipients_awaiting_redial(tmp_path: Path) -> None:
    rows = [{"phone_number": "2125550101", "sim_result": "BUSY"}]
    sched = [
        {
            "start_date": "2026-12-01",
            "stop_date": "2026-12-01",
            "start_time_of_day": "10:00",
            "stop_time_of_day": "11:00",
            "time_zone": "America/New_York",
        }
    ]
    retry = {"max_attempts": 5, "minutes_between_attempts": 25, "retry_results": ["BUSY"]}
    c = campaign(tmp_path, rows, schedules=sched, tables={"retry_config": retry})
    (row,) = run(c, tmp_path / "db.sqlite")
    assert len(row["attempts"]) == 3  # 10:00, ~10:25, ~10:50; the next would be after 11:00
    assert row["final_result"] == "BUSY"
