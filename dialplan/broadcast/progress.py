"""What a running campaign reports about itself: plain snapshots, no I/O (the CLI renders them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Waiting:
    """Nobody can be dialled before ``until`` (epoch seconds), and why.

    ``reason`` is ``"calling window"`` (the recipients' local window), ``"schedule"`` (the
    campaign's schedules) or ``"retry"`` (the next attempts are not due yet); ``zone`` is the
    IANA zone whose wall clock the reason is expressed in.
    """

    until: float
    reason: str
    zone: str


@dataclass(frozen=True, slots=True)
class Progress:
    """One snapshot of a run.

    ``phase`` is ``loading`` (``done`` rows read, ``total`` 0: unknown), ``calling`` (``done`` of
    ``total`` recipients have a final result), ``stopping`` (asked to stop: no new call, the
    calls in flight end), ``stopped`` (the next run resumes), ``finished``, or ``delivering``
    (``total`` webhook events still to deliver after the calls). ``results`` counts final results
    (``LA``, ``AM``, ``BUSY``, ``NO_ANS``, ``DNC``, ``DUP`` …), those of earlier runs included;
    ``attempts`` are the calls placed by this run. ``clock`` is the campaign clock (epoch seconds,
    the virtual one when ``virtual``); ``waiting`` is set while no call can start.
    """

    phase: str
    done: int
    total: int
    results: Mapping[str, int] = field(default_factory=dict)
    attempts: int = 0
    clock: float | None = None
    virtual: bool = True
    waiting: Waiting | None = None


ProgressFn = Callable[[Progress], None]
