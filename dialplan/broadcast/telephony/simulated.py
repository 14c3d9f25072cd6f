"""The simulated driver: seeded call outcomes behind the telephony port (:mod:`.port`).

What happens once a call is answered — the dialplan — is run by a
:class:`~.port.CallRunner` (the engine by default; tests inject small fakes).

:class:`SimulatedDriver` is deterministic for a seed: each attempt draws from a random stream
seeded by (seed, recipient, attempt number), so a resumed run repeats exactly what an
uninterrupted one would have done.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import itertools
import struct

from ...drivers.sim import RING_SECONDS as TRANSFER_RING_S
from ...drivers.sim import TALK_SECONDS as TRANSFER_TALK_S
from ..campaign import Campaign
from .port import AttemptOutcome, CallRequest, CallRunner, CallSpec
from .transfers import VirtualTransferSlots

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


_UNPACK = struct.Struct(">4Q").unpack
_SCALE = 1.0 / 2**64


def uniforms(seed: int, recipient_id: int, attempt_no: int) -> tuple[float, float, float, float]:
    """Four independent uniform numbers in [0, 1) for one attempt (a keyed hash, no state)."""
    digest = hashlib.blake2b(f"{seed}:{recipient_id}:{attempt_no}".encode(), digest_size=32)
    a, b, c, d = _UNPACK(digest.digest())
    return a * _SCALE, b * _SCALE, c * _SCALE, d * _SCALE


def call_seed(seed: int, recipient_id: int, attempt_no: int) -> int:
    """The seed of one attempt's JavaScript ``Math.random`` (spec §5.4): the same campaign seed,
    recipient and attempt always give the same numbers."""
    digest = hashlib.blake2b(f"js:{seed}:{recipient_id}:{attempt_no}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big")


def result_of(machine: bool) -> str:
    return "AM" if machine else "LA"


def hung_up(out: AttemptOutcome, after_s: float) -> AttemptOutcome:
    """The attempt ``out`` as it goes when we hang up ``after_s`` into it: still ringing, it is
    cancelled (``NO_ANS``, Q.850 19, like a SIP CANCEL's 487); answered, it keeps its result,
    what the dialplan stashed (the script is computed whole) and the talk time so far."""
    if after_s >= out.total_s:
        return out
    if after_s < out.ring_s or not out.answered:
        return AttemptOutcome("NO_ANS", 19, None, round(after_s, 3), 0.0)
    talk = round(after_s - out.ring_s, 3)
    return AttemptOutcome(
        out.result, out.q850_cause, out.answered_by, out.ring_s, talk,
        out.responses, out.prompts, out.dnc,
    )  # fmt: skip


def _pick(cumulative: list[float], u: float) -> int:
    return min(bisect.bisect_right(cumulative, u * cumulative[-1]), len(cumulative) - 1)


class SimulatedDriver:
    """Seeded outcomes (or the recipient's ``sim_result``), dialplan run by ``runner``."""

    name = "simulated"
    clocks = frozenset({"virtual", "real"})
    unsupported: frozenset[type] = frozenset()

    def __init__(
        self, campaign: Campaign, runner: CallRunner, *, lived: bool = False, speed: float = 1.0
    ) -> None:
        #: ``lived``: each call lasts its simulated duration (the real clock), divided by
        #: ``speed`` (a faster world for tests: ring and talk times are booked divided too)
        self.lived = lived
        self.speed = speed
        self.campaign = campaign
        self.runner = runner
        #: a runner that says its calls ignore the seed (:attr:`EngineRunner.needs_seed`) is
        #: spared the hash per call; any other gets it
        self.needs_seed: bool = getattr(runner, "needs_seed", True)
        sim = campaign.simulation
        self.seed = sim.seed
        self._results = [r for r, _ in sim.weights]
        self._weights = list(itertools.accumulate(w for _, w in sim.weights))
        self._inputs = [i for i, _ in sim.inputs]
        self._input_weights = list(itertools.accumulate(w for _, w in sim.inputs))
        self.amc = campaign.answering_machine_config
        limit = campaign.max_active_transfers
        self.transfers = VirtualTransferSlots(limit) if limit is not None else None
        sounds = campaign.sounds
        self.transfer_patience_s = sounds.transfer_timeout_s if sounds is not None else 30.0
        #: set by :meth:`hang_up_all` (lived calls end then); made on the running loop
        self._hang_up: asyncio.Event | None = None

    async def open(self) -> None:
        if self.lived:
            self._hang_up = asyncio.Event()
        return None

    def hang_up_all(self) -> None:
        """Lived calls: every call in flight ends now, as :func:`hung_up` books it."""
        if self._hang_up is not None:
            self._hang_up.set()

    async def close(self) -> None:
        return None

    async def dial(self, call: CallRequest, at: float) -> AttemptOutcome:
        """The attempt as computed; on the real clock it also takes its time."""
        out = self.place(call, at)
        if self.lived:
            if self.speed != 1.0:
                out.ring_s = round(out.ring_s / self.speed, 3)
                out.talk_s = round(out.talk_s / self.speed, 3)
            if self._hang_up is None:
                await asyncio.sleep(out.total_s)
                return out
            loop = asyncio.get_running_loop()
            began = loop.time()
            try:
                await asyncio.wait_for(self._hang_up.wait(), out.total_s)
            except TimeoutError:
                return out
            return hung_up(out, loop.time() - began)
        return out

    def _slot(self, answered_at: float, talk: float) -> tuple[float, bool]:
        """``max_active_transfers`` (see :mod:`.transfers`): the call's talk time once its
        transfer waited for a slot, and whether it was transferred at all."""
        assert self.transfers is not None
        bridged = TRANSFER_RING_S + TRANSFER_TALK_S  # the simulated transfer: ring, then talk
        asked = answered_at + max(talk - bridged, 0.0)
        begins = self.transfers.claim(asked, bridged, self.transfer_patience_s)
        if begins is None:
            return asked - answered_at + self.transfer_patience_s, False
        return talk + (begins - asked), True

    def place(self, call: CallRequest, at: float) -> AttemptOutcome:
        """The attempt at ``at`` (computed at once)."""
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
                seed=(
                    call_seed(self.seed, call.recipient_id, call.attempt_no)
                    if self.needs_seed
                    else 0
                ),
            )
        )
        talk = summary.duration_s
        if summary.transferred and not machine:
            result = "XFER"
            if self.transfers is not None:
                talk, transferred = self._slot(at + ring, talk)
                result = "XFER" if transferred else result_of(machine)
        return AttemptOutcome(
            result,
            16,
            answered_by,
            ring,
            round(max(talk, 0.5), 3),
            summary.responses,
            summary.prompts,
            summary.dnc,
        )
