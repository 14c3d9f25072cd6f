"""Effects out of a call (what the engine asks the driver to do). Plain frozen data
(``@record``: a frozen dataclass that is cheap to create).

Every effect that starts something long carries an id; the driver answers with the matching
event (``Play`` → ``PlaybackDone``, ``CollectDigits`` → digits/``InputTimeout``, …).
"""

from __future__ import annotations

from dataclasses import field
from typing import Literal

from .record import record


@record
class Play:
    """Play a prompt. ``kind``: ``tts`` (``value`` is the text after substitution), ``url`` or
    ``callfireid``. ``barge_in``: a digit may stop it (menu prompts)."""

    play_id: int
    kind: str
    value: str
    voice: str | None = None
    cache: bool = True
    barge_in: bool = False
    node: str = ""  # call.path of the play tag


@record
class StopPlayback:
    """Stop the prompt ``play_id`` now (barge-in, catch jump, end of call)."""

    play_id: int


@record
class CollectDigits:
    """Arm the input timer: send ``InputTimeout(collect_id)`` if no key arrives within
    ``timeout_ms`` (re-armed by each key). The engine ends collection itself (max digits, ``#``)."""

    collect_id: int
    max_digits: int
    timeout_ms: int
    terminator: str = "#"


@record
class StopCollecting:
    """Input collection ``collect_id`` is complete: disarm its timer."""

    collect_id: int


@record
class Transfer:
    """Bridge the caller to ``numbers`` (``ringall`` together, ``waterfall`` one by one)."""

    numbers: tuple[str, ...]
    mode: Literal["ringall", "waterfall"] = "ringall"
    callerid: str = ""
    timeout_s: int = 30
    musiconhold: str = "ringing"
    whisper: str | None = None
    continue_after: bool = False


@record
class Record:
    """Record the caller (``background`` keeps recording while the dialplan goes on)."""

    record_id: int
    name: str | None
    timeout_ms: int
    background: bool = False
    beep: bool = True


@record
class HttpRequest:
    """An HTTP request: ``<get>``/``<post>`` (POST body empty, spec §3.14), or a Callr
    ``fetch@v2`` with any method, ``headers`` and a ``body``."""

    request_id: int
    method: str
    url: str
    timeout_s: float = 10.0
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""


@record
class SendSms:
    to: str
    text: str


@record
class AddToDnc:
    number: str


@record
class SendDtmf:
    tones: str


@record
class Pause:
    """Wait ``duration_ms`` in silence (the SDK-only ``<wait>``); answer ``PauseDone(pause_id)``."""

    pause_id: int
    duration_ms: int


@record
class StashResponse:
    """A ``<stash>``: one answer for the call's result record (CallFire questionResponses)."""

    question: str
    response: str


@record
class Log:
    """A runtime note (undefined variable, JS error treated as false, skipped tag …)."""

    level: Literal["info", "warning", "error"]
    message: str
    node: str = ""


@record
class Hangup:
    """Disconnect the call. ``reason``: ``hangup`` (tag or end of plan), ``error``, ``transfer``."""

    reason: str = "hangup"


@record
class CallEnded:
    """The call is over for the engine; nothing more will be emitted."""

    outcome: str
    error: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


Effect = (
    Play
    | StopPlayback
    | CollectDigits
    | StopCollecting
    | Transfer
    | Record
    | HttpRequest
    | SendSms
    | AddToDnc
    | SendDtmf
    | Pause
    | StashResponse
    | Log
    | Hangup
    | CallEnded
)


# Effects that carry only a small id or a fixed reason are immutable values, so one shared
# object can stand for all of them: the engine emits several per call.
_SHARED_IDS = 256
#: a plan's constant ``Play`` effects are shared for play ids below this (``PlaySpec.effects``)
SHARED_PLAY_IDS = 64
_STOP_COLLECTING = tuple(StopCollecting(i) for i in range(_SHARED_IDS))
_HANGUPS = {reason: Hangup(reason) for reason in ("hangup", "error", "transfer")}


def stop_collecting(collect_id: int) -> StopCollecting:
    """``StopCollecting(collect_id)`` (a shared instance for small ids)."""
    if 0 <= collect_id < _SHARED_IDS:
        return _STOP_COLLECTING[collect_id]
    return StopCollecting(collect_id)


_STASHED: dict[tuple[str, str], StashResponse] = {}
_STASHED_SIZE = 4096


def stash_response(question: str, response: str) -> StashResponse:
    """``StashResponse(question, response)`` (shared instances for short answers; at most
    ``_STASHED_SIZE`` of them, none added when full)."""
    key = (question, response)
    effect = _STASHED.get(key)
    if effect is None:
        effect = StashResponse(question, response)
        if len(_STASHED) < _STASHED_SIZE and len(question) + len(response) <= 200:
            _STASHED[key] = effect
    return effect


def hangup(reason: str) -> Hangup:
    """``Hangup(reason)`` (a shared instance for the usual reasons)."""
    return _HANGUPS.get(reason) or Hangup(reason)
