"""Calling windows: recipient-local restriction (DST-correct) and campaign schedules."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialplan.broadcast.campaign import LocalTimeRestriction, Schedule
from dialplan.broadcast.scheduler.windows import DailyWindow, ScheduleSet, Windows
from dialplan.broadcast.service import run_campaign

from .helpers import campaign, fake_runner

ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "Europe/London",
    "Australia/Lord_Howe",  # 30-minute DST shift
]
# instants around the 2026 DST changes (US: Mar 8 / Nov 1; EU: Mar 29 / Oct 25)
AROUND = [
    datetime(2026, m, d, tzinfo=UTC).timestamp()
    for m, d in ((3, 8), (11, 1), (3, 29), (10, 25), (4, 5))
]


def in_window(t: float, zone: str, begin: int, end: int) -> bool:
    local = datetime.fromtimestamp(t, ZoneInfo(zone))
    minute = local.hour * 60 + local.minute + local.second / 60
    if begin < end:
        return begin <= minute < end
    return minute >= begin or minute < end


minutes = st.integers(0, 24 * 60 - 1)


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    begin=minutes,
    end=minutes,
    base=st.sampled_from(AROUND),
    offset=st.floats(-3 * 86400, 3 * 86400),
)
def test_next_open_is_inside_the_local_window(
    zone: str, begin: int, end: int, base: float, offset: float
) -> None:
    if begin == end:
        return
    w = Windows([DailyWindow(LocalTimeRestriction(begin, end), zone)])
    t = base + offset
    opens = w.next_open(t)
    assert opens is not None and opens >= t
    assert in_window(opens, zone, begin, end)
    # nothing earlier was allowed (checked on a minute grid)
    probe = t
    while probe < opens - 60:
        assert not in_window(probe, zone, begin, end) or _gap_edge(probe, zone)
        probe += 300


def _gap_edge(t: float, zone: str) -> bool:
    """Near a DST change the conservative mapping may open a little late."""
    z = ZoneInfo(zone)
    return datetime.fromtimestamp(t, z).utcoffset() != datetime.fromtimestamp(
        t + 7200, z
    ).utcoffset() or (
        datetime.fromtimestamp(t - 7200, z).utcoffset() != datetime.fromtimestamp(t, z).utcoffset()
    )


def test_window_on_spring_forward_day_new_york() -> None:
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT; window 02:30-03:30 local
    w = DailyWindow(LocalTimeRestriction(150, 210), "America/New_York")
    a, b = w.interval(datetime(2026, 3, 8, 5, 0, tzinfo=UTC).timestamp())  # 00:00 EST
    z = ZoneInfo("America/New_York")
    assert datetime.fromtimestamp(a, z).time() >= time(2, 30)
    assert datetime.fromtimestamp(b, z).time() == time(3, 30)


def test_window_on_fall_back_day_uses_last_begin_and_first_end() -> None:
    # 2026-11-01: 01:00-02:00 happens twice in New York; window 01:30-09:00
    z = ZoneInfo("America/New_York")
    w = DailyWindow(LocalTimeRestriction(90, 540), "America/New_York")
    a, _ = w.interval(datetime(2026, 11, 1, 4, 0, tzinfo=UTC).timestamp())
    local = datetime.fromtimestamp(a, z)
    assert local.time() == time(1, 30) and local.utcoffset() == timedelta(hours=-5)


def test_schedule_days_and_dates() -> None:
    s = ScheduleSet(
        [
            Schedule(
                time_zone="America/New_York",
                start_date=datetime(2026, 12, 1).date(),
                stop_date=datetime(2026, 12, 31).date(),
                start_time=10 * 3600,
                stop_time=12 * 3600,
                days_of_week=(0, 2),  # Monday, Wednesday
            )
        ]
    )
    z = ZoneInfo("America/New_York")
    a, b = s.interval(datetime(2026, 11, 20, tzinfo=UTC).timestamp())
    start = datetime.fromtimestamp(a, z)
    assert start.date().isoformat() == "2026-12-02" and start.time() == time(10)  # a Wednesday
    assert b - a == 2 * 3600
    assert s.interval(datetime(2027, 1, 1, tzinfo=UTC).timestamp()) is None


ZONED_NUMBERS = {
    "2125550101": ["America/New_York"],
    "3125550102": ["America/Chicago"],
    "3035550103": ["America/Denver"],
    "6025550104": ["America/Phoenix"],
    "4155550105": ["America/Los_Angeles"],
    "9075550106": ["America/Anchorage", "America/Adak"],
    "8085550107": ["Pacific/Honolulu"],
}


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    begin=st.integers(0, 23 * 60),
    length=st.integers(30, 14 * 60),
    start=st.sampled_from(["2026-03-06T12:00:00Z", "2026-10-30T20:00:00Z", "2026-12-01T03:00:00Z"]),
    seed=st.integers(0, 1000),
    gap=st.integers(0, 600),
)
def test_no_attempt_starts_outside_the_recipients_window(
    tmp_path_factory: object, begin: int, length: int, start: str, seed: int, gap: int
) -> None:
    end = (begin + length) % (24 * 60)
    tmp = tmp_path_factory.mktemp("w")  # type: ignore[attr-defined]
    rows = [{"phone_number": n} for n in ZONED_NUMBERS for _ in range(3)]
    c = campaign(
        tmp,
        rows,
        scrub_duplicates=False,
        max_active=2,
        calls_per_second=0.5,
        tables={
            "retry_config": {
                "max_attempts": 3,
                "minutes_between_attempts": gap,
                "retry_results": ["BUSY", "NO_ANS", "LA", "AM", "CARRIER_ERROR"],
            },
            "local_time_restriction": {
                "begin": f"{begin // 60:02d}:{begin % 60:02d}",
                "end": f"{end // 60:02d}:{end % 60:02d}",
            },
            "simulation": {"seed": seed, "start": start},
        },
    )
    run_campaign(c, tmp / "db.sqlite", runner=fake_runner)
    db = sqlite3.connect(tmp / "db.sqlite")
    rows_db = db.execute(
        "SELECT r.e164, a.started_at FROM attempts a JOIN recipients r ON r.id = a.recipient_id"
    ).fetchall()
    single = [r for r in rows_db if len(ZONED_NUMBERS[r[0][2:]]) == 1]
    assert len(single) == 18 * 3  # every attempt happened (retry on every result)
    for e164, started in rows_db:
        for zone in ZONED_NUMBERS[e164[2:]]:
            assert in_window(started, zone, begin, end), (e164, zone, started)
