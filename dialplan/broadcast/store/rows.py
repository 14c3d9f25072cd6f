"""The typed rows that cross the store's interfaces (plain data: no I/O, no SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple


@dataclass(slots=True)  # not frozen: one per recipient, and frozen init is slow
class Pending:
    """A recipient waiting for its next attempt (what the scheduler queues)."""

    next_at: float
    id: int
    e164: str
    attempts: int
    attributes: str
    sim_result: str | None
    sim_inputs: str | None


class AttemptRow(NamedTuple):
    """One booked attempt (times in epoch seconds; a NamedTuple: it goes straight to
    ``executemany``, a million times in a big campaign)."""

    recipient_id: int
    attempt_no: int
    started_at: float
    answered_at: float | None
    ended_at: float
    result: str
    q850_cause: int
    answered_by: str | None
    duration: float
    voice_id: str | None = None  # None: derived from (broadcast, recipient, attempt) when read
    reason: str | None = None  # why the runtime booked it itself (e.g. the runner was lost)


@dataclass(slots=True)
class RecipientUpdate:
    """A recipient after an attempt: ``final_result`` None means it waits for ``next_at``."""

    recipient_id: int
    attempts: int
    next_at: float
    final_result: str | None


@dataclass(frozen=True, slots=True)
class InFlight:
    """An attempt committed before its call was placed (real time): at most one dial each."""

    recipient_id: int
    attempt_no: int
    voice_id: str
    started_at: float


@dataclass(frozen=True, slots=True)
class ResponseRow:
    recipient_id: int
    attempt_no: int
    question: str
    response: str


class OutboxRow(NamedTuple):
    """A webhook event for the outbox (``event_id`` makes adding it idempotent)."""

    event_id: str
    url: str
    body: bytes
    created_at: float


@dataclass(frozen=True, slots=True)
class DispatchState:
    """Where the scheduler stood at its last commit (stored with the campaign)."""

    columns: tuple[str, ...] = ()
    now: int | None = None  # ms
    next_slot: int | None = None  # ms: no call starts before this (calls_per_second)
    active: tuple[int, ...] = ()  # ms: when the lines in use are free again
    floors: tuple[tuple[int, int], ...] = ()  # (zone id, ms): the window closed on that queue

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DispatchState:
        return cls(
            columns=tuple(data.get("columns", ())),
            now=None if data.get("now") is None else int(data["now"]),
            next_slot=None if data.get("next_slot") is None else int(data["next_slot"]),
            active=tuple(int(a) for a in data.get("active", ())),
            floors=tuple((int(k), int(v)) for k, v in data.get("floors", {}).items()),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"columns": list(self.columns)}
        if self.now is not None:
            out["now"] = self.now
        if self.next_slot is not None:
            out["next_slot"] = self.next_slot
        out["active"] = sorted(self.active)
        out["floors"] = {str(k): v for k, v in self.floors}
        return out


class RecipientRow(NamedTuple):
    """One loaded recipient (a NamedTuple: a million of them go straight to ``executemany``)."""

    campaign_id: int
    row_no: int
    phone: str
    e164: str | None
    region: str | None
    zone_id: int | None
    attributes: str  # JSON object of the other columns
    sim_result: str | None
    sim_inputs: str | None
    bucket: str
    final_result: str | None
    next_at: float


@dataclass(frozen=True, slots=True)
class CallLegRow:
    """The last attempt of one dialled recipient (the ``broadcastcall_complete`` event)."""

    voice_id: str
    to: str
    duration: float
    result: str
    answered_by: str | None
    q850_cause: int


class TextRow(NamedTuple):
    """One text attempt: what was sent, in how many segments, and how it was delivered."""

    recipient_id: int
    attempt_no: int
    message: str
    encoding: str
    segments: int
    message_ids: str  # JSON list of the SMSC's ids, one per segment
    delivery: str | None
    delivered_segments: int
