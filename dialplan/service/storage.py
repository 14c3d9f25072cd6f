"""The service's SQLite database: API keys, flows and their versions, calls, idempotency, outbox.

One connection per thread, kept (the server runs handlers on a thread pool; WAL lets readers run
beside the one writer). Writes that must not race take the
write lock up front (``BEGIN IMMEDIATE``). The schema is versioned with ``PRAGMA user_version`` and
upgraded by the migrations below, applied in order.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..errors import UsageError

_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        digest TEXT NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        label TEXT NOT NULL DEFAULT '',
        rate_per_s REAL,
        created_at REAL NOT NULL,
        revoked_at REAL
    );
    CREATE TABLE flows (
        id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX flows_account ON flows(account, created_at);
    CREATE TABLE flow_versions (
        flow_id TEXT NOT NULL REFERENCES flows(id),
        version INTEGER NOT NULL,
        format TEXT NOT NULL,
        source TEXT NOT NULL,
        findings TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (flow_id, version)
    );
    CREATE TABLE calls (
        id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        flow_id TEXT NOT NULL,
        flow_version INTEGER NOT NULL,
        request TEXT NOT NULL,
        status TEXT NOT NULL,
        answered_by TEXT,
        failure_reason TEXT,
        result TEXT,
        created_at REAL NOT NULL,
        answered_at REAL,
        ended_at REAL
    );
    CREATE INDEX calls_account ON calls(account, created_at);
    CREATE TABLE idempotency (
        account TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        state TEXT NOT NULL,
        status INTEGER,
        headers TEXT,
        body BLOB,
        created_at REAL NOT NULL,
        PRIMARY KEY (account, key)
    );
    CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        call_id TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        body BLOB NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at REAL NOT NULL,
        delivered_at REAL,
        last_error TEXT
    );
    CREATE INDEX outbox_due ON outbox(delivered_at, next_at);
    """,
    # call broadcasts (dialplan.service.broadcasts): the campaign itself lives in the campaign
    # store; these rows say whose it is, what status the API shows, and which rows each batch added
    """
    CREATE TABLE broadcasts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        kept TEXT NOT NULL,
        campaign_id INTEGER,
        created_at REAL NOT NULL,
        modified_at REAL NOT NULL,
        error TEXT
    );
    CREATE INDEX broadcasts_account ON broadcasts(account, id);
    CREATE TABLE broadcast_batches (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id),
        name TEXT NOT NULL,
        first_row INTEGER NOT NULL,
        last_row INTEGER NOT NULL,
        size INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX broadcast_batches_broadcast ON broadcast_batches(broadcast_id, id);
    """,
    # 3: each account's do-not-call list (EnableX's call_blacklisted bucket, /v1/dnc)
    """
    CREATE TABLE dnc (
        account TEXT NOT NULL,
        number TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (account, number)
    );
    """,
    # 4: several servers on one database (PostgreSQL): each live server's heartbeat, and which
    # server runs each call, so a starting server books only the calls of servers that are gone
    """
    CREATE TABLE servers (
        id TEXT PRIMARY KEY,
        started_at REAL NOT NULL,
        seen_at REAL NOT NULL
    );
    ALTER TABLE calls ADD COLUMN owner TEXT;
    ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
    ALTER TABLE outbox ADD COLUMN claimed_until REAL;
    CREATE INDEX calls_unfinished ON calls(ended_at, owner);
    """,
    # 5: nothing: PostgreSQL's 5 adds the rate limits that its servers share; one server per
    # SQLite file keeps them in memory (the step keeps both engines' numbers in step)
    "",
    # 6: live-call controls handed to the server that runs the call (:mod:`.controls`). Used on
    # PostgreSQL only (a SQLite service is one process: it runs every call itself); created here
    # too so that both engines keep one schema and one migration count
    """
    CREATE TABLE call_controls (
        id TEXT PRIMARY KEY,
        call_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        command TEXT NOT NULL,
        state TEXT NOT NULL,
        outcome TEXT,
        created_at REAL NOT NULL,
        deadline REAL NOT NULL,
        done_at REAL
    );
    CREATE INDEX call_controls_pending ON call_controls(owner, state);
    """,
    # 7: CallFire's text auto-replies (/v2/texts/auto-replys) of each account, and the replies
    # they sent (texts of findTexts; kept when their rule is deleted)
    """
    CREATE TABLE text_auto_replies (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        number TEXT,
        keyword TEXT,
        pattern TEXT,
        message TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX text_auto_replies_account ON text_auto_replies(account, id);
    CREATE TABLE text_auto_reply_texts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        auto_reply_id INTEGER NOT NULL,
        broadcast_id INTEGER NOT NULL,
        from_number TEXT NOT NULL,
        to_number TEXT NOT NULL,
        inbound TEXT NOT NULL,
        message TEXT NOT NULL,
        result TEXT NOT NULL,
        sent_at REAL NOT NULL
    );
    CREATE INDEX text_auto_reply_texts_account ON text_auto_reply_texts(account, id);
    """,
)

