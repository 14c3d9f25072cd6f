"""``broadcast run``'s progress display: a live bar on a terminal, periodic lines elsewhere.

Both render the :class:`~dialplan.broadcast.progress.Progress` snapshots the run reports: done
of total, ETA, the running counts of final results, the campaign clock (the virtual one in
virtual time) and, on the real clock, what the run is waiting for ("waiting for the calling
window until 14:00 America/Chicago").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from ..broadcast.progress import Progress, Waiting
from ..broadcast.reporting.report import RESULT_CODES

#: seconds between two lines when the output is not a terminal (CI logs, pipes)
LINE_INTERVAL = 10.0

_REASONS = {
    "calling window": "the calling window",
    "schedule": "the campaign schedule",
    "retry": "the next retries",
}


def waiting_text(w: Waiting, now: float) -> str:
    """``waiting for the calling window until 14:00 America/Chicago`` (the date when it is not
    today in that zone)."""
    zone = ZoneInfo(w.zone)
    at = datetime.fromtimestamp(w.until, zone)
    when = at.strftime("%H:%M:%S" if at.second else "%H:%M")
    if at.date() != datetime.fromtimestamp(now, zone).date():
        when = f"{at:%a} {at.day} {at:%b} {when}"
    return f"waiting for {_REASONS.get(w.reason, w.reason)} until {when} {w.zone}"


def clock_text(p: Progress) -> str:
    if p.clock is None:
        return ""
    moment = datetime.fromtimestamp(p.clock, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"virtual clock {moment}" if p.virtual else moment


def counts_text(results: Mapping[str, int]) -> str:
    """``LA 80 · AM 20 · BUSY 3`` in the report's order of result codes (zero counts left out)."""
    known = [c for c in RESULT_CODES if results.get(c)]
    other = sorted(c for c in results if c not in RESULT_CODES and results[c])
    return " · ".join(f"{c} {results[c]:,}" for c in known + other)


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class Eta:
    """Remaining time from the speed so far (recipients finished per wall-clock second)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._start: tuple[float, int] | None = None

    def __call__(self, p: Progress) -> str:
        if p.phase != "calling":
            return ""
        now = self._monotonic()
        if self._start is None:
            self._start = (now, p.done)
        t0, done0 = self._start
        left = p.total - p.done
        if left <= 0:
            return "ETA 0:00:00"
        if p.done <= done0 or now <= t0:
            return "ETA --"
        return f"ETA {_duration(left * (now - t0) / (p.done - done0))}"


def status(p: Progress, eta: str = "") -> tuple[str, str]:
    """(what is happening, details) of one snapshot."""
    if p.waiting is not None:
        head = waiting_text(p.waiting, p.clock if p.clock is not None else time.time())
    elif p.phase == "loading":
        head = f"loading recipients: {p.done:,} rows"
    elif p.phase == "finished":
        head = "finished"
    elif p.phase == "stopping":
        head = "stopping: no new calls, the calls in flight end (stop again: at once)"
    elif p.phase == "stopped":
        head = "stopped (run again to resume)"
    elif p.phase == "delivering":
        return f"delivering webhook events: {p.total:,} pending", ""
    else:
        head = "calling"
    details = [counts_text(p.results), clock_text(p)]
    if p.phase != "loading":
        details.insert(0, f"{p.done:,}/{p.total:,} done")
        if p.attempts:
            details.insert(1, f"{p.attempts:,} calls placed")
    if p.waiting is None:
        details.append(eta)
    return head, " · ".join(d for d in details if d)


class LineProgress:
    """Plain lines to ``out``: at a change of phase or of what the run waits for, and at most
    every ``interval`` seconds otherwise (readable in CI logs; no spinner, no control codes)."""

    def __init__(
        self,
        out: TextIO,
        interval: float = LINE_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out
        self.interval = interval
        self._monotonic = monotonic
        self._eta = Eta(monotonic)
        self._last: tuple[float, str, Waiting | None] | None = None

    def __call__(self, p: Progress) -> None:
        now = self._monotonic()
        eta = self._eta(p)
        last = self._last
        if (
            last is not None
            and last[1:] == (p.phase, p.waiting)
            and p.phase != "finished"
            and now - last[0] < self.interval
        ):
            return
        self._last = (now, p.phase, p.waiting)
        head, details = status(p, eta)
        self.out.write(f"{head}: {details}\n" if details else f"{head}\n")
        self.out.flush()


class LiveProgress:
    """A rich progress bar (on a terminal): what is happening, the bar, the details."""

    def __init__(self, console: Any = None) -> None:
        from rich.progress import BarColumn, TextColumn
        from rich.progress import Progress as Bar

        self._bar = Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[details]}"),
            transient=True,
            console=console,
        )
        self._task = self._bar.add_task("loading", total=None, details="")
        self._eta = Eta()

    def __enter__(self) -> LiveProgress:
        self._bar.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.__exit__(kind, exc, tb)

    def __call__(self, p: Progress) -> None:
        head, details = status(p, self._eta(p))
        # the loading phase counts rows: done/total would read "1,000/0"
        total = p.total or None
        self._bar.update(
            self._task, description=head, completed=p.done, total=total, details=details
        )
        self._bar.refresh()
