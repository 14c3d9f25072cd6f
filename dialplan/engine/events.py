"""Events into a call (the driver tells the engine what happened). Plain frozen data
(``@record``: a frozen dataclass that is cheap to create).

The driver owns time and I/O: it sends each event with the current time, and only the events
the engine asked for (through effects) plus the ones the world causes (digits, caller hang-up).
"""

from __future__ import annotations

from typing import Literal

from .record import record

AmdResult = Literal["live", "machine"]
TransferOutcome = Literal["answered", "no_answer", "busy", "failed"]


@record
class Answered:
    """The call was answered; ``answered_by`` is the AMD verdict (inbound calls: ``live``)."""

    answered_by: AmdResult = "live"


@record
class PlaybackDone:
    """The prompt started by ``Play(play_id)`` finished (not sent for a stopped prompt)."""

    play_id: int


@record
class DigitPressed:
    """One DTMF key (``0``–``9``, ``*``, ``#``), whenever the caller presses it."""

    key: str


@record
class InputTimeout:
    """The input timer armed by ``CollectDigits(collect_id)`` expired with no further key."""

    collect_id: int


@record
class TransferDone:
    """The transfer started by ``Transfer`` ended; ``talk_seconds`` is how long it was bridged."""

    outcome: TransferOutcome
    talk_seconds: float = 0.0


@record
class RecordingDone:
    """The recording started by ``Record(record_id)`` ended (``#``, time limit, or silence)."""

    record_id: int
    url: str
    duration_s: float = 0.0


@record
class HttpDone:
    """Answer to ``HttpRequest(request_id)``; ``status`` None means a network failure/timeout."""

    request_id: int
    status: int | None
    body: str = ""


@record
class PauseDone:
    """The silence asked for by ``Pause(pause_id)`` is over."""

    pause_id: int


@record
class CallerHangup:
    """The remote party hung up."""


Event = (
    Answered
    | PlaybackDone
    | DigitPressed
    | InputTimeout
    | TransferDone
    | RecordingDone
    | HttpDone
    | PauseDone
    | CallerHangup
)
