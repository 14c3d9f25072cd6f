"""The telephony port: what every campaign driver (simulated, SIP) offers the runners.

A driver dials one :class:`CallRequest` and reports the attempt as an :class:`AttemptOutcome`
(``async def dial``). The simulated driver computes a call without suspending, so the
virtual-time runner drives it with :func:`run_now` (no event loop); on the real clock every
driver runs on the asyncio runner's own loop. A driver names the engine effects it cannot carry
out (:attr:`TelephonyPort.unsupported`); :func:`check_supported` refuses a campaign whose
dialplan needs one before anything is dialled — an effect is never dropped silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from ...engine import effects as fx
from ...errors import CampaignError
from ...model import Plan
from ...model.nodes import Dnc, Node, Record, Sms, Transfer

Clock = Literal["virtual", "real"]
_T = TypeVar("_T")


@dataclass(slots=True)  # not frozen: one per call/row, and frozen init is slow
class CallSpec:
    """One answered call for the dialplan: the AMD verdict, caller inputs, contact row."""

    amd: str  # "live" | "machine"
    inputs: tuple[str, ...]
    contact: Mapping[str, str]
    variables: Mapping[str, str]
    now: float
    #: seeds the call's JavaScript ``Math.random`` (per recipient and attempt)
    seed: int = 0


@dataclass(frozen=True, slots=True)
class CallSummary:
    """What the dialplan did on an answered call."""

    outcome: str  # "hangup" | "transfer" | "error" | …
    duration_s: float
    responses: tuple[tuple[str, str], ...] = ()
    prompts: tuple[tuple[str, str], ...] = ()  # (prompt_ref, text)
    dnc: tuple[str, ...] = ()

    @property
    def transferred(self) -> bool:
        return self.outcome == "transfer"


CallRunner = Callable[[CallSpec], CallSummary]


@dataclass(slots=True)  # not frozen: one per call/row, and frozen init is slow
class CallRequest:
    recipient_id: int
    attempt_no: int
    to: str
    from_number: str
    contact: Mapping[str, str]
    sim_result: str | None = None
    sim_inputs: tuple[str, ...] | None = None


@dataclass(slots=True)
class TextAttempt:
    """What a text attempt sent (``channel = "sms"``): booked beside its attempt row."""

    message: str
    encoding: str  # GSM7 | UCS2
    segments: int  # 0: nothing was submitted (TOO_BIG, DNT, a refused submit)
    message_ids: tuple[str, ...] = ()
    delivery: str | None = None
    delivered_segments: int = 0


@dataclass(slots=True)  # not frozen: one per call/row, and frozen init is slow
class AttemptOutcome:
    """One attempt, with offsets in seconds from its start."""

    result: str  # LA, AM, XFER, BUSY, NO_ANS, CARRIER_ERROR, INTERNAL_ERROR
    q850_cause: int
    answered_by: str | None  # HUMAN, MACHINE or None (no AMD / not answered)
    ring_s: float  # start → answer (or → give-up for unanswered calls)
    talk_s: float  # answer → end (0 when not answered)
    responses: tuple[tuple[str, str], ...] = ()
    prompts: tuple[tuple[str, str], ...] = ()
    dnc: tuple[str, ...] = field(default=())
    #: a text attempt's message and segments (``None`` for calls)
    text: TextAttempt | None = None

    @property
    def answered(self) -> bool:
        return self.result in ("LA", "AM", "XFER")

    @property
    def total_s(self) -> float:
        return self.ring_s + self.talk_s


class TelephonyPort(Protocol):
    """What a campaign driver offers (the simulated and the SIP driver implement it)."""

    #: the clocks it runs on: ``virtual`` (computed calls) and/or ``real`` (lived calls)
    clocks: frozenset[str]
    #: engine effect types it cannot carry out (a dialplan that emits one is refused)
    unsupported: frozenset[type]

    async def open(self) -> None: ...

    async def dial(self, call: CallRequest, at: float) -> AttemptOutcome:
        """Dial ``call`` at ``at`` (epoch seconds, virtual or real) and report the attempt."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class HangsUp(Protocol):
    """A driver that can end its calls in flight (the end of a graceful stop's drain)."""

    def hang_up_all(self) -> None:
        """Hang up every call in flight now: each ``dial`` then returns the attempt as a call
        we hung up (answered: its result with the talk time so far; ringing: cancelled,
        ``NO_ANS``)."""
        ...


class DriverSuspended(RuntimeError):
    """A driver waited for I/O on the virtual clock, where calls are computed, not lived."""


def run_now(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine that never suspends (a computed call) without an event loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise DriverSuspended("the driver waited for I/O: it cannot run on the virtual clock")


#: the plan nodes whose effects not every driver carries out (one entry per effect type)
_NODE_EFFECTS: dict[type[Node], type] = {
    Sms: fx.SendSms,
    Record: fx.Record,
    Transfer: fx.Transfer,
    Dnc: fx.AddToDnc,
}


def effects_needed(plan: Plan) -> set[type]:
    """Effect types among :data:`_NODE_EFFECTS` that ``plan`` can emit."""
    return {eff for node in plan.nodes if (eff := _NODE_EFFECTS.get(type(node))) is not None}


def check_supported(port: TelephonyPort, plan: Plan, clock: Clock, path: Path | str) -> None:
    """Refuse (exit 2) a campaign the driver cannot run: wrong clock, or an effect it drops."""
    name = getattr(port, "name", type(port).__name__)
    if clock not in port.clocks:
        raise CampaignError(f"{path}: the {name} driver cannot run on the {clock} clock")
    missing = sorted(e.__name__ for e in effects_needed(plan) & port.unsupported)
    if missing:
        raise CampaignError(
            f"{path}: the {name} driver cannot carry out {', '.join(missing)}"
            " which the dialplan needs; use another driver or remove those tags"
        )


def voice_id_for(broadcast_id: str, recipient_id: int, attempt_no: int) -> str:
    """A stable UUID (version 4 layout) for one call leg: the same after a resume."""
    h = hashlib.blake2b(
        f"{broadcast_id}:{recipient_id}:{attempt_no}".encode(), digest_size=16
    ).hexdigest()
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"
