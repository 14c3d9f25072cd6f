"""Reporting queries of the PostgreSQL store: the SQLite store's answers, in PostgreSQL's SQL.

Each query returns what :mod:`..store.sqlite_reporting` returns for the same campaign (the
parity test runs one seeded campaign on both and compares ``stats`` and ``export``). Where the
two SQL dialects differ the SQLite meaning is kept: ``CAST(real AS INTEGER)`` truncates there
(``trunc`` here), text sorts by code point (``COLLATE "C"``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from ..store.counters import StatCounts
from ..store.rows import CallLegRow
from . import counters


class PgReporting:
    db: psycopg.Connection

    def counts_by(self, campaign_id: int, column: str) -> dict[str | None, int]:
        assert column in ("final_result", "bucket")
        return {
            k: int(n)
            for k, n in self.db.execute(
                f"SELECT {column}, count(*) FROM recipients WHERE campaign_id = %s GROUP BY 1",
                (campaign_id,),
            )
        }

    def stat_counts(self, campaign_id: int) -> StatCounts:
        """The campaign's counters (O(1): its rows of ``campaign_counts``, see :mod:`.counters`)."""
        return counters.read(self.db, campaign_id)

    def recipient_numbers(self, campaign_id: int, bucket: str, limit: int) -> list[str]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT coalesce(e164, phone) FROM recipients WHERE campaign_id = %s"
                " AND bucket = %s ORDER BY id LIMIT %s",
                (campaign_id, bucket, limit),
            )
        ]

    def attempt_stats(self, campaign_id: int) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT count(*), count(DISTINCT a.recipient_id), coalesce(sum(a.duration), 0),"
            " coalesce(sum(CASE WHEN a.answered_at IS NOT NULL"
            "   THEN ((trunc(a.duration)::bigint + 59) / 60) * 60 ELSE 0 END), 0),"
            " min(a.started_at), max(a.ended_at)"
            " FROM attempts a JOIN recipients r ON r.id = a.recipient_id"
            " WHERE r.campaign_id = %s AND a.result IS NOT NULL",
            (campaign_id,),
        ).fetchone()
        assert row is not None
        awaiting = self._one(
            "SELECT count(*) FROM recipients WHERE campaign_id = %s AND final_result IS NULL"
            " AND attempts > 0",
            campaign_id,
        )
        responded = self._one(
            "SELECT count(DISTINCT p.recipient_id) FROM responses p JOIN recipients r"
            " ON r.id = p.recipient_id WHERE r.campaign_id = %s",
            campaign_id,
        )
        return {
            "placed": int(row[0]),
            "attempted": int(row[1]),
            "duration": float(row[2]),
            "billed": int(row[3]),
            "first": row[4],
            "last": row[5],
            "awaiting": awaiting,
            "responded": responded,
        }

    def _one(self, sql: str, *params: Any) -> int:
        row = self.db.execute(sql, params).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def questions(self, campaign_id: int) -> list[str]:
        return [
            r[0]
            for r in self.db.execute(
                # first asked in the order the calls started (responses are inserted as calls
                # end, by several workers; the SQLite store inserts them in start order)
                "SELECT p.question FROM responses p JOIN recipients r ON r.id = p.recipient_id"
                " JOIN attempts a ON a.recipient_id = p.recipient_id"
                " AND a.attempt_no = p.attempt_no WHERE r.campaign_id = %s"
                " GROUP BY p.question ORDER BY min(ARRAY[a.started_at, p.id::float8])",
                (campaign_id,),
            )
        ]

    def answer_counts(self, campaign_id: int) -> list[tuple[str, str, int]]:
        return [
            (q, a, int(n))
            for q, a, n in self.db.execute(
                "SELECT p.question, p.response, count(*) FROM responses p JOIN recipients r"
                " ON r.id = p.recipient_id WHERE r.campaign_id = %s GROUP BY 1, 2"
                ' ORDER BY p.question COLLATE "C", p.response COLLATE "C"',
                (campaign_id,),
            )
        ]

    def respondents(self, campaign_id: int) -> dict[str, int]:
        return {
            q: int(n)
            for q, n in self.db.execute(
                "SELECT p.question, count(DISTINCT p.recipient_id) FROM responses p JOIN"
                " recipients r ON r.id = p.recipient_id WHERE r.campaign_id = %s GROUP BY 1",
                (campaign_id,),
            )
        }

    def zone_keys(self, ids: Sequence[int]) -> dict[int, str]:
        return {
            int(i): k
            for i, k in self.db.execute(
                "SELECT r.id, z.key FROM recipients r JOIN zones z ON z.id = r.zone_id"
                " WHERE r.id = ANY (%s)",
                (list(ids),),
            )
        }

    def calls_over_time(
        self, campaign_id: int, bucket_s: float
    ) -> list[tuple[float, dict[str, int]]]:
        out: list[tuple[float, dict[str, int]]] = []
        for b, result, n in self.db.execute(
            "SELECT trunc(a.started_at / %s)::bigint AS b, a.result, count(*) FROM attempts a"
            " JOIN recipients r ON r.id = a.recipient_id"
            " WHERE r.campaign_id = %s AND a.result IS NOT NULL"
            ' GROUP BY b, a.result ORDER BY b, a.result COLLATE "C"',
            (bucket_s, campaign_id),
        ):
            start = float(b) * bucket_s
            if not out or out[-1][0] != start:
                out.append((start, {}))
            out[-1][1][result] = int(n)
        return out

    def iter_export(self, campaign_id: int) -> Iterator[dict[str, Any]]:
        """Recipients in input order with their attempts and responses (pages of 500)."""
        after = 0
        while True:
            batch = self.db.execute(
                "SELECT id, phone, e164, attributes, final_result, bucket FROM recipients"
                " WHERE campaign_id = %s AND id > %s ORDER BY id LIMIT 500",
                (campaign_id, after),
            ).fetchall()
            if not batch:
                return
            ids = [r[0] for r in batch]
            after = ids[-1]
            attempts: dict[int, list[dict[str, Any]]] = {}
            for a in self.db.execute(
                "SELECT recipient_id, attempt_no, voice_id, result, q850_cause, answered_by,"
                " started_at, answered_at, ended_at, duration, reason FROM attempts"
                " WHERE recipient_id = ANY (%s) AND result IS NOT NULL"
                " ORDER BY recipient_id, attempt_no",
                (ids,),
            ):
                attempt = {
                    "attempt": a[1],
                    "voice_id": a[2],
                    "result": a[3],
                    "q850_cause": a[4],
                    "answered_by": a[5],
                    "started_at": a[6],
                    "answered_at": a[7],
                    "ended_at": a[8],
                    "duration": a[9],
                }
                if a[10] is not None:
                    attempt["reason"] = a[10]
                attempts.setdefault(a[0], []).append(attempt)
            responses: dict[int, list[dict[str, str]]] = {}
            for p in self.db.execute(
                "SELECT recipient_id, question, response FROM responses"
                " WHERE recipient_id = ANY (%s) ORDER BY id",
                (ids,),
            ):
                responses.setdefault(p[0], []).append({"question": p[1], "response": p[2]})
            for rid, phone, e164, attrs, final, bucket in batch:
                yield {
                    "id": rid,
                    "phone_number": phone,
                    "e164": e164,
                    "attributes": json.loads(attrs),
                    "final_result": final,
                    "bucket": bucket,
                    "attempts": attempts.get(rid, []),
                    "responses": responses.get(rid, []),
                }

    def call_summaries(self, campaign_id: int) -> Iterator[CallLegRow]:
        """The last attempt of every dialled recipient, in input order."""
        for row in self.db.execute(
            "SELECT a.voice_id, r.e164, a.duration, a.result, a.answered_by, a.q850_cause"
            " FROM attempts a JOIN recipients r ON r.id = a.recipient_id"
            " WHERE r.campaign_id = %s AND a.attempt_no = r.attempts AND a.result IS NOT NULL"
            " ORDER BY r.id",
            (campaign_id,),
        ).fetchall():
            yield CallLegRow(row[0], row[1], row[2], row[3], row[4], row[5])

    # -- skipped rows, the campaign list, undelivered events --------------------------------
    def duplicate_first_rows(self, campaign_id: int) -> dict[str, int]:
        return {
            e: int(n)
            for e, n in self.db.execute(
                "SELECT e164, min(row_no) FROM recipients WHERE campaign_id = %(c)s AND e164 IN"
                " (SELECT e164 FROM recipients WHERE campaign_id = %(c)s AND bucket = 'duplicate')"
                " GROUP BY e164",
                {"c": campaign_id},
            )
        }

    def row_region(self, recipient_id: int) -> tuple[int, str | None]:
        row = self.db.execute(
            "SELECT row_no, region FROM recipients WHERE id = %s", (recipient_id,)
        ).fetchone()
        assert row is not None
        return int(row[0]), row[1]

    def skipped_recipients(
        self, campaign_id: int
    ) -> Iterator[tuple[int, int, str, str | None, str, str | None]]:
        yield from self.db.execute(
            "SELECT id, row_no, phone, e164, bucket, final_result FROM recipients"
            " WHERE campaign_id = %s AND (bucket <> 'call_initiated' OR final_result = 'UNDIALED')"
            " ORDER BY id",
            (campaign_id,),
        ).fetchall()

    def skipped_count(self, campaign_id: int) -> int:
        return self._one(
            "SELECT count(*) FROM recipients WHERE campaign_id = %s"
            " AND (bucket <> 'call_initiated' OR final_result = 'UNDIALED')",
            campaign_id,
        )

    def campaign_overview(
        self,
    ) -> list[tuple[int, str, str, dict[str, Any], float | None, int, int, int]]:
        """(id, name, state, config, started_at, recipients, remaining, calls) per campaign."""
        return [
            (int(r[0]), r[1], r[2], r[3], r[4], int(r[5]), int(r[6]), int(r[7]))
            for r in self.db.execute(
                "SELECT c.id, c.name, c.state, c.config, c.started_at,"
                " (SELECT count(*) FROM recipients r WHERE r.campaign_id = c.id),"
                " (SELECT count(*) FROM recipients r WHERE r.campaign_id = c.id"
                "   AND r.final_result IS NULL),"
                " (SELECT count(*) FROM attempts a JOIN recipients r ON r.id = a.recipient_id"
                "   WHERE r.campaign_id = c.id)"
                " FROM campaigns c ORDER BY c.id"
            )
        ]

    def undelivered_events(self, broadcast_id: str) -> tuple[int, str | None]:
        """The campaign's undelivered webhook events and the latest error among them."""
        mine = "delivered_at IS NULL AND convert_from(body, 'UTF8')::jsonb ->> 'broadcast_id' = %s"
        count = self._one(f"SELECT count(*) FROM outbox WHERE {mine}", broadcast_id)
        error = self.db.execute(
            f"SELECT last_error FROM outbox WHERE {mine} AND last_error IS NOT NULL"
            " ORDER BY attempts DESC, id DESC LIMIT 1",
            (broadcast_id,),
        ).fetchone()
        return count, error[0] if error else None
