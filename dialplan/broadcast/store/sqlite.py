"""The campaign store: one SQLite file (WAL) behind a small repository layer.

Everything the engine persists goes through :class:`Store` (so a PostgreSQL implementation can
follow with the same methods): campaigns, recipients, attempts, responses and the webhook outbox
(:class:`~dialplan.broadcast.webhooks.outbox.Outbox`). Writes are batched by the caller: nothing is
committed until :meth:`Store.commit`, so a crash loses only uncommitted (and therefore
never-reported) work.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..telephony.port import voice_id_for
from ..webhooks.outbox import OutboxEvent
from .migrations import LATEST, QUEUE_INDEX, check_version, migrate
from .rows import AttemptRow, InFlight, Pending, RecipientUpdate, ResponseRow
from .sqlitefile import database_error, open_readonly


@dataclass(frozen=True, slots=True)
class CampaignRow:
    id: int
    name: str
    broadcast_id: str
    config: dict[str, Any]
    state: str
    loaded_rows: int
    clock: float | None
    started_at: float | None
    finished_at: float | None
    dispatch: dict[str, Any]


@dataclass(frozen=True, slots=True)
class InputRow:
    """The fingerprint of one input of a campaign (``recipients``, ``dialplan``, ``settings``)."""

    kind: str
    sha256: str
    path: str
    recorded_at: float


class Store:
    """SQLite implementation of the repository (and of the webhook :class:`Outbox`)."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        """Open (and create or upgrade) the database; ``readonly``: open it with SQLite's
        ``mode=ro`` and write nothing at all — not even a journal — so that reading commands
        work on a read-only mount and never change the file."""
        self.path = str(path)
        self.readonly = readonly
        #: called inside every write transaction just before it commits (the lease's fence)
        self.fence: Callable[[sqlite3.Connection], None] | None = None
        self._in_tx = False
        if readonly:
            self.db = open_readonly(self.path)
            #: the schema version (a read-only store never upgrades the file)
            self.version = check_version(self.db, self.path)
            return
        self.version = LATEST
        try:
            self.db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
            self._setup()
        except sqlite3.DatabaseError as exc:
            raise database_error(self.path, exc, "cannot open campaign database") from None

    def _setup(self, patience: float = 120.0) -> None:
        """Journal mode, schema and pragmas. Two processes opening a new or idle file at once
        can find each other mid-way (changing the journal mode must not wait on a lock that
        could deadlock, so SQLite answers "busy" at once), and a closed database (rollback
        journal, see :meth:`close`) cannot turn to WAL while a reader — a long ``export`` — is
        in it: wait and try again."""
        deadline = time.monotonic() + patience
        while True:
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.execute("PRAGMA cache_size=-16000")
                self.db.execute("PRAGMA wal_autocheckpoint=8192")
                migrate(self.db, self.path)
                return
            except sqlite3.OperationalError as exc:
                busy = getattr(exc, "sqlite_errorname", "").startswith("SQLITE_BUSY")
                if not busy or time.monotonic() > deadline:
                    raise
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                time.sleep(0.05)

    # -- transactions -------------------------------------------------------------------
    def begin(self) -> None:
        if not self._in_tx:
            self.db.execute("BEGIN IMMEDIATE")
            self._in_tx = True

    def commit(self) -> None:
        if self._in_tx:
            try:
                if self.fence is not None:
                    self.fence(self.db)
                self.db.execute("COMMIT")
            except BaseException:
                self.rollback()
                raise
            self._in_tx = False

    def rollback(self) -> None:
        """Drop the uncommitted work (after a failure); never raises."""
        self._in_tx = False
        try:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def close(self) -> None:
        """Commit and close. The last writer to close puts the file back into rollback-journal
        mode: a database nobody has open is one self-contained file, which can be copied, and
        read (``readonly``) even on a read-only mount where SQLite could not create the WAL's
        shared-memory file."""
        if not self.readonly:
            self.commit()
            try:
                self.db.execute("PRAGMA busy_timeout = 0")  # someone else has it open: stay WAL
                self.db.execute("PRAGMA journal_mode=DELETE")
            except sqlite3.Error:
                pass
        self.db.close()

    # -- campaigns ----------------------------------------------------------------------
    def campaign(self, name: str) -> CampaignRow | None:
        row = self.db.execute(
            "SELECT id, name, broadcast_id, config, state, loaded_rows, clock, started_at,"
            " finished_at, dispatch FROM campaigns WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        return CampaignRow(
            row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6], row[7],
            row[8], json.loads(row[9]),
        )  # fmt: skip

    def campaign_names(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM campaigns ORDER BY id")]

    def create_campaign(
        self,
        name: str,
        broadcast_id: str,
        config: dict[str, Any],
        inputs: Sequence[InputRow] = (),
    ) -> int:
        """A new campaign and the fingerprints of its inputs, in one transaction."""
        self.begin()
        cur = self.db.execute(
            "INSERT INTO campaigns (name, broadcast_id, config) VALUES (?, ?, ?)",
            (name, broadcast_id, json.dumps(config, sort_keys=True, default=str)),
        )
        assert cur.lastrowid is not None
        self.record_inputs(cur.lastrowid, inputs)
        self.commit()
        return cur.lastrowid

    def record_inputs(self, campaign_id: int, inputs: Sequence[InputRow]) -> None:
        """Remember input fingerprints (part of the current transaction)."""
        self.db.executemany(
            "INSERT OR IGNORE INTO campaign_inputs (campaign_id, kind, sha256, path, recorded_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [(campaign_id, i.kind, i.sha256, i.path, i.recorded_at) for i in inputs],
        )

    def inputs(self, campaign_id: int) -> list[InputRow]:
        """Every fingerprint recorded for the campaign, oldest first."""
        return [
            InputRow(*r)
            for r in self.db.execute(
                "SELECT kind, sha256, path, recorded_at FROM campaign_inputs"
                " WHERE campaign_id = ? ORDER BY recorded_at, kind",
                (campaign_id,),
            )
        ]

    def update_campaign(self, campaign_id: int, **fields: Any) -> None:
        """Set columns (``dispatch`` is JSON-encoded). Part of the current transaction."""
        if "dispatch" in fields:
            fields["dispatch"] = json.dumps(fields["dispatch"])
        cols = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(
            f"UPDATE campaigns SET {cols} WHERE id = ?", (*fields.values(), campaign_id)
        )

    def drop_queue_index(self) -> None:
        """Bulk loads are faster without the queue index; :meth:`build_queue_index` restores it."""
        self.db.execute("DROP INDEX IF EXISTS recipients_queue")

    def build_queue_index(self) -> None:
        self.db.execute(QUEUE_INDEX)

    # -- zones --------------------------------------------------------------------------
    def zone_ids(self) -> dict[str, int]:
        return {k: i for i, k in self.db.execute("SELECT id, key FROM zones")}

    def add_zone(self, key: str) -> int:
        self.db.execute("INSERT OR IGNORE INTO zones (key) VALUES (?)", (key,))
        row = self.db.execute("SELECT id FROM zones WHERE key = ?", (key,)).fetchone()
        return int(row[0])

    def campaign_zones(self, campaign_id: int) -> list[tuple[int, str]]:
        return list(
            self.db.execute(
                "SELECT DISTINCT r.zone_id, z.key FROM recipients r JOIN zones z"
                " ON z.id = r.zone_id WHERE r.campaign_id = ? ORDER BY r.zone_id",
                (campaign_id,),
            )
        )

    # -- recipients ---------------------------------------------------------------------
    def add_recipients(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Rows: (campaign_id, row_no, phone, e164, region, zone_id, attributes_json,
        sim_result, sim_inputs, bucket, final_result, next_at)."""
        self.db.executemany(
            "INSERT INTO recipients (campaign_id, row_no, phone, e164, region, zone_id,"
            " attributes, sim_result, sim_inputs, bucket, final_result, next_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def add_dnc(self, campaign_id: int, numbers: Iterable[str], source: str) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO dnc (campaign_id, number, source) VALUES (?, ?, ?)",
            ((campaign_id, n, source) for n in numbers),
        )

    def dnc_numbers(self, campaign_id: int, source: str) -> set[str]:
        return {
            r[0]
            for r in self.db.execute(
                "SELECT number FROM dnc WHERE campaign_id = ? AND source = ?", (campaign_id, source)
            )
        }

    def bucket_dnc_and_duplicates(self, campaign_id: int, scrub_duplicates: bool) -> None:
        """Set-based bucketing after loading: DNC list entries, then duplicate numbers."""
        self.db.execute(
            "UPDATE recipients SET bucket = 'call_blacklisted', final_result = 'DNC'"
            " WHERE campaign_id = ?1 AND final_result IS NULL AND e164 IN"
            " (SELECT number FROM dnc WHERE campaign_id = ?1)",
            (campaign_id,),
        )
        if scrub_duplicates:
            self.db.execute(
                "UPDATE recipients SET bucket = 'duplicate', final_result = 'DUP'"
                " WHERE campaign_id = ?1 AND e164 IS NOT NULL AND id NOT IN"
                " (SELECT MIN(id) FROM recipients WHERE campaign_id = ?1 AND e164 IS NOT NULL"
                "  GROUP BY e164)",
                (campaign_id,),
            )

    def pending(
        self, campaign_id: int, zone_id: int, after: tuple[float, int], limit: int
    ) -> list[Pending]:
        """Queued recipients of one zone, by (next_at, id) strictly after ``after``."""
        t, rid = after
        rows = self.db.execute(
            "SELECT next_at, id, e164, attempts, attributes, sim_result, sim_inputs"
            " FROM recipients INDEXED BY recipients_queue"
            " WHERE campaign_id = ? AND zone_id = ? AND final_result IS NULL"
            " AND (next_at > ? OR (next_at = ? AND id > ?)) ORDER BY next_at, id LIMIT ?",
            (campaign_id, zone_id, t, t, rid, limit),
        ).fetchall()
        return [Pending(*r) for r in rows]

    def record_attempts(self, rows: Sequence[AttemptRow]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO attempts (recipient_id, attempt_no, voice_id, started_at,"
            " answered_at, ended_at, result, q850_cause, answered_by, duration, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (a.recipient_id, a.attempt_no, a.voice_id, a.started_at, a.answered_at,
                 a.ended_at, a.result, a.q850_cause, a.answered_by, a.duration, a.reason)
                for a in rows
            ],
        )  # fmt: skip

    def record_responses(self, rows: Sequence[ResponseRow]) -> None:
        self.db.executemany(
            "INSERT INTO responses (recipient_id, attempt_no, question, response)"
            " VALUES (?, ?, ?, ?)",
            [(r.recipient_id, r.attempt_no, r.question, r.response) for r in rows],
        )

    def update_recipients(self, rows: Sequence[RecipientUpdate]) -> None:
        self.db.executemany(
            "UPDATE recipients SET attempts = ?, next_at = ?, final_result = ? WHERE id = ?",
            [(u.attempts, u.next_at, u.final_result, u.recipient_id) for u in rows],
        )

    # -- attempts in flight (real time: committed before the call is placed) ----------------
    def add_in_flight(self, campaign_id: int, row: InFlight) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO in_flight (campaign_id, recipient_id, attempt_no, voice_id,"
            " started_at) VALUES (?, ?, ?, ?, ?)",
            (campaign_id, row.recipient_id, row.attempt_no, row.voice_id, row.started_at),
        )

    def in_flight(self, campaign_id: int) -> list[InFlight]:
        return [
            InFlight(*r)
            for r in self.db.execute(
                "SELECT recipient_id, attempt_no, voice_id, started_at FROM in_flight"
                " WHERE campaign_id = ? ORDER BY recipient_id, attempt_no",
                (campaign_id,),
            )
        ]

    def remove_in_flight(self, keys: Sequence[tuple[int, int]]) -> None:
        self.db.executemany("DELETE FROM in_flight WHERE recipient_id = ? AND attempt_no = ?", keys)

    def finish_remaining(self, campaign_id: int) -> int:
        """Recipients the campaign can no longer call: the last attempt's result, or
        ``UNDIALED`` if they were never called."""
        cur = self.db.execute(
            "UPDATE recipients SET final_result = COALESCE((SELECT a.result FROM attempts a"
            " WHERE a.recipient_id = recipients.id AND a.attempt_no = recipients.attempts),"
            " 'UNDIALED') WHERE campaign_id = ? AND final_result IS NULL",
            (campaign_id,),
        )
        return cur.rowcount

    def counts_by(self, campaign_id: int, column: str) -> dict[str | None, int]:
        assert column in ("final_result", "bucket")
        return {
            k: n
            for k, n in self.db.execute(
                f"SELECT {column}, COUNT(*) FROM recipients WHERE campaign_id = ? GROUP BY 1",
                (campaign_id,),
            )
        }

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

    def call_summaries(self, campaign_id: int) -> Iterator[tuple[Any, ...]]:
        """Last attempt per dialled recipient: (voice_id, to, duration, result, answered_by,
        q850)."""
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
            yield (row[0] or voice_id_for(broadcast_id, row[6], row[7]), *row[1:6])

    # -- the webhook outbox (dialplan.broadcast.webhooks.outbox.Outbox) --------------------------
    def add(self, event_id: str, url: str, body: bytes, now: float) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO outbox (event_id, url, body, created_at, next_attempt_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (event_id, url, body, now, now),
        )

    def add_many(self, rows: Sequence[tuple[str, str, bytes, float]]) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO outbox (event_id, url, body, created_at, next_attempt_at)"
            " VALUES (?1, ?2, ?3, ?4, ?4)",
            rows,
        )

    def due(self, now: float, limit: int) -> list[OutboxEvent]:
        rows = self.db.execute(
            "SELECT id, event_id, url, body, attempts, next_attempt_at FROM outbox"
            " WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id"
            " LIMIT ?",
            (now, limit),
        ).fetchall()
        return [OutboxEvent(r[0], r[1], r[2], bytes(r[3]), r[4], r[5]) for r in rows]

    def delivered(self, id: int, now: float) -> None:
        self.db.execute(
            "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1 WHERE id = ?", (now, id)
        )

    def retry_later(self, id: int, next_attempt_at: float, error: str) -> None:
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
            " WHERE id = ?",
            (next_attempt_at, error[:500], id),
        )

    def pending_count(self) -> int:
        return int(
            self.db.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]
        )

    def next_due_at(self) -> float | None:
        row = self.db.execute(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE delivered_at IS NULL"
        ).fetchone()
        return None if row[0] is None else float(row[0])
