"""When a call may start: campaign schedules ∩ the recipient's local calling window.

Times are epoch seconds (floats). Each constraint answers ``interval(t)``: the first allowed
interval ``[a, b)`` with ``b > t`` (``None``: never again). Local wall-clock times are turned
into instants with zoneinfo, DST-correct and conservative: a window begins at the *last* instant
showing its begin time (ambiguous fall-back hour) or after a spring-forward gap, and ends at the
*first* instant showing its end time — so the local wall clock at any allowed instant is always
inside ``[begin, end)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from ..campaign import Campaign, LocalTimeRestriction, Schedule

Interval = tuple[float, float]
_MAX_DAYS = 800


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _instant(day: date, seconds: int, zone: ZoneInfo, *, first: bool) -> float:
    """The instant a wall clock in ``zone`` shows ``day`` + ``seconds``.

    ``first``: earliest such instant (used for ends); otherwise the latest (used for begins).
    A wall time inside a gap maps to the gap's edge that keeps the window conservative.
    """
    if seconds >= 86400:
        day, seconds = day + timedelta(days=1), seconds - 86400
    naive = datetime.combine(day, time(seconds // 3600, seconds // 60 % 60, seconds % 60))
    t0 = naive.replace(tzinfo=zone, fold=0).timestamp()
    t1 = naive.replace(tzinfo=zone, fold=1).timestamp()
    ok0 = datetime.fromtimestamp(t0, zone).replace(tzinfo=None) == naive
    ok1 = datetime.fromtimestamp(t1, zone).replace(tzinfo=None) == naive
    if ok0 and ok1:
        return min(t0, t1) if first else max(t0, t1)
    if ok0 or ok1:
        return t0 if ok0 else t1
    # in a gap: for a begin, the later candidate is after the gap (wall time > naive);
    # for an end, the earlier candidate is before the gap (wall time < naive)
    return min(t0, t1) if first else max(t0, t1)


class DailyWindow:
    """``[begin, end)`` local minutes every day in one zone (end < begin wraps midnight)."""

    def __init__(self, restriction: LocalTimeRestriction, zone: str) -> None:
        self.begin = restriction.begin * 60
        self.end = restriction.end * 60
        self.zone = _zone(zone)

    def _on(self, day: date) -> Interval:
        a = _instant(day, self.begin, self.zone, first=False)
        end_day = day if self.end > self.begin else day + timedelta(days=1)
        b = _instant(end_day, self.end, self.zone, first=True)
        return a, b

    @property
    def zone_name(self) -> str:
        return self.zone.key

    def interval(self, t: float) -> Interval | None:
        day = datetime.fromtimestamp(t, self.zone).date() - timedelta(days=1)
        for _ in range(5):
            a, b = self._on(day)
            if b > t and b > a:
                return a, b
            day += timedelta(days=1)
        return None  # pragma: no cover - every day has a window


class ScheduleSet:
    """The union of a campaign's schedules."""

    def __init__(self, schedules: Sequence[Schedule]) -> None:
        self.schedules = tuple(schedules)

    @staticmethod
    def _one(s: Schedule, t: float) -> Interval | None:
        zone = _zone(s.time_zone)
        day = datetime.fromtimestamp(t, zone).date() - timedelta(days=1)
        if s.start_date and day < s.start_date:
            day = s.start_date
        for _ in range(_MAX_DAYS):
            if s.stop_date and day > s.stop_date:
                return None
            if day.weekday() in s.days_of_week:
                a = _instant(day, s.start_time, zone, first=False)
                b = _instant(day, s.stop_time, zone, first=True)
                if b > t and b > a:
                    return a, b
            day += timedelta(days=1)
        return None

    def zone_at(self, t: float) -> str:
        """The zone of the schedule that opens first after ``t`` (the campaign's clock)."""
        found = [(iv[0], s.time_zone) for s in self.schedules if (iv := self._one(s, t))]
        return min(found)[1] if found else self.schedules[0].time_zone

    def interval(self, t: float) -> Interval | None:
        found = [iv for s in self.schedules if (iv := self._one(s, t)) is not None]
        if not found:
            return None
        found.sort()
        a, b = found[0]
        # merge touching/overlapping schedule intervals (a few rounds are enough)
        for _ in range(8):
            changed = False
            for s in self.schedules:
                nxt = self._one(s, b)
                if nxt is not None and nxt[0] <= b < nxt[1]:
                    b = nxt[1]
                    changed = True
            if not changed:
                break
        return a, b


