"""A campaign's webhook events that are not delivered yet, and the last reason (the outbox).

The outbox is shared by the campaigns of a database; an event belongs to the campaign whose
``broadcast_id`` it carries.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store.sqlite import Store


@dataclass(frozen=True, slots=True)
class Undelivered:
    count: int
    last_error: str | None  # the latest failed attempt's error, if any attempt failed


def undelivered(store: Store, broadcast_id: str) -> Undelivered:
    """The campaign's events still waiting in the outbox."""
    return Undelivered(*store.undelivered_events(broadcast_id))


def undelivered_text(u: Undelivered) -> str:
    """One line for the text outputs of ``run`` and ``stats`` (empty when all are delivered)."""
    if not u.count:
        return ""
    why = f"last error: {u.last_error}; " if u.last_error else ""
    return (
        f"webhook events undelivered: {u.count} ({why}they stay in the database and the next"
        " run of the campaign delivers them)\n"
    )
