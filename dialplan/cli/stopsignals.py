"""Ctrl-C and SIGTERM of a real-clock ``broadcast run``: the first drains, the second stops at once.

While the block runs, SIGINT and SIGTERM request a stop (:class:`~dialplan.broadcast.stopping.
StopRequest`) instead of raising: no new call is placed and the calls in flight end with their
real results; a second signal ends the run at once. The previous handlers come back afterwards.
"""

from __future__ import annotations

import os
import signal
from types import FrameType, TracebackType
from typing import Any

from ..broadcast.stopping import StopRequest

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals(StopRequest):
    """A stop request fed by SIGINT/SIGTERM inside a ``with`` block (main thread only)."""

    def __init__(self) -> None:
        super().__init__()
        #: the last signal received (the exit status is 128 + it)
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum
        first = not self.draining
        self.request()
        note = (
            b"dialplan: stopping: no new calls; the calls in flight end (again: stop at once)\n"
            if first
            else b"dialplan: stopping at once\n"
        )
        os.write(2, note)  # async-signal-safe, unlike print

    def __enter__(self) -> StopSignals:
        for sig in _SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)

    @property
    def exit_code(self) -> int:
        """128 + the signal that stopped the run (130 for Ctrl-C)."""
        return 128 + (self.signum or signal.SIGINT)
