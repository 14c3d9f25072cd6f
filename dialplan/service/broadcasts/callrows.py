"""The calls of a broadcast as CallFire shows them: one per recipient, its attempts as records.

:class:`CallQueries` is what the broadcast layer needs from a campaign store to page through
calls with filters; :class:`SqliteCalls` implements it on the SQLite store's tables,
:class:`~.pgcalls.PgCalls` on the PostgreSQL store's (both build their filter with
:func:`filter_sql` and their state with :func:`state_sql`). A call's ``state`` follows
CallFire's enumeration, derived from the recipient's final result and attempts:

========================  ===========================================
recipient                 state
========================  ===========================================
no final result, never    ``READY``
no final result, dialled  ``CALLBACK`` (awaiting a retry)
attempt in flight         ``SELECTED``
DNC / DUP / INVALID       ``DNC`` / ``DUP`` / ``INVALID``
SKIPPED (country)         ``DISABLED``
any other final result    ``FINISHED``
========================  ===========================================
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

#: CallFire's Call.state values
STATES = (
    "READY",
    "SELECTED",
    "CALLBACK",
    "FINISHED",
    "DISABLED",
    "DNC",
    "DUP",
    "INVALID",
    "TIMEOUT",
    "PERIOD_LIMIT",
)
#: one attempt number per record id: record id = recipient id × RECORD_BASE + attempt number
RECORD_BASE = 1000


def state_sql(in_flight: str) -> str:
    """The SQL of a call's state (the table above) for a recipient ``r``, given the backend's
    condition for "an attempt of ``r`` is in flight"."""
    return f"""CASE
    WHEN r.final_result IS NULL AND {in_flight} THEN 'SELECTED'
    WHEN r.final_result IS NULL AND r.attempts > 0 THEN 'CALLBACK'
    WHEN r.final_result IS NULL THEN 'READY'
    WHEN r.final_result IN ('DNC', 'DUP', 'INVALID') THEN r.final_result
    WHEN r.final_result = 'SKIPPED' THEN 'DISABLED'
    ELSE 'FINISHED' END"""


_STATE_SQL = state_sql("EXISTS (SELECT 1 FROM in_flight f WHERE f.recipient_id = r.id)")


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt of a call (CallFire's CallRecord) with its question responses."""

    attempt_no: int
    result: str
    started_at: float
    ended_at: float
    duration: float
    answered_by: str | None
    responses: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CallRow:
    """One recipient of a broadcast and what happened to it."""

    recipient_id: int
    row_no: int
    phone: str
    e164: str | None
    attributes: dict[str, str]
    final_result: str | None
    state: str
    records: tuple[AttemptRecord, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which calls: by state, final result, row ranges (batches), ids, number."""

    states: frozenset[str] = frozenset()
    results: frozenset[str] = frozenset()
    rows: tuple[tuple[int, int], ...] | None = None
    ids: frozenset[int] = frozenset()
    to_number: str | None = None


def filter_sql(
    campaign_id: int, where: CallFilter, state: str, mark: str
) -> tuple[str, list[object]]:
    """The condition on recipients ``r`` that ``where`` asks for and its parameters, in the
    backend's dialect: its call state SQL (:func:`state_sql`) and parameter mark (``?``,
    ``%s``)."""

    def marks(n: int) -> str:
        return ",".join([mark] * n)

    sql = [f"r.campaign_id = {mark}"]
    args: list[object] = [campaign_id]
    if where.results:
        sql.append(f"r.final_result IN ({marks(len(where.results))})")
        args.extend(sorted(where.results))
    if where.states:
        sql.append(f"({state}) IN ({marks(len(where.states))})")
        args.extend(sorted(where.states))
    if where.rows is not None:
        ranges = [f"r.row_no BETWEEN {mark} AND {mark}"] * len(where.rows)
        sql.append("(" + (" OR ".join(ranges) or "1 = 0") + ")")
        for pair in where.rows:
            args.extend(pair)
    if where.ids:
        sql.append(f"r.id IN ({marks(len(where.ids))})")
        args.extend(sorted(where.ids))
    if where.to_number:
        sql.append(f"(r.e164 = {mark} OR r.phone = {mark})")
        args.extend([where.to_number, where.to_number])
    return " AND ".join(sql), args


class CallQueries(Protocol):
    def calls(
        self, campaign_id: int, where: CallFilter, limit: int, offset: int
    ) -> tuple[list[CallRow], int]:
        """A page of calls in input order and the number of calls that match."""
        ...

    def campaign_of(self, recipient_id: int) -> int | None:
        """The campaign a recipient (call id) belongs to."""
        ...

    def last_row_no(self, campaign_id: int) -> int: ...


class SqliteCalls:
    """:class:`CallQueries` on a campaign store's SQLite connection (read-only is enough)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def last_row_no(self, campaign_id: int) -> int:
        row = self.db.execute(
            "SELECT COALESCE(MAX(row_no), 0) FROM recipients WHERE campaign_id = ?",
            (campaign_id,),
        ).fetchone()
        return int(row[0])

    def campaign_of(self, recipient_id: int) -> int | None:
        row = self.db.execute(
            "SELECT campaign_id FROM recipients WHERE id = ?", (recipient_id,)
        ).fetchone()
        return None if row is None else int(row[0])

    def calls(
        self, campaign_id: int, where: CallFilter, limit: int, offset: int
    ) -> tuple[list[CallRow], int]:
        cond, args = filter_sql(campaign_id, where, _STATE_SQL, "?")
        total = int(
            self.db.execute(f"SELECT COUNT(*) FROM recipients r WHERE {cond}", args).fetchone()[0]
        )
        rows = self.db.execute(
            f"SELECT r.id, r.row_no, r.phone, r.e164, r.attributes, r.final_result, {_STATE_SQL}"
            f" FROM recipients r WHERE {cond} ORDER BY r.id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
        return [self._call(r) for r in rows], total

    def _call(self, r: Sequence[object]) -> CallRow:
        rid = int(str(r[0]))
        responses: dict[int, list[tuple[str, str]]] = {}
        for n, question, response in self.db.execute(
            "SELECT attempt_no, question, response FROM responses WHERE recipient_id = ?"
            " ORDER BY id",
            (rid,),
        ):
            responses.setdefault(int(n), []).append((str(question), str(response)))
        records = tuple(
            AttemptRecord(
                int(a[0]),
                str(a[1]),
                float(a[2]),
                float(a[3]),
                float(a[4]),
                a[5],
                tuple(responses.get(int(a[0]), ())),
            )
            for a in self.db.execute(
                "SELECT attempt_no, result, started_at, ended_at, duration, answered_by"
                " FROM attempts WHERE recipient_id = ? ORDER BY attempt_no",
                (rid,),
            )
        )
        return CallRow(
            rid,
            int(str(r[1])),
            str(r[2]),
            None if r[3] is None else str(r[3]),
            json.loads(str(r[4])),
            None if r[5] is None else str(r[5]),
            str(r[6]),
            records,
        )
