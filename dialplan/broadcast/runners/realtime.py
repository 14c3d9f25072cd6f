"""The real-clock runner: one asyncio loop for the scheduler, the calls and the webhooks.

Calls are lived: the driver's ``dial`` runs on this loop (the SIP driver's sockets included — no
thread bridge) and up to ``max_active`` of them are in flight at once. Before a call is placed its
attempt is committed (:meth:`~.common.Booking.start`), so a runner that dies mid-call never
dials that attempt again: on resume it is booked ``INTERNAL_ERROR`` and the retry policy decides.
Webhook events are delivered by a separate task (:mod:`..webhooks.async_delivery`), so a receiver
that hangs never delays a call.

A stop (:mod:`..stopping`) drains: the scheduler is told (:meth:`~..scheduler.core.Scheduler.stop`)
and places nothing new, the calls in flight are booked as they end, and after ``drain_s`` the
driver hangs up those still up (:class:`~..stopping.DrainDeadline`). A second stop ends the run
at once; the calls then in flight are booked ``INTERNAL_ERROR`` when the campaign resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any, assert_never

from ..scheduler.core import Done, Fetch, Place, Scheduler, Wait
from ..stopping import DrainDeadline, StopRequest, hang_up
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
    stop: StopRequest | None = None,
    drain_s: float = 30.0,
) -> int:
    """Run until nobody can be called any more and every call has ended, or until stopped
    (then ``sched.stopping``); returns the clock (ms). ``background``: a coroutine run beside
    the calls (webhook delivery), cancelled at the end. ``stop``/``drain_s``: see the module
    docstring."""
    in_flight: dict[asyncio.Task[AttemptOutcome], Place] = {}
    helper = asyncio.create_task(background()) if background is not None else None
    drain = _Drain(stop, drain_s, driver)
    await driver.open()
    try:
        booking.recover(sched)
        booking.report(sched, _now_ms())
        last_commit = time.monotonic()
        while True:
            _harvest(sched, booking, in_flight, [t for t in in_flight if t.done()])
            if drain.check(sched):
                end = _now_ms()  # stopped at once: what is in flight stays in flight
                break
            if drain.heard:
                drain.heard = False
                booking.report(sched, _now_ms())  # phase "stopping"
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
                    timeout = drain.timeout(commit_seconds)
                    if action.until is not None:
                        timeout = min(timeout, max(action.until - now, 0) / 1000)
                    done, _ = await asyncio.wait(
                        [*in_flight, drain.waiter()],
                        timeout=timeout,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    _harvest(sched, booking, in_flight, [t for t in done if t in in_flight])
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
        drain.close()
        for task in in_flight:
            task.cancel()
        if helper is not None:
            helper.cancel()
            await asyncio.gather(helper, return_exceptions=True)
        await driver.close()


class _Drain:
    """A run's stop, on the runner's loop: when to tell the scheduler, when to hang up."""

    def __init__(self, stop: StopRequest | None, drain_s: float, driver: TelephonyPort) -> None:
        self.stop = stop
        self.driver = driver
        self.deadline = DrainDeadline(drain_s)  # hang up what is still up then
        self.heard = False  # the stop was just fed to the scheduler (report it)
        self.event = asyncio.Event()
        self._waiter: asyncio.Task[Any] | None = None
        self._remove: Callable[[], None] | None = None
        if stop is not None:
            loop = asyncio.get_running_loop()

            def wake() -> None:  # from any thread, or a signal handler
                with contextlib.suppress(RuntimeError):  # the run ended, its loop closed
                    loop.call_soon_threadsafe(self.event.set)

            self._remove = stop.on_request(wake)

    def check(self, sched: Scheduler) -> bool:
        """Feed a new stop to the scheduler, hang up at the deadline; True: stop at once."""
        self.event.clear()
        if self.stop is None or not self.stop.draining:
            return False
        if self.stop.at_once:
            sched.stop()
            return True
        if not sched.stopping:
            sched.stop()
            self.heard = True
            self.deadline.begin()
        if self.deadline.due():
            hang_up(self.driver)
        return False

    def timeout(self, longest: float) -> float:
        """How long a wait may last before the drain needs attention."""
        return self.deadline.left(longest)

    def waiter(self) -> asyncio.Task[Any]:
        """A task that ends with the next stop request (reused until then)."""
        if self._waiter is None or self._waiter.done():
            self._waiter = asyncio.ensure_future(self.event.wait())
        return self._waiter

    def close(self) -> None:
        if self._remove is not None:
            self._remove()
        if self._waiter is not None:
            self._waiter.cancel()


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
