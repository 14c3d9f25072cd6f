"""The telephony port and the simulated driver.

The dispatcher hands each call to a :class:`TelephonyDriver`; the driver reports how the
attempt went (:class:`AttemptOutcome`). What happens once a call is answered — the dialplan —
is run by a :class:`CallRunner` (the engine by default; tests inject small fakes).

:class:`SimulatedDriver` is deterministic for a seed: each attempt draws from a random stream
seeded by (seed, recipient, attempt number), so a resumed run repeats exactly what an
uninterrupted one would have done.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ..campaign import Campaign

#: Q.850 cause and reason text per attempt result
Q850: dict[str, tuple[int, str]] = {
    "LA": (16, "Normal Clearing"),
    "AM": (16, "Normal Clearing"),
    "XFER": (16, "Normal Clearing"),
    "BUSY": (17, "User Busy"),
    "NO_ANS": (19, "No Answer from User"),
    "INVALID": (1, "Unallocated Number"),
}
CARRIER_CAUSES: tuple[tuple[int, str], ...] = (
    (38, "Network Out of Order"),
    (41, "Temporary Failure"),
    (27, "Destination Out of Order"),
)
REASONS: dict[int, str] = dict(
    [
        *Q850.values(),
        *CARRIER_CAUSES,
        (21, "Call Rejected"),
        (18, "No User Responding"),
        (65, "Bearer Capability Not Implemented"),  # SIP: an answer without usable media
    ]
)


@dataclass(slots=True)  # not frozen: one per call/row, and frozen init is slow
class CallSpec:
    """One answered call for the dialplan: the AMD verdict, caller inputs, contact row."""

    amd: str  # "live" | "machine"
    inputs: tuple[str, ...]
    contact: Mapping[str, str]
    variables: Mapping[str, str]
    now: float


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


@dataclass(slots=True)  # not frozen: one per call/row, and frozen init is slow
class AttemptOutcome:
    """One attempt, with offsets in seconds from its start."""

    result: str  # LA, AM, XFER, BUSY, NO_ANS, CARRIER_ERROR
    q850_cause: int
    answered_by: str | None  # HUMAN, MACHINE or None (no AMD / not answered)
    ring_s: float  # start → answer (or → give-up for unanswered calls)
    talk_s: float  # answer → end (0 when not answered)
    responses: tuple[tuple[str, str], ...] = ()
    prompts: tuple[tuple[str, str], ...] = ()
    dnc: tuple[str, ...] = field(default=())

    @property
    def answered(self) -> bool:
        return self.result in ("LA", "AM", "XFER")

    @property
    def total_s(self) -> float:
        return self.ring_s + self.talk_s


class TelephonyDriver(Protocol):
    def place(self, call: CallRequest, at: float) -> AttemptOutcome:
        """Dial ``call`` at (virtual) time ``at`` and report how the attempt went."""


_UNPACK = struct.Struct(">4Q").unpack
_SCALE = 1.0 / 2**64


def uniforms(seed: int, recipient_id: int, attempt_no: int) -> tuple[float, float, float, float]:
    """Four independent uniform numbers in [0, 1) for one attempt (a keyed hash, no state)."""
    digest = hashlib.blake2b(f"{seed}:{recipient_id}:{attempt_no}".encode(), digest_size=32)
    a, b, c, d = _UNPACK(digest.digest())
    return a * _SCALE, b * _SCALE, c * _SCALE, d * _SCALE


def _pick(cumulative: list[float], u: float) -> int:
    return min(bisect.bisect_right(cumulative, u * cumulative[-1]), len(cumulative) - 1)


class SimulatedDriver:
    """Seeded outcomes (or the recipient's ``sim_result``), dialplan run by ``runner``."""

    def __init__(self, campaign: Campaign, runner: CallRunner) -> None:
        self.campaign = campaign
        self.runner = runner
        sim = campaign.simulation
        self.seed = sim.seed
        self._results = [r for r, _ in sim.weights]
        self._weights = list(itertools.accumulate(w for _, w in sim.weights))
        self._inputs = [i for i, _ in sim.inputs]
        self._input_weights = list(itertools.accumulate(w for _, w in sim.inputs))
        self.amc = campaign.answering_machine_config

    def place(self, call: CallRequest, at: float) -> AttemptOutcome:
        u0, u1, u2, u3 = uniforms(self.seed, call.recipient_id, call.attempt_no)
        raw = call.sim_result or self._results[_pick(self._weights, u0)]
        if raw == "BUSY":
            return AttemptOutcome("BUSY", 17, None, round(1.0 + 3.0 * u1, 3), 0.0)
        if raw == "NO_ANS":
            return AttemptOutcome("NO_ANS", 19, None, round(25.0 + 10.0 * u1, 3), 0.0)
        if raw == "CARRIER_ERROR":
            cause = CARRIER_CAUSES[int(u2 * len(CARRIER_CAUSES))][0]
            return AttemptOutcome("CARRIER_ERROR", cause, None, round(0.2 + 2.8 * u1, 3), 0.0)
        ring = round(4.0 + 16.0 * u1, 3)
        machine = raw == "AM"
        answered_by = None if self.amc == "LIVE_IMMEDIATE" else ("MACHINE" if machine else "HUMAN")
        result = "AM" if machine else "LA"
        # CallFire's answering machine configurations
        hang_up_now = (self.amc == "LIVE_WITH_AMD" and machine) or (
            self.amc == "AM_ONLY" and not machine
        )
        if hang_up_now:
            return AttemptOutcome(result, 16, answered_by, ring, round(1.0 + u2, 3))
        amd = "machine" if machine and self.amc != "LIVE_IMMEDIATE" else "live"
        if call.sim_inputs is not None:
            inputs = call.sim_inputs
        elif amd == "live":
            inputs = self._inputs[_pick(self._input_weights, u3)]
        else:
            inputs = ()
        summary = self.runner(
            CallSpec(
                amd=amd,
                inputs=inputs,
                contact=call.contact,
                variables={"call.phonenumber": call.to, "call.callerid": call.from_number},
                now=at + ring,
            )
        )
        if summary.transferred and not machine:
            result = "XFER"
        return AttemptOutcome(
            result,
            16,
            answered_by,
            ring,
            round(max(summary.duration_s, 0.5), 3),
            summary.responses,
            summary.prompts,
            summary.dnc,
        )


def voice_id_for(broadcast_id: str, recipient_id: int, attempt_no: int) -> str:
    """A stable UUID (version 4 layout) for one call leg: the same after a resume."""
    h = hashlib.blake2b(
        f"{broadcast_id}:{recipient_id}:{attempt_no}".encode(), digest_size=16
    ).hexdigest()
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"
