"""The simulated messaging driver: seeded submit results, receipts and scripted replies.

Each message draws its fate from a keyed hash of (seed, recipient, attempt), so a resumed run
repeats exactly what an uninterrupted one would have done; a recipient's ``sim_result`` column
scripts it instead (``DELIVERED``, ``UNDELIVERED``, ``NO_RECEIPT``, ``CARRIER_ERROR``,
``CARRIER_TEMP_ERROR``), and its ``sim_reply`` column is what the handset texts back (``STOP``).
The receipt is known at once: on the virtual clock a text takes no time.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from ..broadcast.telephony.simulated import uniforms
from .port import (
    CARRIER_ERROR,
    CARRIER_TEMP_ERROR,
    DELIVERED,
    SENT,
    UNDELIVERED,
    InboundText,
    OutboundText,
    Receipt,
    Submitted,
)

#: seconds after the submission that a scripted reply arrives
REPLY_AFTER_S = 60.0


@dataclass(frozen=True, slots=True)
class SentReply:
    to: str
    from_number: str
    text: str
    at: float


class SimulatedMessaging:
    name = "simulated"
    clocks = frozenset({"virtual", "real"})

    def __init__(self, seed: int, weights: Sequence[tuple[str, float]]) -> None:
        self.seed = seed
        self._results = [r for r, _ in weights]
        self._cumulative = list(itertools.accumulate(w for _, w in weights))
        self._inbound: list[InboundText] = []
        #: every service reply sent (keyword confirmations, HELP), for the record
        self.replies: list[SentReply] = []
        self.submitted_segments = 0

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _pick(self, u: float) -> str:
        i = bisect.bisect_right(self._cumulative, u * self._cumulative[-1])
        return self._results[min(i, len(self._results) - 1)]

    async def send(self, msg: OutboundText, at: float) -> Submitted:
        u0, _, _, _ = uniforms(self.seed, msg.recipient_id, msg.attempt_no)
        fate = msg.sim_result or self._pick(u0)
        if msg.sim_reply:
            self._inbound.append(
                InboundText(msg.to, msg.from_number, msg.sim_reply, at + REPLY_AFTER_S)
            )
        if fate in (CARRIER_ERROR, CARRIER_TEMP_ERROR):
            return Submitted(fate, error="simulated submit error")
        n = msg.text.count
        self.submitted_segments += n
        ids = tuple(f"sim-{msg.recipient_id}-{msg.attempt_no}-{i}" for i in range(1, n + 1))
        if fate == DELIVERED:
            return Submitted(SENT, ids, DELIVERED, n)
        if fate == "UNDELIVERED":
            return Submitted(SENT, ids, UNDELIVERED, 0)
        return Submitted(SENT, ids)  # NO_RECEIPT: the SMSC never tells

    async def reply(self, to: str, from_number: str, text: str, at: float) -> str:
        self.replies.append(SentReply(to, from_number, text, at))
        return SENT

    def take_receipts(self) -> list[Receipt]:
        return []

    def take_inbound(self) -> list[InboundText]:
        out, self._inbound = self._inbound, []
        return out
