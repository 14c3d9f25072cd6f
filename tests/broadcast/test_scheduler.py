"""The sans-IO scheduler on its own: no store, no engine, no clock — a list of recipients, a
loop of a few lines, and the rules every runner relies on (windows and DST, retry spacing,
throttling, DNC never called, final results, lost attempts)."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import assert_never

from hypothesis import given, settings
from hypothesis import strategies as st

from dialplan.broadcast.campaign import LocalTimeRestriction, Schedule
from dialplan.broadcast.progress import Waiting
from dialplan.broadcast.scheduler.core import Done, Fetch, Place, Rules, Scheduler, Wait
from dialplan.broadcast.scheduler.windows import DailyWindow, ScheduleSet, Windows
from dialplan.broadcast.store.rows import AttemptRow, Pending
from dialplan.broadcast.telephony.port import AttemptOutcome

from ..core.test_layering import IO_MODULES, PACKAGE, imports_of

START = round(datetime(2026, 3, 7, 12, 0, tzinfo=UTC).timestamp() * 1000)  # DST on Mar 8
ZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Australia/Lord_Howe"]
RESULTS = ["LA", "AM", "BUSY", "NO_ANS", "CARRIER_ERROR"]
PAGE = 7  # small pages: the scheduler asks for more rows mid-run


def outcome(result: str, rid: int, n: int) -> AttemptOutcome:
    ring = 1.0 + (rid * 7 + n * 3) % 20
    talk = 30.0 + rid % 50 if result in ("LA", "AM") else 0.0
    return AttemptOutcome(result, 16, None, ring, talk)


def drive(
    sched: Scheduler,
    queues: dict[int, list[Pending]],
    script: dict[int, list[str]],
    opt_outs: dict[int, str] | None = None,
) -> tuple[list[tuple[Place, AttemptRow]], int]:
    """The virtual-time runner in miniature (a list instead of the store)."""
    placed: list[tuple[Place, AttemptRow]] = []
    now = START
    for _ in range(100_000):
        action = sched.next(now)
        match action:
            case Fetch():
                rows = [p for p in queues[action.zone_id] if (p.next_at, p.id) > action.after]
                rows.sort(key=lambda p: (p.next_at, p.id))
                sched.feed(action.zone_id, rows[:PAGE], PAGE)
            case Place():
                now = action.at
                p = action.recipient
                results = script[p.id]
                out = outcome(
                    results[min(action.attempt_no, len(results)) - 1], p.id, action.attempt_no
                )
                if opt_outs and p.id in opt_outs:
                    out.dnc = (opt_outs[p.id],)
                    sched.add_dnc(out.dnc)
                placed.append((action, sched.record(action, out)))
            case Wait():
                assert action.until is not None and action.until > now
                now = action.until
            case Done():
                return placed, action.at
            case _:
                assert_never(action)
    raise AssertionError("the scheduler never finished")


def build(
    n: int, zones: list[int], results: list[str], rules: Rules, windows: dict[int, Windows]
) -> tuple[Scheduler, dict[int, list[Pending]], dict[int, list[str]]]:
    queues: dict[int, list[Pending]] = defaultdict(list)
    script: dict[int, list[str]] = {}
    for rid in range(1, n + 1):
        zone = zones[rid % len(zones)]
        queues[zone].append(Pending(0.0, rid, f"+1212555{rid:04d}", 0, "{}", None, None))
        script[rid] = [results[(rid + k) % len(results)] for k in range(4)]
    sched = Scheduler(rules, [(z, windows[z]) for z in sorted(queues)])
    return sched, queues, script


rules_st = st.builds(
    Rules,
    max_active=st.integers(1, 6),
    calls_per_second=st.sampled_from([0.5, 1.0, 3.0, 10.0]),
    max_attempts=st.integers(1, 4),
    retry_results=st.frozensets(st.sampled_from(RESULTS)),
    minutes_between_attempts=st.sampled_from([0.0, 1.0, 45.0, 600.0]),
    default_zone=st.just("America/New_York"),
)


@settings(max_examples=60, deadline=None)
@given(
    rules=rules_st,
    n=st.integers(0, 40),
    results=st.lists(st.sampled_from(RESULTS), min_size=1, max_size=5),
    begin=st.integers(0, 23 * 60),
    length=st.integers(60, 14 * 60),
)
def test_every_rule_holds_for_every_start(
    rules: Rules, n: int, results: list[str], begin: int, length: int
) -> None:
    end = (begin + length) % (24 * 60)
    restriction = LocalTimeRestriction(begin, end)
    windows = {z: Windows([DailyWindow(restriction, zone)]) for z, zone in enumerate(ZONES)}
    sched, queues, script = build(n, list(windows), results, rules, windows)
    placed, done_at = drive(sched, queues, script)
    spacing = math.ceil(1000 / rules.calls_per_second)
    starts = [p.at for p, _ in placed]
    assert starts == sorted(starts)
    # throttling: starts at least 1/cps apart, never more than max_active lines at once
    assert all(b - a >= spacing for a, b in itertools.pairwise(starts))
    spans = [(round(a.started_at * 1000), round(a.ended_at * 1000)) for _, a in placed]
    for s, _ in spans:
        assert sum(1 for s2, e2 in spans if s2 <= s < e2) <= rules.max_active
    # windows (DST-correct): every start is inside the recipient's local window
    for place, _ in placed:
        assert windows[place.zone_id].allowed(place.at / 1000)
    # retries: by result, spaced after the previous attempt ended, never past max_attempts
    by_rid: dict[int, list[AttemptRow]] = defaultdict(list)
    for _, row in placed:
        by_rid[row.recipient_id].append(row)
    for rows in by_rid.values():
        assert [r.attempt_no for r in rows] == list(range(1, len(rows) + 1))
        assert len(rows) <= rules.max_attempts
        for prev, nxt in itertools.pairwise(rows):
            assert prev.result in rules.retry_results
            assert nxt.started_at - prev.ended_at >= rules.retry_ms / 1000 - 1e-6
    # final results: one per recipient that ended, the last attempt's result
    finals = {u.recipient_id: u for u in sched.take_updates() if u.final_result is not None}
    for rid, rows in by_rid.items():
        last = rows[-1]
        if last.result not in rules.retry_results or last.attempt_no == rules.max_attempts:
            assert finals[rid].final_result == last.result
    assert sum(sched.results.values()) == len(finals)
    assert done_at >= max((e for _, e in spans), default=START)


def test_dnc_numbers_are_never_called_even_when_added_mid_run() -> None:
    rules = Rules(2, 1.0, 3, frozenset({"BUSY"}), 1.0, "UTC")
    windows = {0: Windows([])}
    sched, queues, script = build(20, [0], ["BUSY"], rules, windows)
    sched.add_dnc({"+12125550005"})
    # recipient 1 opts recipient 9's number out on its call
    placed, _ = drive(sched, queues, script, opt_outs={1: "+12125550009"})
    called = {p.recipient.e164 for p, _ in placed}
    assert "+12125550005" not in called
    first_of_1 = min(p.at for p, _ in placed if p.recipient.id == 1)
    assert all(p.at <= first_of_1 for p, _ in placed if p.recipient.e164 == "+12125550009")
    assert sched.results["DNC"] == 2


def test_schedules_and_why_waiting_as_data() -> None:
    # Saturdays only, 10:00-11:00 New York; the run starts on a Wednesday
    sched_set = ScheduleSet([Schedule("America/New_York", None, None, 10 * 3600, 11 * 3600, (5,))])
    windows = {0: Windows([sched_set])}
    rules = Rules(1, 1.0, 1, frozenset(), 0.0, "America/New_York")
    sched, queues, _ = build(1, [0], ["LA"], rules, windows)
    action = sched.next(START - 3 * 86_400_000)
    assert isinstance(action, Fetch)
    sched.feed(0, queues[0], PAGE)
    wait = sched.next(START - 3 * 86_400_000)
    assert isinstance(wait, Wait) and wait.until is not None
    opens = datetime(2026, 3, 7, 15, 0, tzinfo=UTC)  # Saturday 10:00 EST
    assert wait.until == opens.timestamp() * 1000
    assert sched.why(wait) == Waiting(opens.timestamp(), "schedule", "America/New_York")
    place = sched.next(wait.until)
    assert isinstance(place, Place) and place.at == wait.until
    # a call in flight and nobody else: wait for it (no instant to name), then done
    assert sched.next(wait.until) == Wait(None, "lines")
    sched.record(place, AttemptOutcome("LA", 16, None, 2.0, 3.0))
    assert sched.next(wait.until) == Wait(wait.until + 5000, "lines")  # the line is busy
    assert sched.next(wait.until + 5000) == Done(wait.until + 5000)


def test_lost_attempts_follow_the_retry_policy() -> None:
    plain = Scheduler(Rules(1, 1.0, 3, frozenset({"BUSY"}), 10.0, "UTC"), [])
    plain.lost(7, 1, 1000.0)
    (update,) = plain.take_updates()
    assert (update.recipient_id, update.attempts, update.final_result) == (7, 1, "INTERNAL_ERROR")
    retrying = Scheduler(Rules(1, 1.0, 3, frozenset({"INTERNAL_ERROR"}), 10.0, "UTC"), [])
    retrying.lost(7, 1, 1000.0)
    (update,) = retrying.take_updates()
    assert (update.attempts, update.final_result, update.next_at) == (1, None, 1600.0)
    retrying.lost(8, 3, 1000.0)  # the last attempt allowed: final
    assert retrying.take_updates()[0].final_result == "INTERNAL_ERROR"


def test_the_scheduler_does_no_io() -> None:
    """No I/O module in the scheduler nor in the broadcast modules it imports (transitively)."""
    seen: set[Path] = set()
    todo = sorted((PACKAGE / "broadcast" / "scheduler").glob("*.py"))
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        names = imports_of(path)
        bad = {n for n in names if n.split(".")[0] in IO_MODULES}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"
        for name in names:
            if name.startswith("dialplan.broadcast."):
                target = PACKAGE.parent / Path(*name.split("."))
                for candidate in (target.with_suffix(".py"), target / "__init__.py"):
                    if candidate.exists():
                        todo.append(candidate)
    assert PACKAGE / "broadcast" / "telephony" / "port.py" in seen
