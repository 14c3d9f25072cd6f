"""The webhook outbox contract: events are persisted before delivery, so nothing is lost.

The store implements :class:`Outbox`; the delivery worker (``webhooks``) only talks to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One persisted webhook delivery. ``body`` is the exact JSON bytes that get signed."""

    id: int
    event_id: str
    url: str
    body: bytes
    attempts: int = 0
    next_attempt_at: float = 0.0


class Outbox(Protocol):
    def add(self, event_id: str, url: str, body: bytes, now: float) -> None:
        """Persist an event for delivery (idempotent by ``event_id``)."""

    def due(self, now: float, limit: int) -> list[OutboxEvent]:
        """Undelivered events whose next attempt time has come, oldest first."""

    def delivered(self, id: int, now: float) -> None:
        """Mark an event delivered (it is never sent again)."""

    def retry_later(self, id: int, next_attempt_at: float, error: str) -> None:
        """Record a failed attempt and when to try again."""

    def pending_count(self) -> int:
        """How many events are not delivered yet."""
