"""Reporting queries of the SQLite store: counts, statistics, answers, the export stream
(:class:`~.interfaces.Reporting`). Read-only: they work on a read-only store too."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from ..telephony.port import voice_id_for
from . import counters
from .counters import StatCounts
from .migrations import COUNTERS
from .rows import CallLegRow


class SqliteReporting:
    db: sqlite3.Connection
    version: int

    def counts_by(self, campaign_id: int, column: str) -> dict[str | None, int]:
        assert column in ("final_result", "bucket")
        return {
            k: n
            for k, n in self.db.execute(
                f"SELECT {column}, COUNT(*) FROM recipients WHERE campaign_id = ? GROUP BY 1",
                (campaign_id,),
            )
        }

    def stat_counts(self, campaign_id: int) -> StatCounts:
        """The campaign's counters (O(1); what :meth:`counts_by` and :meth:`attempt_stats`
        count, kept by triggers since schema version 6)."""
        if self.version < COUNTERS:  # an older file opened read-only: count the rows
            return StatCounts.counted(self, campaign_id)
        return counters.read(self.db, campaign_id)

    def recipient_numbers(self, campaign_id: int, bucket: str, limit: int) -> list[str]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT COALESCE(e164, phone) FROM recipients WHERE campaign_id = ? AND bucket = ?"
                " ORDER BY id LIMIT ?",
                (campaign_id, bucket, limit),
            )
        ]

    def attempt_stats(self, campaign_id: int) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT a.recipient_id), COALESCE(SUM(a.duration), 0),"
            " COALESCE(SUM(CASE WHEN a.answered_at IS NOT NULL"
            "   THEN ((CAST(a.duration AS INTEGER) + 59) / 60) * 60 ELSE 0 END), 0),"
            " MIN(a.started_at), MAX(a.ended_at)"
            " FROM attempts a JOIN recipients r ON r.id = a.recipient_id WHERE r.campaign_id = ?",
            (campaign_id,),
        ).fetchone()
        awaiting = self.db.execute(
            "SELECT COUNT(*) FROM recipients WHERE campaign_id = ? AND final_result IS NULL"
            " AND attempts > 0",
            (campaign_id,),
        ).fetchone()[0]
        responded = self.db.execute(
            "SELECT COUNT(DISTINCT p.recipient_id) FROM responses p JOIN recipients r"
            " ON r.id = p.recipient_id WHERE r.campaign_id = ?",
            (campaign_id,),
        ).fetchone()[0]
        return {
            "placed": row[0],
            "attempted": row[1],
            "duration": row[2],
            "billed": row[3],
            "first": row[4],
            "last": row[5],
            "awaiting": awaiting,
            "responded": responded,
        }

    def questions(self, campaign_id: int) -> list[str]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT p.question FROM responses p JOIN recipients r ON r.id = p.recipient_id"
                " WHERE r.campaign_id = ? GROUP BY p.question ORDER BY MIN(p.id)",
                (campaign_id,),
            )
        ]

    def answer_counts(self, campaign_id: int) -> list[tuple[str, str, int]]:
        return list(
            self.db.execute(
                "SELECT p.question, p.response, COUNT(*) FROM responses p JOIN recipients r"
                " ON r.id = p.recipient_id WHERE r.campaign_id = ? GROUP BY 1, 2 ORDER BY 1, 2",
                (campaign_id,),
            )
        )

    def respondents(self, campaign_id: int) -> dict[str, int]:
        """Question → recipients who gave it at least one response (for the report's shares)."""
        return dict(
            self.db.execute(
                "SELECT p.question, COUNT(DISTINCT p.recipient_id) FROM responses p JOIN"
                " recipients r ON r.id = p.recipient_id WHERE r.campaign_id = ? GROUP BY 1",
                (campaign_id,),
            )
        )

    def zone_keys(self, ids: Sequence[int]) -> dict[int, str]:
        """Recipient id → its zone key (``America/New_York``, or several joined by ``|``)."""
        out: dict[int, str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            out.update(
                self.db.execute(
                    "SELECT r.id, z.key FROM recipients r JOIN zones z ON z.id = r.zone_id"
                    f" WHERE r.id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
            )
        return out

    def calls_over_time(
        self, campaign_id: int, bucket_s: float
    ) -> list[tuple[float, dict[str, int]]]:
        """Attempts per time bucket (start, epoch seconds) and result."""
        out: list[tuple[float, dict[str, int]]] = []
        for b, result, n in self.db.execute(
            "SELECT CAST(a.started_at / ? AS INTEGER) AS b, a.result, COUNT(*) FROM attempts a"
            " JOIN recipients r ON r.id = a.recipient_id WHERE r.campaign_id = ?"
            " GROUP BY b, a.result ORDER BY b, a.result",
            (bucket_s, campaign_id),
        ):
            start = float(b) * bucket_s
            if not out or out[-1][0] != start:
                out.append((start, {}))
            out[-1][1][result] = n
        return out

    def iter_export(self, campaign_id: int) -> Iterator[dict[str, Any]]:
        """Recipients in input order with their attempts and responses (streamed)."""
        broadcast_id = self.db.execute(
            "SELECT broadcast_id FROM campaigns WHERE id = ?", (campaign_id,)
        ).fetchone()[0]
        reason = "reason" if self.version >= 2 else "NULL"  # release 1 read-only: no column
        cur = self.db.cursor()
        cur.execute(
            "SELECT id, phone, e164, attributes, final_result, bucket FROM recipients"
            " WHERE campaign_id = ? ORDER BY id",
            (campaign_id,),
        )
        while batch := cur.fetchmany(500):
            ids = [r[0] for r in batch]
            marks = ",".join("?" * len(ids))
            attempts: dict[int, list[dict[str, Any]]] = {}
            for a in self.db.execute(
                "SELECT recipient_id, attempt_no, voice_id, result, q850_cause, answered_by,"
                f" started_at, answered_at, ended_at, duration, {reason} FROM attempts"
                f" WHERE recipient_id IN ({marks}) ORDER BY recipient_id, attempt_no",
                ids,
            ):
                attempt = {
                    "attempt": a[1],
                    "voice_id": a[2] or voice_id_for(broadcast_id, a[0], a[1]),
                    "result": a[3],
                    "q850_cause": a[4],
                    "answered_by": a[5],
                    "started_at": a[6],
                    "answered_at": a[7],
                    "ended_at": a[8],
                    "duration": a[9],
                }
                if a[10] is not None:  # booked by the runtime itself (e.g. a lost runner)
                    attempt["reason"] = a[10]
                attempts.setdefault(a[0], []).append(attempt)
            responses: dict[int, list[dict[str, str]]] = {}
            for p in self.db.execute(
                f"SELECT recipient_id, question, response FROM responses"
                f" WHERE recipient_id IN ({marks}) ORDER BY id",
                ids,
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
        broadcast_id = self.db.execute(
            "SELECT broadcast_id FROM campaigns WHERE id = ?", (campaign_id,)
        ).fetchone()[0]
        for row in self.db.execute(
            "SELECT a.voice_id, r.e164, a.duration, a.result, a.answered_by, a.q850_cause,"
            " a.recipient_id, a.attempt_no"
            " FROM attempts a JOIN recipients r ON r.id = a.recipient_id"
            " WHERE r.campaign_id = ? AND a.attempt_no = r.attempts ORDER BY r.id",
            (campaign_id,),
        ):
            voice_id = row[0] or voice_id_for(broadcast_id, row[6], row[7])
            yield CallLegRow(voice_id, *row[1:6])

    # -- skipped rows, the campaign list, undelivered events --------------------------------
    def duplicate_first_rows(self, campaign_id: int) -> dict[str, int]:
        """Number → the first row of every number that has duplicates (bounded by them)."""
        return dict(
            self.db.execute(
                "SELECT e164, MIN(row_no) FROM recipients WHERE campaign_id = ?1 AND e164 IN"
                " (SELECT e164 FROM recipients WHERE campaign_id = ?1 AND bucket = 'duplicate')"
                " GROUP BY e164",
                (campaign_id,),
            ).fetchall()
        )

    def row_region(self, recipient_id: int) -> tuple[int, str | None]:
        row = self.db.execute(
            "SELECT row_no, region FROM recipients WHERE id = ?", (recipient_id,)
        ).fetchone()
        return int(row[0]), row[1]

    def skipped_recipients(
        self, campaign_id: int
    ) -> Iterator[tuple[int, int, str, str | None, str, str | None]]:
        """(id, row_no, phone, e164, bucket, final_result) of the rows never dialled."""
        yield from self.db.execute(
            "SELECT id, row_no, phone, e164, bucket, final_result FROM recipients"
            " WHERE campaign_id = ? AND (bucket != 'call_initiated' OR final_result = 'UNDIALED')"
            " ORDER BY id",
            (campaign_id,),
        )

    def skipped_count(self, campaign_id: int) -> int:
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM recipients WHERE campaign_id = ?"
                " AND (bucket != 'call_initiated' OR final_result = 'UNDIALED')",
                (campaign_id,),
            ).fetchone()[0]
        )

    def campaign_overview(
        self,
    ) -> list[tuple[int, str, str, dict[str, Any], float | None, int, int, int]]:
        """(id, name, state, config, started_at, recipients, remaining, calls) per campaign."""
        counts = {
            cid: (total, remaining or 0)
            for cid, total, remaining in self.db.execute(
                "SELECT campaign_id, COUNT(*), SUM(final_result IS NULL) FROM recipients"
                " GROUP BY campaign_id"
            )
        }
        calls = dict(
            self.db.execute(
                "SELECT r.campaign_id, COUNT(*) FROM attempts a JOIN recipients r"
                " ON r.id = a.recipient_id GROUP BY r.campaign_id"
            ).fetchall()
        )
        out = []
        for cid, name, state, config, started_at in self.db.execute(
            "SELECT id, name, state, config, started_at FROM campaigns ORDER BY id"
        ).fetchall():
            total, remaining = counts.get(cid, (0, 0))
            out.append(
                (cid, name, state, json.loads(config), started_at, total, remaining,
                 calls.get(cid, 0))
            )  # fmt: skip
        return out

    def undelivered_events(self, broadcast_id: str) -> tuple[int, str | None]:
        """The campaign's undelivered webhook events (an event belongs to the campaign whose
        ``broadcast_id`` it carries; the partial index keeps this to the undelivered rows) and
        the latest error among them."""
        mine = "delivered_at IS NULL AND json_extract(CAST(body AS TEXT), '$.broadcast_id') = ?"
        count = self.db.execute(f"SELECT COUNT(*) FROM outbox WHERE {mine}", (broadcast_id,))
        error = self.db.execute(
            f"SELECT last_error FROM outbox WHERE {mine} AND last_error IS NOT NULL"
            " ORDER BY attempts DESC, id DESC LIMIT 1",
            (broadcast_id,),
        ).fetchone()
        return int(count.fetchone()[0]), error[0] if error else None
