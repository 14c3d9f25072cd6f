"""An in-memory :class:`~dialplan.broadcast.webhooks.outbox.Outbox`: for tests and dry runs (nothing survives a crash)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from .outbox import OutboxEvent

__all__ = ["MemoryOutbox"]


@dataclass
class _Row:
    event: OutboxEvent
    delivered_at: float | None = None
    errors: list[str] = field(default_factory=list)


class MemoryOutbox:
    """Implements the ``Outbox`` protocol in a dict; ``id`` is the insertion order (1, 2, 3 …)."""

    def __init__(self) -> None:
        self._rows: dict[int, _Row] = {}
        self._by_event_id: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, event_id: str, url: str, body: bytes, now: float) -> None:
        with self._lock:
            if event_id in self._by_event_id:
                return
            row_id = len(self._rows) + 1
            self._rows[row_id] = _Row(OutboxEvent(row_id, event_id, url, bytes(body), 0, now))
            self._by_event_id[event_id] = row_id

    def due(self, now: float, limit: int) -> list[OutboxEvent]:
        with self._lock:
            out = [
                row.event
                for row in self._rows.values()
                if row.delivered_at is None and row.event.next_attempt_at <= now
            ]
            return out[: max(limit, 0)]

    def delivered(self, id: int, now: float) -> None:
        with self._lock:
            row = self._rows[id]
            if row.delivered_at is None:
                row.delivered_at = now
                row.event = replace(row.event, attempts=row.event.attempts + 1)

    def retry_later(self, id: int, next_attempt_at: float, error: str) -> None:
        with self._lock:
            row = self._rows[id]
            if row.delivered_at is not None:
                return
            row.event = replace(
                row.event, attempts=row.event.attempts + 1, next_attempt_at=next_attempt_at
            )
            row.errors.append(error)

    def pending_count(self) -> int:
        with self._lock:
            return sum(1 for row in self._rows.values() if row.delivered_at is None)

    # Inspection helpers (not part of the protocol).
    def get(self, event_id: str) -> OutboxEvent:
        """The current state of one event."""
        with self._lock:
            return self._rows[self._by_event_id[event_id]].event

    def errors(self, event_id: str) -> list[str]:
        """Every recorded failure of one event, oldest first."""
        with self._lock:
            return list(self._rows[self._by_event_id[event_id]].errors)

    def is_delivered(self, event_id: str) -> bool:
        with self._lock:
            return self._rows[self._by_event_id[event_id]].delivered_at is not None

    def __len__(self) -> int:
        return len(self._rows)
