"""SQLite store of inbound calls (one row per call) and their webhook outbox.

The schema is versioned with ``PRAGMA user_version``; each migration runs once, in order.
The outbox implements :class:`dialplan.broadcast.webhooks.outbox.Outbox`, so the campaigns' delivery
worker (signing, retries, the private-address guard) delivers inbound events unchanged.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..broadcast.webhooks.outbox import OutboxEvent

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE calls (
        id INTEGER PRIMARY KEY,
        call_id TEXT NOT NULL UNIQUE,
        number TEXT NOT NULL,
        caller TEXT NOT NULL,
        caller_name TEXT NOT NULL DEFAULT '',
        dialplan TEXT NOT NULL DEFAULT '',
        out_of_hours INTEGER NOT NULL DEFAULT 0,
        started_at REAL NOT NULL,
        answered_at REAL,
        ended_at REAL,
        duration_s REAL NOT NULL DEFAULT 0,
        result TEXT NOT NULL DEFAULT 'RINGING',
        cause INTEGER,
        sip_status INTEGER,
        ended_by TEXT,
        outcome TEXT,
        error TEXT,
        responses TEXT NOT NULL DEFAULT '[]',
        recordings TEXT NOT NULL DEFAULT '[]',
        variables TEXT NOT NULL DEFAULT '{}',
        transfer TEXT,
        dnc TEXT NOT NULL DEFAULT '[]',
        prompts TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX calls_number_started ON calls (number, started_at);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        url TEXT NOT NULL,
        body BLOB NOT NULL,
        created_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        delivered_at REAL,
        last_error TEXT
    );
    CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at);
    """,
)


@dataclass
class CallRecord:
    """One inbound call as stored (``responses``: CallFire ``questionResponses``)."""

    call_id: str
    number: str
    caller: str
    started_at: float
    caller_name: str = ""
    dialplan: str = ""
    out_of_hours: bool = False
    answered_at: float | None = None
    ended_at: float | None = None
    duration_s: float = 0.0
    result: str = "RINGING"
    cause: int | None = None
    sip_status: int | None = None
    ended_by: str | None = None
    outcome: str | None = None
    error: str | None = None
    responses: list[dict[str, str]] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    transfer: dict[str, Any] | None = None
    dnc: list[str] = field(default_factory=list)
    #: what the caller was played: TTS text after substitution, or the audio reference
    prompts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "number": self.number,
            "caller": self.caller,
            "caller_name": self.caller_name,
            "dialplan": self.dialplan,
            "out_of_hours": self.out_of_hours,
            "started_at": self.started_at,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at,
            "duration_s": round(self.duration_s, 3),
            "result": self.result,
            "cause": self.cause,
            "sip_status": self.sip_status,
            "ended_by": self.ended_by,
            "outcome": self.outcome,
            "error": self.error,
            "questionResponses": list(self.responses),
            "recordings": list(self.recordings),
            "variables": dict(self.variables),
            "transfer": self.transfer,
            "dnc": list(self.dnc),
            "prompts": list(self.prompts),
        }


_JSON = ("responses", "recordings", "variables", "transfer", "dnc", "prompts")
_COLUMNS = (
    *("call_id", "number", "caller", "caller_name", "dialplan", "out_of_hours", "started_at"),
    *("answered_at", "ended_at", "duration_s", "result", "cause", "sip_status", "ended_by"),
    *("outcome", "error", "responses", "recordings", "variables", "transfer", "dnc", "prompts"),
)


class InboundStore:
    """Calls and outbox in one SQLite file (WAL; one connection per thread)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            from ..errors import UsageError

            raise UsageError(f"{self.path}: not a usable inbound database: {exc}") from None

    def _migrate(self) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        for n, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self.db.executescript(f"BEGIN; {script} PRAGMA user_version = {n}; COMMIT;")

    def close(self) -> None:
        self.db.close()

    # -- calls --------------------------------------------------------------------------------
    def save(self, record: CallRecord) -> None:
        """Insert or replace the row of ``record.call_id``."""
        values = []
        for name in _COLUMNS:
            value = getattr(record, name)
            if name in _JSON:
                value = None if value is None else json.dumps(value, ensure_ascii=False)
            elif name == "out_of_hours":
                value = int(value)
            values.append(value)
        marks = ", ".join("?" for _ in _COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "call_id")
        self.db.execute(
            f"INSERT INTO calls ({', '.join(_COLUMNS)}) VALUES ({marks}) "
            f"ON CONFLICT(call_id) DO UPDATE SET {updates}",
            values,
        )

    def calls(
        self, number: str | None = None, since: float | None = None, until: float | None = None
    ) -> Iterator[CallRecord]:
        """Calls in start order, optionally for one number and a [since, until) range."""
        where: list[str] = []
        args: list[object] = []
        if number is not None:
            where.append("number = ?")
            args.append(number)
        if since is not None:
            where.append("started_at >= ?")
            args.append(since)
        if until is not None:
            where.append("started_at < ?")
            args.append(until)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM calls"
        if where:
            sql += " WHERE " + " AND ".join(where)
        for row in self.db.execute(sql + " ORDER BY started_at, id", args):
            data = dict(zip(_COLUMNS, row, strict=True))
            for name in _JSON:
                if data[name] is not None:
                    data[name] = json.loads(data[name])
            data["out_of_hours"] = bool(data["out_of_hours"])
            yield CallRecord(**data)

    def numbers(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT number FROM calls ORDER BY 1")]

    # -- outbox (dialplan.broadcast.webhooks.outbox.Outbox) --------------------------------------------
    def add(self, event_id: str, url: str, body: bytes, now: float) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO outbox (event_id, url, body, created_at, next_attempt_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (event_id, url, body, now, now),
        )

    def due(self, now: float, limit: int) -> list[OutboxEvent]:
        rows = self.db.execute(
            "SELECT id, event_id, url, body, attempts, next_attempt_at FROM outbox "
            "WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            (now, limit),
        )
        return [OutboxEvent(r[0], r[1], r[2], bytes(r[3]), r[4], r[5]) for r in rows]

    def delivered(self, id: int, now: float) -> None:
        self.db.execute("UPDATE outbox SET delivered_at = ? WHERE id = ?", (now, id))

    def retry_later(self, id: int, next_attempt_at: float, error: str) -> None:
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
            "WHERE id = ?",
            (next_attempt_at, error, id),
        )

    def pending_count(self) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()
        return int(row[0])