SCHEMA_VERSION = len(_MIGRATIONS)


class Database:
    """A path to the service database; :meth:`connect` yields a connection in autocommit mode.
    (The PostgreSQL one is :class:`.pgstorage.PgDatabase`; both meet :class:`.sql.ServiceDatabase`.)"""

    #: one process per SQLite file: every unfinished call of another server is left over
    shared = False

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.label = self.path
        self._local = threading.local()
        #: this process's writers queue here before ``BEGIN IMMEDIATE`` (see :meth:`write`)
        self._writing = threading.RLock()
        self._migrate()

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise UsageError(f"{self.path}: cannot open database: {exc}") from None
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            # WAL + NORMAL (as the broadcast store): no fsync per commit; a crash of the process
            # loses nothing, a power cut at most the last commits, never the database's consistency
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise UsageError(f"{self.path}: not a dialplan service database ({exc})") from None
        return conn

    def _migrate(self) -> None:
        conn = self._open()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise UsageError(
                    f"{self.path}: database schema {version} is newer than this dialplan "
                    f"({SCHEMA_VERSION}); upgrade dialplan"
                )
            for number, script in enumerate(_MIGRATIONS[version:], version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise UsageError(f"{self.path}: not a dialplan service database ({exc})") from None
        finally:
            conn.close()

    def close(self) -> None:
        """Nothing to release: each thread's connection closes with the thread."""

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """The calling thread's connection (autocommit), opened once per thread: opening one
        costs more than most queries (a write on a fresh connection: ~5 ms, on a kept one: <0.1 ms).
        A nested use on the same thread gets a connection of its own."""
        local = self._local
        if getattr(local, "busy", False):
            nested = self._open()
            try:
                yield nested
            finally:
                nested.close()
            return
        kept: sqlite3.Connection | None = getattr(local, "conn", None)
        if kept is None:
            kept = local.conn = self._open()
        local.busy = True
        try:
            yield kept
        finally:
            local.busy = False
            if kept.in_transaction:  # never hand a half-done transaction to the next user
                kept.execute("ROLLBACK")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A connection inside ``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on an exception).

        The threads of this process take turns on a lock first. Left to SQLite, a writer that
        finds the file locked sleeps in its busy handler — 1, 2, 5, 10 … up to 100 ms a try,
        never woken early — and under load (request threads and the call runner writing at
        once, a holder descheduled for the GIL) a few lost tries made the `POST /v1/calls` p99
        hundreds of milliseconds (docs/performance.md). A waiter on the lock wakes when it is
        released. Other processes still meet at SQLite's lock."""
        with self._writing, self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")


def iso(t: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with milliseconds (``2026-04-08T15:24:10.670Z``)."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> float:
    """Wall-clock seconds since the epoch (one place, so the stored times agree)."""
    return time.time()
