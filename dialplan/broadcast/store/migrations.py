"""Schema migrations of the SQLite store: ``PRAGMA user_version`` and ordered steps.

Each :class:`Migration` takes the database from ``version - 1`` to ``version`` inside one
transaction. A new file gets every step; a file written by an older release gets the steps it
lacks (release 1 kept its version in ``meta.schema_version`` and left ``user_version`` at 0); a
file from a newer release than this code is refused (:class:`SchemaTooNew`, exit 2) — never
guessed at. The PostgreSQL backend keeps its own list (its DDL differs) with the same numbers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from ...errors import CampaignError
from . import counters
from .lease import LEASES_TABLE

QUEUE_INDEX = """CREATE INDEX IF NOT EXISTS recipients_queue
    ON recipients (campaign_id, zone_id, next_at, id) WHERE final_result IS NULL"""

_V1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS campaigns (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    broadcast_id TEXT NOT NULL,
    config TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'loading',
    loaded_rows INTEGER NOT NULL DEFAULT 0,
    clock REAL,
    started_at REAL,
    finished_at REAL,
    dispatch TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS zones (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS recipients (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL,
    row_no INTEGER NOT NULL,
    phone TEXT NOT NULL,
    e164 TEXT,
    region TEXT,
    zone_id INTEGER,
    attributes TEXT NOT NULL,
    sim_result TEXT,
    sim_inputs TEXT,
    bucket TEXT NOT NULL DEFAULT 'call_initiated',
    final_result TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS attempts (
    recipient_id INTEGER NOT NULL,
    attempt_no INTEGER NOT NULL,
    voice_id TEXT,
    started_at REAL NOT NULL,
    answered_at REAL,
    ended_at REAL NOT NULL,
    result TEXT NOT NULL,
    q850_cause INTEGER NOT NULL,
    answered_by TEXT,
    duration REAL NOT NULL,
    PRIMARY KEY (recipient_id, attempt_no)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS responses (
    id INTEGER PRIMARY KEY,
    recipient_id INTEGER NOT NULL,
    attempt_no INTEGER NOT NULL,
    question TEXT NOT NULL,
    response TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_recipient ON responses (recipient_id);
CREATE TABLE IF NOT EXISTS dnc (campaign_id INTEGER NOT NULL, number TEXT NOT NULL,
    source TEXT NOT NULL, PRIMARY KEY (campaign_id, number)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    delivered_at REAL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at, id) WHERE delivered_at IS NULL;
CREATE TABLE IF NOT EXISTS campaign_inputs (
    campaign_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    path TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (campaign_id, kind, sha256)
) WITHOUT ROWID;
"""


class SchemaTooNew(CampaignError):
    """The database was written by a newer release than this code (exit 2)."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    what: str
    apply: Callable[[sqlite3.Connection], None]


def _v1(db: sqlite3.Connection) -> None:
    for statement in _V1.split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute(QUEUE_INDEX)
    db.execute(LEASES_TABLE)
    db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', '1')")


def _v2(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE attempts ADD COLUMN reason TEXT")
    db.execute(
        "CREATE TABLE in_flight (campaign_id INTEGER NOT NULL, recipient_id INTEGER NOT NULL,"
        " attempt_no INTEGER NOT NULL, voice_id TEXT NOT NULL, started_at REAL NOT NULL,"
        " PRIMARY KEY (recipient_id, attempt_no)) WITHOUT ROWID"
    )


def _v3(db: sqlite3.Connection) -> None:
    # one row per text attempt (its segments and delivery); the do-not-text list of each
    # sending number, across campaigns (STOP replies)
    db.execute(
        "CREATE TABLE texts (recipient_id INTEGER NOT NULL, attempt_no INTEGER NOT NULL,"
        " message TEXT, encoding TEXT, segments INTEGER NOT NULL DEFAULT 0,"
        " message_ids TEXT NOT NULL DEFAULT '[]', delivery TEXT,"
        " delivered_segments INTEGER NOT NULL DEFAULT 0, receipt_at REAL,"
        " PRIMARY KEY (recipient_id, attempt_no)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE text_optouts (from_number TEXT NOT NULL, number TEXT NOT NULL,"
        " added_at REAL NOT NULL, PRIMARY KEY (from_number, number)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE inbound_texts (id INTEGER PRIMARY KEY, from_number TEXT NOT NULL,"
        " to_number TEXT NOT NULL, body TEXT NOT NULL, keyword TEXT, received_at REAL NOT NULL)"
    )


def _v4(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE sounds (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " kind TEXT NOT NULL, source TEXT NOT NULL, voice TEXT, language TEXT,"
        " audio BLOB NOT NULL, sha256 TEXT NOT NULL, length_ms INTEGER NOT NULL,"
        " created_at REAL NOT NULL, status TEXT NOT NULL DEFAULT 'ACTIVE')"
    )


def _v5(db: sqlite3.Connection) -> None:
    # the DNC scope of a campaign: add_account_dnc copies runtime DNC numbers only between
    # campaigns of one scope (one per account in the service; '' for every CLI campaign)
    db.execute("ALTER TABLE campaigns ADD COLUMN dnc_scope TEXT NOT NULL DEFAULT ''")


#: the version that adds the stats counters (:mod:`.counters`)
COUNTERS = 6

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "campaigns, recipients, attempts, responses, DNC, outbox, inputs, leases", _v1),
    Migration(2, "attempts.reason; in_flight: attempts committed before their call", _v2),
    Migration(3, "texts: segments and delivery per text; text_optouts; inbound_texts", _v3),
    Migration(4, "sounds: the account's sound library (μ-law audio, shared by campaigns)", _v4),
    Migration(5, "campaigns.dnc_scope: account DNC lists copied within one scope only", _v5),
    Migration(COUNTERS, "campaign_counts: the stats counters, kept by triggers", counters.create),
)
LATEST = MIGRATIONS[-1].version


def version_of(db: sqlite3.Connection) -> int:
    """The schema version of an open database (0: empty)."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version == 0:
        has_meta = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if has_meta:  # release 1: the version lived in the meta table
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 1
    return version


def check_version(db: sqlite3.Connection, path: str) -> int:
    version = version_of(db)
    if version > LATEST:
        raise SchemaTooNew(
            f"{path}: the campaign database has schema version {version}, newer than this"
            f" release knows ({LATEST}); use the dialplan release that wrote it or a newer one"
        )
    return version


def migrate(db: sqlite3.Connection, path: str) -> int:
    """Bring ``db`` (autocommit connection) to :data:`LATEST`; returns the version it had."""
    had = check_version(db, path)
    for step in MIGRATIONS:
        if step.version <= had:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            if version_of(db) >= step.version:  # another process got here first
                db.execute("ROLLBACK")
                continue
            step.apply(db)
            db.execute(f"PRAGMA user_version = {step.version}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    return had
