"""The drain's bound (:class:`~dialplan.broadcast.stopping.DrainDeadline`), shared by the SQLite
real-clock runner and the PostgreSQL worker: due once, ``drain_s`` after it began; cancelled
when the campaign runs again, and begun afresh by the next stop."""

from __future__ import annotations

import time

from dialplan.broadcast.stopping import DrainDeadline, hang_up
from dialplan.broadcast.telephony.port import AttemptOutcome, CallRequest


def test_due_once_after_the_drain_timeout() -> None:
    drain = DrainDeadline(0.5)
    assert not drain.due() and drain.left(5.0) == 5.0  # not draining: nothing to wait for
    assert drain.begin() and not drain.begin()  # a drain begins once
    assert not drain.due() and 0.0 < drain.left(5.0) <= 0.5
    time.sleep(0.55)
    assert drain.left(5.0) == 0.0
    assert drain.due() and not drain.due()  # hang up once
    assert drain.left(5.0) == 5.0


def test_a_cancelled_drain_begins_afresh() -> None:
    drain = DrainDeadline(0.5)
    drain.begin()
    time.sleep(0.55)
    drain.cancel()  # running again before the deadline was looked at
    assert not drain.due()
    assert drain.begin()
    assert not drain.due()  # a new full drain_s
    time.sleep(0.55)
    assert drain.due()


class _Plain:
    """A driver that cannot hang up (its calls run to their end)."""

    clocks = frozenset({"real"})
    unsupported: frozenset[type] = frozenset()

    async def open(self) -> None: ...

    async def dial(self, call: CallRequest, at: float) -> AttemptOutcome:
        return AttemptOutcome("LA", 16, None, 1.0, 1.0)

    async def close(self) -> None: ...


class _Hangs(_Plain):
    def __init__(self) -> None:
        self.hung = 0

    def hang_up_all(self) -> None:
        self.hung += 1


def test_hang_up_goes_through_the_driver_when_it_can() -> None:
    hangs = _Hangs()
    assert hang_up(hangs) and hangs.hung == 1
    assert not hang_up(_Plain())
