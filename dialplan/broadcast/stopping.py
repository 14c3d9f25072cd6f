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
"""

from __future__ import annotations

import threading
from collections.abc import Callable


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
