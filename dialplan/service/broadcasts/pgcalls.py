"""The calls of a broadcast on the PostgreSQL campaign store (:class:`~.callrows.CallQueries`).

The filter and the state are :mod:`.callrows`' (:func:`~.callrows.filter_sql`,
:func:`~.callrows.state_sql`); a call is in flight while a worker holds its recipient
(``claimed_by``). A page costs three queries whatever its size: the recipients, their attempts
and their responses (an attempt still in flight has no result yet and is not a record).
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from .callrows import AttemptRecord, CallFilter, CallRow, filter_sql, state_sql

__all__ = ["PgCalls"]

_STATE_SQL = state_sql("r.claimed_by IS NOT NULL")


class PgCalls:
    """:class:`~.callrows.CallQueries` on a connection to the PostgreSQL campaign store."""

    def __init__(self, db: psycopg.Connection) -> None:
        self.db = db

    def last_row_no(self, campaign_id: int) -> int:
        row = self.db.execute(
            "SELECT coalesce(max(row_no), 0) FROM recipients WHERE campaign_id = %s",
            (campaign_id,),
        ).fetchone()
        return int(row[0]) if row else 0

    def campaign_of(self, recipient_id: int) -> int | None:
        row = self.db.execute(
            "SELECT campaign_id FROM recipients WHERE id = %s", (recipient_id,)
        ).fetchone()
        return None if row is None else int(row[0])

    def calls(
        self, campaign_id: int, where: CallFilter, limit: int, offset: int
    ) -> tuple[list[CallRow], int]:
        cond, args = filter_sql(campaign_id, where, _STATE_SQL, "%s")
        counted = self.db.execute(f"SELECT count(*) FROM recipients r WHERE {cond}", args)
        total = int((counted.fetchone() or (0,))[0])
        rows = self.db.execute(
            f"SELECT r.id, r.row_no, r.phone, r.e164, r.attributes, r.final_result, {_STATE_SQL}"
            f" FROM recipients r WHERE {cond} ORDER BY r.id LIMIT %s OFFSET %s",
            [*args, limit, offset],
        ).fetchall()
        records = self._records([int(r[0]) for r in rows])
        return [
            CallRow(
                int(r[0]),
                int(r[1]),
                str(r[2]),
                r[3],
                json.loads(r[4]),
                r[5],
                str(r[6]),
                tuple(records.get(int(r[0]), ())),
            )
            for r in rows
        ], total

    def _records(self, ids: list[int]) -> dict[int, list[AttemptRecord]]:
        """The finished attempts of these recipients with their responses, by recipient."""
        if not ids:
            return {}
        responses: dict[tuple[int, int], list[tuple[str, str]]] = {}
        for rid, n, question, response in self.db.execute(
            "SELECT recipient_id, attempt_no, question, response FROM responses"
            " WHERE recipient_id = ANY (%s) ORDER BY id",
            (ids,),
        ):
            responses.setdefault((int(rid), int(n)), []).append((str(question), str(response)))
        out: dict[int, list[AttemptRecord]] = {}
        a: Any
        for a in self.db.execute(
            "SELECT recipient_id, attempt_no, result, started_at, ended_at, duration,"
            " answered_by FROM attempts WHERE recipient_id = ANY (%s) AND result IS NOT NULL"
            " ORDER BY recipient_id, attempt_no",
            (ids,),
        ):
            rid, n = int(a[0]), int(a[1])
            out.setdefault(rid, []).append(
                AttemptRecord(
                    n,
                    str(a[2]),
                    float(a[3]),
                    float(a[4]),
                    float(a[5] or 0.0),
                    a[6],
                    tuple(responses.get((rid, n), ())),
                )
            )
        return out