class Until:
    """``resume_next_day = false``: no call starts at or after ``deadline`` (the end of the
    campaign's first calling day); who is left is finished ``UNDIALED``."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def interval(self, t: float) -> Interval | None:
        return (t, self.deadline) if t < self.deadline else None


Constraint = DailyWindow | ScheduleSet | Until


class Windows:
    """Allowed call-start times for one zone key (the recipient's possible zones)."""

    def __init__(self, constraints: Sequence[Constraint]) -> None:
        self.constraints = tuple(constraints)
        self._cache: tuple[float, float, float] | None = None  # (asked_at, a, b)

    def interval(self, t: float) -> Interval | None:
        """First allowed ``[a, b)`` with ``b > t`` and ``a >= t`` clipped to ``t``."""
        if not self.constraints:
            return (t, float("inf"))
        cur = t
        horizon: float | None = None
        while horizon is None or cur < horizon:
            ivs = []
            for c in self.constraints:
                iv = c.interval(cur)
                if iv is None:
                    return None
                ivs.append(iv)
            a = max(max(iv[0] for iv in ivs), cur)
            b = min(iv[1] for iv in ivs)
            if a < b:
                return a, b
            if horizon is None:
                # daily windows repeat: no overlap within two weeks of the first candidate
                # means they never overlap
                horizon = a + 15 * 86400.0
            cur = a
        return None  # the constraints never overlap (e.g. disjoint windows of two zones)

    def next_open(self, t: float) -> float | None:
        """The first instant ``>= t`` at which a call may start (``None``: never)."""
        c = self._cache
        if c is not None and c[0] <= t < c[2]:
            return max(t, c[1]) if c[1] != float("inf") else None
        iv = self.interval(t)
        if iv is None:
            self._cache = (t, float("inf"), float("inf"))
            return None
        self._cache = (t, iv[0], iv[1])
        return max(t, iv[0])

    def allowed(self, t: float) -> bool:
        return self.next_open(t) == t

    def blocker(self, t: float) -> tuple[str, str] | None:
        """Why no call may start at ``t``: ``("calling window", zone)`` for the recipient's
        local window, ``("schedule", zone)`` for the campaign schedules — the constraint that
        opens last — or ``None`` when a call may start at ``t``."""
        latest: tuple[float, str, str] | None = None
        for c in self.constraints:
            iv = c.interval(t)
            opens = iv[0] if iv is not None else float("inf")
            if opens <= t:
                continue
            if isinstance(c, DailyWindow):
                why = (opens, "calling window", c.zone_name)
            elif isinstance(c, Until):
                why = (opens, "first calling day over (resume_next_day = false)", "")
            else:
                why = (opens, "schedule", c.zone_at(t))
            if latest is None or why[0] > latest[0]:
                latest = why
        return None if latest is None else (latest[1], latest[2])


def first_day_end(campaign: Campaign, start: float) -> float:
    """The end (local midnight) of the day on which the campaign's calling first opens at or
    after ``start``, in its first schedule's time zone (else its default time zone)."""
    zone_name = (
        campaign.schedules[0].time_zone if campaign.schedules else campaign.default_time_zone
    )
    opens = start
    if campaign.schedules:
        iv = ScheduleSet(campaign.schedules).interval(start)
        opens = max(iv[0], start) if iv is not None else start
    zone = _zone(zone_name)
    day = datetime.fromtimestamp(opens, zone).date() + timedelta(days=1)
    return _instant(day, 0, zone, first=True)


def windows_for(campaign: Campaign, zones: Sequence[str], until: float | None = None) -> Windows:
    """The windows of a recipient whose number may be in any of ``zones`` (all must allow);
    ``until``: no call after it (``resume_next_day = false``, see :func:`first_day_end`)."""
    constraints: list[Constraint] = []
    if until is not None:
        constraints.append(Until(until))
    if campaign.schedules:
        constraints.append(ScheduleSet(campaign.schedules))
    if campaign.local_time_restriction is not None:
        for z in zones or (campaign.default_time_zone,):
            constraints.append(DailyWindow(campaign.local_time_restriction, z))
    return Windows(constraints)
