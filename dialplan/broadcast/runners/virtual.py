"""The virtual-time runner: the scheduler's decisions on a clock that never waits.

Calls are computed, not lived (the driver's ``dial`` never suspends: :func:`~..telephony.port.run_now`),
so each attempt is booked the moment it is placed and the clock jumps to the next instant the
scheduler names. Work is committed in batches with the scheduler's state; attempts after the last
commit are recomputed identically on resume (the simulated driver is seeded per attempt).
A stop (:mod:`..stopping`) is heard at the next commit: no call is ever in flight here, so the
run ends there (``sched.stopping``) and the next one resumes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import assert_never

from ..scheduler.core import Done, Fetch, Place, Scheduler, Wait
from ..stopping import StopRequest
from ..telephony.port import AttemptOutcome, CallRequest, TelephonyPort, run_now
from ..telephony.simulated import SimulatedDriver
from .common import Booking


def _computing(driver: TelephonyPort) -> Callable[[CallRequest, float], AttemptOutcome]:
    """The driver's dial as a plain function: the simulated driver's own computation when its
    calls are not lived (no coroutine per call), else its ``dial`` run to completion."""
    if isinstance(driver, SimulatedDriver) and not driver.lived:
        return driver.place
    dial = driver.dial
    return lambda call, at: run_now(dial(call, at))


def run_virtual(
    sched: Scheduler,
    booking: Booking,
    driver: TelephonyPort,
    start_ms: int,
    *,
    commit_every: int = 10_000,
    commit_seconds: float = 2.0,
    stop: StopRequest | None = None,
) -> int:
    """Run until nobody can be called any more, or until ``stop`` is requested (then
    ``sched.stopping``); returns the final (virtual) clock in ms."""
    now = sched.now or start_ms
    since_commit = 0
    last_commit = time.monotonic()
    booking.report(sched, now)
    run_now(driver.open())
    place = _computing(driver)
    while True:
        action = sched.next(now)
        match action:
            case Place():
                now = action.at
                out = place(booking.request(action), now / 1000)
                booking.book(sched, action, out)
                since_commit += 1
                if since_commit >= commit_every or (
                    time.monotonic() - last_commit >= commit_seconds
                ):
                    booking.checkpoint(sched, now)
                    since_commit = 0
                    last_commit = time.monotonic()
                    if stop is not None and stop.draining:
                        sched.stop()
            case Wait():
                assert action.until is not None  # no call is ever in flight here
                now = action.until
                if stop is not None and stop.draining:
                    sched.stop()
            case Fetch():
                booking.fetch(sched, action.zone_id, action.after)
            case Done():
                end = action.at
                break
            case _:
                assert_never(action)
    sched.now = end
    sched.active.clear()
    booking.checkpoint(sched, end)
    run_now(driver.close())
    return end
