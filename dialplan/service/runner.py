"""The port a single call is placed through, and its simulated implementation.

A :class:`CallRunner` takes a :class:`CallOrder` and reports what happens to :class:`CallEvents`:
``answered`` (with the AMD verdict), ``failed`` (before answer: busy, no answer, failed) and
``ended`` (always last, once). ``place`` returns at once; the call runs in the background.
``control`` acts on a live call (play audio, hang up) or raises :class:`NotControllable`. The SIP
runner (:mod:`.siprunner`) implements the same methods over :mod:`dialplan.drivers.sip`.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..errors import DialplanError
from ..model import Plan

log = logging.getLogger("dialplan.service")

SimResult = Literal["answered", "busy", "no-answer", "failed"]
#: seconds a control (a prompt to synthesise or fetch) may take
CONTROL_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class SimScript:
    """How the simulated driver plays a call: its result, AMD verdict, caller inputs, ring time."""

    result: SimResult = "answered"
    amd: Literal["live", "machine"] = "live"
    inputs: tuple[str, ...] = ()
    ring_s: float = 0.0


@dataclass(frozen=True, slots=True)
class CallOrder:
    """Everything a runner needs to place one call."""

    call_id: str
    plan: Plan
    to: str
    caller_id: str
    variables: dict[str, str] = field(default_factory=dict)
    detect_answering_machine: bool = False
    script: SimScript = SimScript()
    #: report each prompt's start and end (:meth:`CallEvents.prompt`; EnableX's ``playstate``)
    prompts: bool = False


@dataclass(frozen=True, slots=True)
class PlayAudio:
    """Play text-to-speech (``kind`` tts, ``value`` the text) or an audio file (``kind`` url)."""

    kind: Literal["tts", "url"]
    value: str
    voice: str | None = None
    #: names the prompt in its events
    prompt_ref: str | None = None


@dataclass(frozen=True, slots=True)
class HangUp:
    """End the call now."""


Control = PlayAudio | HangUp


class NotControllable(Exception):
    """The call cannot take a control now (simulated, not answered yet, or over): why, in words."""


class CallEvents(Protocol):
    """Where a runner reports a call's progress (each method is called from a runner thread)."""

    def answered(self, call_id: str, answered_by: str | None) -> None: ...

    def failed(self, call_id: str, reason: str) -> None: ...

    def prompt(self, call_id: str, state: str, prompt_ref: str | None) -> None:
        """A prompt started (``initiated``) or went out whole (``playfinished``); ``prompt_ref``
        names a prompt played by a control (None: the flow's own)."""
        ...

    def ended(self, call_id: str, result: dict[str, Any] | None) -> None: ...


class CallRunner(Protocol):
    """Places calls in the background and reports to :class:`CallEvents`."""

    def place(self, order: CallOrder, events: CallEvents) -> None: ...

    def control(self, call_id: str, command: Control) -> None:
        """Act on a live call; raise :class:`NotControllable` when it cannot."""
        ...

    def close(self) -> None: ...


def digits(number: str) -> str:
    """The user part of a ``sip:`` URI, or a number without its ``+``."""
    if number.startswith(("sip:", "sips:")):
        return number.split(":", 1)[1].split("@", 1)[0]
    return number.lstrip("+")


class SimulatedCallRunner:
    """Runs each call through :func:`dialplan.simulate` on a worker thread (virtual call time).

    ``script.ring_s`` real seconds pass before the call is answered or fails, so that clients can
    watch a call in progress (and tests can cross the sync-mode limit).
    """

    def __init__(self, workers: int = 32) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sim-call")
        self._closing = threading.Event()

    def place(self, order: CallOrder, events: CallEvents) -> None:
        self._pool.submit(self._run, order, events)

    def control(self, call_id: str, command: Control) -> None:
        raise NotControllable(
            "simulated calls run in virtual time and cannot be controlled (serve --driver sip)"
        )

    def close(self) -> None:
        self._closing.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, order: CallOrder, events: CallEvents) -> None:
        from ..drivers.simulate import simulate

        script = order.script
        if script.ring_s > 0 and self._closing.wait(script.ring_s):
            events.failed(order.call_id, "canceled")
            events.ended(order.call_id, None)
            return
        if script.result != "answered":
            events.failed(order.call_id, script.result)
            events.ended(order.call_id, None)
            return
        verdict = (
            ("human" if script.amd == "live" else "machine")
            if order.detect_answering_machine
            else None
        )
        events.answered(order.call_id, verdict)
        try:
            result = simulate(
                order.plan,
                amd=script.amd,
                inputs=list(script.inputs),
                variables=order.variables,
                callerid=digits(order.caller_id),
                phonenumber=digits(order.to),
                call_id=order.call_id,
            ).to_dict()
        except DialplanError as exc:
            result = {"outcome": "error", "error": str(exc)}
        except Exception as exc:  # a bug must still end the call (and is logged)
            log.exception("simulated call %s crashed", order.call_id)
            result = {"outcome": "error", "error": f"internal error: {type(exc).__name__}"}
        if order.prompts:
            for effect in result.get("effects", []):
                if effect.get("type") == "Play":
                    events.prompt(order.call_id, "initiated", None)
                    events.prompt(order.call_id, "playfinished", None)
        events.ended(order.call_id, result)
