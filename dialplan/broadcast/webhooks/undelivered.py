"""A campaign's webhook events that are not delivered yet, and the last reason (the outbox).

The outbox is shared by the campaigns of a database; an event belongs to the campaign whose
``broadcast_id`` it carries.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store.sqlite import Store

_MINE = "delivered_at IS NULL AND json_extract(CAST(body AS TEXT), '$.broadcast_id') = ?"


@dataclass(frozen=True, slots=True)
class Undelivered:
    count: int
    last_error: str | None  # the latest failed attempt's error, if any attempt failed


def undelivered(store: Store, broadcast_id: str) -> Undelivered:
    """The campaign's events still waiting in the outbox (the partial index keeps this to the
    undelivered rows)."""
    count = store.db.execute(f"SELECT COUNT(*) FROM outbox WHERE {_MINE}", (broadcast_id,))
    error = store.db.execute(
        f"SELECT last_error FROM outbox WHERE {_MINE} AND last_error IS NOT NULL"
        " ORDER BY attempts DESC, id DESC LIMIT 1",
        (broadcast_id,),
    ).fetchone()
    return Undelivered(int(count.fetchone()[0]), error[0] if error else None)


def undelivered_text(u: Undelivered) -> str:
    """One line for the text outputs of ``run`` and ``stats`` (empty when all are delivered)."""
    if not u.count:
        return ""
    why = f"last error: {u.last_error}; " if u.last_error else ""
    return (
        f"webhook events undelivered: {u.count} ({why}they stay in the database and the next"
        " run of the campaign delivers them)\n"
    )
