"""The campaign lease: one runner at a time may change a campaign in a database.

A lease is a row of the ``leases`` table (campaign name, owner id, host, pid, when it was
taken, the last heartbeat and when it expires), taken in a ``BEGIN IMMEDIATE`` transaction so
two processes cannot both take it. The holder renews it on the wall clock from a small
heartbeat thread (virtual time runs fast, but leases live in real time) and every commit of
the store checks that the lease is still its own (fencing): a runner that lost its lease can
never write again. A lease is stale — and taken over — when its heartbeat expired, or when it
was taken on this host by a process that no longer exists.

The same shape carries over to a shared database server: a row per campaign (or per claimed
recipient), a heartbeat, an expiry, and a fence checked in the writer's own transaction.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ...errors import CampaignError

#: a lease whose heartbeat is older than this is stale (seconds, wall clock)
LEASE_SECONDS = 30.0
#: how often the holder renews its lease
HEARTBEAT_SECONDS = 5.0
#: how often ``--wait`` looks at the lease again
POLL_SECONDS = 0.5

LEASES_TABLE = """CREATE TABLE IF NOT EXISTS leases (
    campaign TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    acquired_at REAL NOT NULL,
    heartbeat_at REAL NOT NULL,
    expires_at REAL NOT NULL
)"""


class CampaignBusy(CampaignError):
    """Another live runner holds the campaign's lease (exit 2)."""


class LeaseLost(CampaignError):
    """This runner's lease was taken over; nothing more is written (exit 2)."""


class _Locked(Exception):
    """The file stayed write-locked past the busy timeout while taking the lease."""

    def __init__(self, holder: Holder | None, error: sqlite3.OperationalError) -> None:
        super().__init__()
        self.holder = holder
        self.error = error


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lease (one row of ``leases``)."""

    owner: str
    host: str
    pid: int
    acquired_at: float
    heartbeat_at: float
    expires_at: float

    def describe(self, now: float) -> str:
        since = datetime.fromtimestamp(self.acquired_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ago = max(0, round(now - self.heartbeat_at))
        return f"host {self.host} pid {self.pid} since {since} (heartbeat {ago} s ago)"

    def stale(self, now: float, host: str) -> bool:
        if self.expires_at <= now:
            return True
        return self.host == host and not pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a zombie counts as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def read_holder(db: sqlite3.Connection, campaign: str) -> Holder | None:
    row = db.execute(
        "SELECT owner, host, pid, acquired_at, heartbeat_at, expires_at FROM leases"
        " WHERE campaign = ?",
        (campaign,),
    ).fetchone()
    return None if row is None else Holder(*row)


class Lease:
    """A held lease on one campaign in one database file; :meth:`release` gives it back."""

    def __init__(
        self,
        path: str,
        campaign: str,
        owner: str,
        ttl: float = LEASE_SECONDS,
        interval: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.path = path
        self.campaign = campaign
        self.owner = owner
        self.ttl = ttl
        self.interval = interval
        self.lost: Holder | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- taking it ------------------------------------------------------------------
    @classmethod
    def acquire(
        cls,
        db: sqlite3.Connection,
        path: str,
        campaign: str,
        *,
        wait: bool = False,
        on_wait: Callable[[str], None] | None = None,
        ttl: float = LEASE_SECONDS,
        interval: float = HEARTBEAT_SECONDS,
        poll: float = POLL_SECONDS,
    ) -> Lease:
        """Take the lease on ``campaign`` (over ``db``, an autocommit connection that is in no
        transaction), or raise :class:`CampaignBusy` naming the holder (``wait``: poll until
        it is free)."""
        lease = cls(path, campaign, uuid.uuid4().hex, ttl, interval)
        told = False
        while True:
            try:
                holder = lease._try(db)
                if holder is None:
                    lease._start_heartbeat()
                    return lease
                who = holder.describe(time.time())
            except _Locked as locked:
                if locked.holder is None and not wait:
                    raise locked.error from None
                who = (
                    locked.holder.describe(time.time())
                    if locked.holder
                    else "a process that keeps the file locked"
                )
            what = f"{path}: campaign {campaign!r} is being run by {who}"
            if not wait:
                raise CampaignBusy(f"{what}; wait for it with --wait, or stop that run")
            if on_wait is not None and not told:
                on_wait(f"{what}; waiting for it to finish")
                told = True
            time.sleep(poll)

    def _try(self, db: sqlite3.Connection) -> Holder | None:
        """One atomic attempt: ``None`` when the lease is now ours, else the live holder."""
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not getattr(exc, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
                raise
            # a writer kept the file locked past the busy timeout (most likely the holder,
            # busy writing): nothing can be decided now — name the holder, or wait
            raise _Locked(read_holder(db, self.campaign), exc) from None
        try:
            now = time.time()
            holder = read_holder(db, self.campaign)
            host = socket.gethostname()
            if holder is not None and not holder.stale(now, host):
                return holder
            db.execute(
                "INSERT OR REPLACE INTO leases (campaign, owner, host, pid, acquired_at,"
                " heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.campaign, self.owner, host, os.getpid(), now, now, now + self.ttl),
            )
            return None
        finally:
            db.execute("COMMIT")

    # -- keeping it -----------------------------------------------------------------
    def renew(self, db: sqlite3.Connection) -> None:
        """Inside the caller's write transaction: check the lease is still ours (the fence)
        and push its expiry forward. Raises :class:`LeaseLost` otherwise."""
        now = time.time()
        cur = db.execute(
            "UPDATE leases SET heartbeat_at = ?, expires_at = ? WHERE campaign = ? AND owner = ?",
            (now, now + self.ttl, self.campaign, self.owner),
        )
        if cur.rowcount != 1:
            self.lost = read_holder(db, self.campaign)
            raise self.lost_error()

    def lost_error(self) -> LeaseLost:
        who = self.lost.describe(time.time()) if self.lost else "nobody (it was removed)"
        return LeaseLost(
            f"{self.path}: lost the lease on campaign {self.campaign!r} (now held by {who});"
            " nothing after the last commit was kept — run it again to resume"
        )

    def _start_heartbeat(self) -> None:
        self._thread = threading.Thread(
            target=self._beat, name=f"lease:{self.campaign}", daemon=True
        )
        self._thread.start()

    def _beat(self) -> None:
        try:
            db = sqlite3.connect(self.path, timeout=self.ttl / 2, isolation_level=None)
        except sqlite3.Error:
            return
        try:
            while not self._stop.wait(self.interval):
                try:
                    db.execute("BEGIN IMMEDIATE")
                    try:
                        self.renew(db)
                    finally:
                        db.execute("COMMIT")
                except LeaseLost:
                    return  # the store's next commit refuses to write
                except sqlite3.Error:
                    continue  # busy or full: the main thread's commits renew it too
        finally:
            db.close()

    # -- giving it back -------------------------------------------------------------
    def release(self, db: sqlite3.Connection) -> None:
        """Stop the heartbeat and delete the lease row if it is still ours. Never raises on a
        database failure: a lease left behind is stale once this process is gone."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            if db.in_transaction:
                db.execute("ROLLBACK")
            db.execute(
                "DELETE FROM leases WHERE campaign = ? AND owner = ?", (self.campaign, self.owner)
            )
        except sqlite3.Error:
            pass
