"""The campaign store on SQLite: one file (WAL), one connection, split by job.

:class:`Store` implements every interface of :mod:`.interfaces` on one connection, so one
transaction can span them (an attempt, its recipient, its webhook events and the dispatch state
commit together): campaigns and zones here, the recipient queue in :mod:`.sqlite_queue`, the
webhook outbox in :mod:`.sqlite_outbox`, reporting queries in :mod:`.sqlite_reporting`. Writes are
batched by the caller: nothing is committed until :meth:`Store.commit`, so a crash loses only
uncommitted (and therefore never-reported) work. The schema's versions are :mod:`.migrations`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .migrations import LATEST, QUEUE_INDEX, check_version, migrate
from .sqlite_outbox import SqliteOutbox
from .sqlite_queue import SqliteQueue
from .sqlite_reporting import SqliteReporting
from .sqlite_texts import SqliteTexts
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


class Store(SqliteQueue, SqliteOutbox, SqliteReporting, SqliteTexts):
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

    def webhook_secret(self, broadcast_id: str) -> str | None:
        """The ``[webhook] secret`` of the campaign whose events carry ``broadcast_id``."""
        row = self.db.execute(
            "SELECT json_extract(config, '$.raw.webhook.secret') FROM campaigns"
            " WHERE broadcast_id = ?",
            (broadcast_id,),
        ).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def create_campaign(
        self,
        name: str,
        broadcast_id: str,
        config: dict[str, Any],
        inputs: Sequence[InputRow] = (),
        *,
        dnc_scope: str = "",
    ) -> int:
        """A new campaign and the fingerprints of its inputs, in one transaction."""
        self.begin()
        cur = self.db.execute(
            "INSERT INTO campaigns (name, broadcast_id, config, dnc_scope) VALUES (?, ?, ?, ?)",
            (name, broadcast_id, json.dumps(config, sort_keys=True, default=str), dnc_scope),
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
