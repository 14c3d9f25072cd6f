"""The real-clock runner: one asyncio loop for the scheduler, the calls and the webhooks.

Calls are lived: the driver's ``dial`` runs on this loop (the SIP driver's sockets included — no
thread bridge) and up to ``max_active`` of them are in flight at once. Before a call is placed its
attempt is committed (:meth:`~.common.Booking.start`), so a runner that dies mid-call never
dials that attempt again: on resume it is booked ``INTERNAL_ERROR`` and the retry policy decides.
Webhook events are delivered by a separate task (:mod:`..webhooks.async_delivery`), so a receiver
that hangs never delays a call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, assert_never

from ..scheduler.core import Done, Fetch, Place, Scheduler, Wait
from ..telephony.port import AttemptOutcome, TelephonyPort
from .common import Booking

#: real-clock waits shorter than this (ms) are not announced (the rate limit, short retries)
ANNOUNCE_WAIT_MS = 1000


def _now_ms() -> int:
    return int(time.time() * 1000)


async def run_real(
    sched: Scheduler,
    booking: Booking,
    driver: TelephonyPort,
    *,
    commit_seconds: float = 2.0,
    background: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> int:
    """Run until nobody can be called any more and every call has ended; returns the clock
    (ms). ``background``: a coroutine run beside the calls (webhook delivery), cancelled at
    the end."""
    in_flight: dict[asyncio.Task[AttemptOutcome], Place] = {}
    helper = asyncio.create_task(background()) if background is not None else None
    await driver.open()
    try:
        booking.recover(sched)
        booking.report(sched, _now_ms())
        last_commit = time.monotonic()
        while True:
            _harvest(sched, booking, in_flight, [t for t in in_flight if t.done()])
            if time.monotonic() - last_commit >= commit_seconds:
                booking.checkpoint(sched, _now_ms())
                last_commit = time.monotonic()
            action = sched.next(_now_ms())
            match action:
                case Place():
                    booking.waiting = None
                    if action.at > _now_ms():  # the rate: starts 1/cps apart
                        await asyncio.sleep((action.at - _now_ms()) / 1000)
                    booking.start(sched, action)  # committed before the call is placed
                    request = booking.request(action)
                    task = asyncio.create_task(driver.dial(request, action.at / 1000))
                    in_flight[task] = action
                    await asyncio.sleep(0)  # let the call start before the next decision
                case Wait():
                    booking.flush(sched)
                    booking.store.commit()  # no lock held while calls ring
                    now = _now_ms()
                    if action.until is not None and action.until - now >= ANNOUNCE_WAIT_MS:
                        waiting = sched.why(action)
                        if waiting is not None and waiting != booking.waiting:
                            booking.waiting = waiting
                            booking.report(sched, now)
                    timeout = commit_seconds
                    if action.until is not None:
                        timeout = min(timeout, max(action.until - now, 0) / 1000)
                    if in_flight:
                        done, _ = await asyncio.wait(
                            in_flight, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                        )
                        _harvest(sched, booking, in_flight, list(done))
                    else:
                        await asyncio.sleep(timeout)
                case Fetch():
                    booking.fetch(sched, action.zone_id, action.after)
                case Done():
                    end = max(action.at, _now_ms())
                    break
                case _:
                    assert_never(action)
        sched.now = end
        sched.active.clear()
        booking.checkpoint(sched, end)
        return end
    finally:
        for task in in_flight:
            task.cancel()
        if helper is not None:
            helper.cancel()
            await asyncio.gather(helper, return_exceptions=True)
        await driver.close()


def _harvest(
    sched: Scheduler,
    booking: Booking,
    in_flight: dict[asyncio.Task[AttemptOutcome], Place],
    done: list[asyncio.Task[AttemptOutcome]],
) -> None:
    for task in done:
        place = in_flight.pop(task)
        try:
            out = task.result()
        except Exception as exc:  # the driver broke: count it as a carrier error
            booking.errors.append(repr(exc))
            out = AttemptOutcome("CARRIER_ERROR", 41, None, 0.0, 0.0)
        booking.book(sched, place, out)
