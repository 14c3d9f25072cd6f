"""The messaging port: what every text driver (simulated, SMPP) offers the campaign runtime.

A driver submits one :class:`OutboundText` — all its segments — and reports the submission as a
:class:`Submitted`. Delivery receipts come later (or, on SMPP, sometimes before the submit's
response): the driver matches them to every segment and, once each segment has a final state,
queues one :class:`Receipt` for the whole message (:func:`final_state`). Mobile-originated
messages (replies such as ``STOP``) are queued as :class:`InboundText`. The runtime drains both
queues (``take_receipts``, ``take_inbound``); nothing is called back from the driver's tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .encoding import Segmented

#: submission results (CallFire's text results)
SENT, CARRIER_ERROR, CARRIER_TEMP_ERROR, INTERNAL_ERROR = (
    "SENT",
    "CARRIER_ERROR",
    "CARRIER_TEMP_ERROR",
    "INTERNAL_ERROR",
)
#: delivery states of one message, from its segments' receipts
DELIVERED, UNDELIVERED, EXPIRED, REJECTED = "DELIVERED", "UNDELIVERED", "EXPIRED", "REJECTED"
#: SMPP receipt ``stat:`` → delivery state (``None``: not final yet)
RECEIPT_STATES: dict[str, str | None] = {
    "DELIVRD": DELIVERED,
    "UNDELIV": UNDELIVERED,
    "EXPIRED": EXPIRED,
    "REJECTD": REJECTED,
    "DELETED": UNDELIVERED,
    "UNKNOWN": UNDELIVERED,
    "ACCEPTD": None,
    "ENROUTE": None,
}


@dataclass(slots=True)
class OutboundText:
    recipient_id: int
    attempt_no: int
    to: str  # E.164
    from_number: str
    text: Segmented
    #: 8-bit concatenation reference (the same for every segment of this message)
    reference: int = 0
    sim_result: str | None = None
    sim_reply: str | None = None

    @property
    def key(self) -> tuple[int, int]:
        return (self.recipient_id, self.attempt_no)


@dataclass(slots=True)
class Submitted:
    """How the submission went: ``SENT`` when the SMSC accepted every segment."""

    result: str
    message_ids: tuple[str, ...] = ()
    #: the delivery state when already known (the simulated driver; receipts before responses)
    delivery: str | None = None
    delivered_segments: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """The final delivery state of a whole message (every segment has its receipt)."""

    recipient_id: int
    attempt_no: int
    state: str
    delivered_segments: int
    at: float


@dataclass(frozen=True, slots=True)
class InboundText:
    """A mobile-originated message: ``from_number`` texted ``to`` (our number)."""

    from_number: str
    to: str
    text: str
    at: float


class MessagingPort(Protocol):
    name: str
    #: the clocks it runs on: ``virtual`` (computed) and/or ``real``
    clocks: frozenset[str]

    async def open(self) -> None: ...

    async def send(self, msg: OutboundText, at: float) -> Submitted: ...

    async def reply(self, to: str, from_number: str, text: str, at: float) -> str:
        """Send a one-segment service reply (keyword confirmations, HELP, auto-replies); how
        its submission went: ``SENT``, ``CARRIER_ERROR`` or ``INTERNAL_ERROR`` (no connection).
        A failed reply is not retried."""
        ...

    def take_receipts(self) -> list[Receipt]: ...

    def take_inbound(self) -> list[InboundText]: ...

    async def close(self) -> None:
        """Wait for the receipts still missing (bounded), then let go of the connection."""
        ...


def final_state(states: Sequence[str | None]) -> str | None:
    """One message's delivery state from its segments' final states: ``DELIVERED`` when every
    segment was delivered, else the first failure; ``None`` while any segment is pending."""
    if any(s is None for s in states):
        return None
    for s in states:
        if s != DELIVERED:
            return s
    return DELIVERED


def parse_receipt(text: str) -> tuple[str, str | None, str] | None:
    """``id:… … stat:DELIVRD err:000 …`` (SMPP 3.4 appendix B) → (message id, state, stat).
    ``None`` when the text is not a receipt."""
    fields: dict[str, str] = {}
    for token in (
        text.replace("submit date", "submit_date").replace("done date", "done_date").split()
    ):
        key, sep, value = token.partition(":")
        if sep and key.lower() not in fields:
            fields[key.lower()] = value
    if "id" not in fields or "stat" not in fields:
        return None
    stat = fields["stat"].upper()
    return fields["id"], RECEIPT_STATES.get(stat, UNDELIVERED), stat
