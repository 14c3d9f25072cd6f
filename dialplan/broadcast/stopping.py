"""Stopping a run gracefully: the first request drains, a second one ends it at once.

A :class:`StopRequest` is shared between whoever stops a run (the service's stop button, its
shutdown, a signal handler of ``broadcast run``) and the runner. The first :meth:`request`
starts a *drain*: no new call is placed, the calls in flight run to their end (for at most the
runner's drain timeout, after which the driver hangs them up) and are booked with their real
results; then the run returns and the next start resumes with what is left. A second request
while it drains ends the run at once, as a stop did before drains existed: the calls still in
flight are booked ``INTERNAL_ERROR`` when the campaign resumes.

Requests may come from any thread or from a signal handler; the runner hears them through
:meth:`on_request` callbacks (the real-clock runner wakes its event loop with one).

:class:`DrainDeadline` is the drain's bound, shared by the SQLite real-clock runner and the
PostgreSQL worker: ``drain_s`` seconds after the drain began, :func:`hang_up` ends the calls still
up through the driver, which reports each as a call we hung up (answered: its result with the
talk so far, the dialplan hearing the line drop; ringing: cancelled, ``NO_ANS`` cause 19) — the
runner books that outcome, never ``INTERNAL_ERROR``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .telephony.port import HangsUp, TelephonyPort


class StopRequest:
    """How many times a run was asked to stop (0: not, 1: drain, 2 or more: at once)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    @property
    def draining(self) -> bool:
        """Asked to stop: place no new call."""
        return self.count >= 1

    @property
    def at_once(self) -> bool:
        """Asked twice: end now, without waiting for the calls in flight."""
        return self.count >= 2

    def request(self) -> None:
        """Ask the run to stop (drain first, at once when asked again)."""
        self.count += 1
        for callback in list(self._callbacks):
            callback()

    def on_request(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` on every later request; returns the function that unregisters it."""
        with self._lock:
            self._callbacks.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return remove


class DrainDeadline:
    """When a drain hangs up: ``drain_s`` seconds after it began (monotonic clock), once."""

    def __init__(self, drain_s: float) -> None:
        self.drain_s = drain_s
        self.at: float | None = None  # monotonic; None: not draining
        self.hung_up = False

    def begin(self) -> bool:
        """Start the drain (again after :meth:`cancel`); True if it just began."""
        if self.at is not None:
            return False
        self.at = time.monotonic() + self.drain_s
        self.hung_up = False
        return True

    def cancel(self) -> None:
        """No longer draining (the campaign runs again)."""
        self.at = None

    def due(self) -> bool:
        """True once, when the deadline has passed: hang up the calls still up now."""
        if self.at is None or self.hung_up or time.monotonic() < self.at:
            return False
        self.hung_up = True
        return True

    def left(self, longest: float) -> float:
        """How long a wait may last before the deadline needs attention."""
        if self.at is None or self.hung_up:
            return longest
        return max(0.0, min(longest, self.at - time.monotonic()))


def hang_up(driver: TelephonyPort) -> bool:
    """End the driver's calls in flight now (see :class:`~.telephony.port.HangsUp`); False
    when it cannot (its calls then run to their end)."""
    if isinstance(driver, HangsUp):
        driver.hang_up_all()
        return True
    return False
