"""The broadcast layer's state and what every part of it reads through: the broadcasts table
(:meth:`BroadcastsCore.get`, :meth:`BroadcastsCore.find`), the campaign store, statuses, locks
and progress versions (the layer is :class:`.layer.Broadcasts`)."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, cast

from ...broadcast.progress import Progress
from ...broadcast.store.backend import is_postgres
from ...broadcast.store.sqlite import Store
from ..autoreplies import AccountAutoReplies
from ..problems import ProblemError
from ..sql import ServiceDatabase as Database
from ..storage import now
from . import fields
from .callrows import CallQueries, SqliteCalls
from .runs import Runs
from .values import Broadcast, BroadcastSettings, kind_of

if TYPE_CHECKING:
    from .pgruns import PgRuns


def _not_found(broadcast_id: int, channel: str | None = None) -> ProblemError:
    """404 for a broadcast (``channel``: of that kind; ``None``: of any kind)."""
    kind = "" if channel is None else kind_of(channel) + " "
    return ProblemError(404, "not-found", f"no {kind}broadcast {broadcast_id}")


class BroadcastsCore:
    """The layer's state, its broadcasts as rows and its campaign store (see :mod:`.layer`)."""

    def __init__(self, db: Database, settings: BroadcastSettings) -> None:
        self.db = db
        self.settings = settings
        self.home = Path(settings.home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.store_path = self.home / "campaigns.sqlite"
        #: the PostgreSQL campaign store's side (``store_dsn``); ``None``: the SQLite store
        self.pg: PgRuns | None = None
        self.runs: Runs | PgRuns
        if is_postgres(settings.store_dsn):
            from .pgruns import PgRuns

            assert settings.store_dsn is not None
            self.pg = self.runs = PgRuns(
                settings.store_dsn, clock=settings.clock, driver=settings.driver
            )
        else:
            self.runs = Runs(
                self.store_path,
                clock=settings.clock,
                driver=settings.driver,
                on_progress=self._progressed,
                on_end=self._ended,
                max_wait=settings.max_wait,
                smpp=settings.smpp,
                drain_s=settings.drain_s,
                auto_replies=self._auto_replies,
            )
        self._changed = threading.Condition()
        self._versions: dict[int, int] = {}
        self._locks: dict[int, threading.RLock] = {}
        self._locks_lock = threading.Lock()
        self._defaults_lock = threading.Lock()
        #: the channel this view sees (:meth:`view`); ``None``: every broadcast
        self.channel: str | None = None

    def view(self, channel: str) -> Self:
        """The same broadcasts, seen by the routes of one channel (``"voice"``: call
        broadcasts, ``"sms"``: text broadcasts): a broadcast of the other one is a 404."""
        seen = copy.copy(self)  # shares the runs, locks and versions
        seen.channel = channel
        return seen

    def get(self, account: str, broadcast_id: int) -> Broadcast:
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT * FROM broadcasts WHERE id = ? AND account = ?", (broadcast_id, account)
            ).fetchone()
        found = None if row is None else self._broadcast(row)
        if found is None or (self.channel is not None and found.channel != self.channel):
            raise _not_found(broadcast_id, self.channel)
        return found

    def find(
        self,
        account: str,
        *,
        name: str | None = None,
        label: str | None = None,
        running: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Broadcast], int]:
        """The account's broadcasts, newest first (``name``: a part of the name)."""
        sql = ["account = ?"]
        args: list[Any] = [account]
        if name:
            sql.append("instr(lower(name), lower(?)) > 0")
            args.append(name)
        if running is not None and self.pg is None:  # on PostgreSQL: the store's status, below
            sql.append("status = 'RUNNING'" if running else "status != 'RUNNING'")
        cond = " AND ".join(sql)
        with self.db.connect() as conn:
            rows = conn.execute(
                f"SELECT * FROM broadcasts WHERE {cond} ORDER BY id DESC", args
            ).fetchall()
        found = [self._broadcast(r) for r in rows]
        if running is not None and self.pg is not None:
            found = [b for b in found if (b.status == "RUNNING") == running]
        if self.channel is not None:
            found = [b for b in found if b.channel == self.channel]
        if label:
            found = [b for b in found if label in (b.to_api().get("labels") or [])]
        return found[offset : offset + limit], len(found)

    def _broadcast(self, row: Any) -> Broadcast:
        bid = int(row["id"])
        data = self._campaign_data(bid)
        settings = fields.to_api(data)
        status = str(row["status"])
        if self.pg is not None and status == "RUNNING" and row["campaign_id"] is not None:
            status = self._store_status(bid, int(row["campaign_id"]))
        return Broadcast(
            bid,
            str(row["account"]),
            str(row["name"]),
            status,
            settings,
            json.loads(row["kept"]),
            float(row["created_at"]),
            float(row["modified_at"]),
            row["error"],
            row["campaign_id"],
            str(data.get("channel", "voice")),
        )

    def _auto_replies(self, broadcast_id: int) -> AccountAutoReplies | None:
        """The auto-replies a text broadcast's run answers with: its account's."""
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT account FROM broadcasts WHERE id = ?", (broadcast_id,)
            ).fetchone()
        return None if row is None else AccountAutoReplies(self.db, row["account"], broadcast_id)

    def _lock(self, broadcast_id: int) -> threading.RLock:
        with self._locks_lock:
            return self._locks.setdefault(broadcast_id, threading.RLock())

    def _bump(self, broadcast_id: int) -> None:
        with self._changed:
            self._versions[broadcast_id] = self._versions.get(broadcast_id, 0) + 1
            self._changed.notify_all()

    def _progressed(self, broadcast_id: int, snapshot: Progress) -> None:
        self._bump(broadcast_id)

    def _ended(self, broadcast_id: int, outcome: str | None, error: str | None) -> None:
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT status FROM broadcasts WHERE id = ?", (broadcast_id,)
            ).fetchone()
            status = row["status"] if row is not None else None
            if outcome == "FINISHED" and status in ("RUNNING", "STOPPED"):
                conn.execute(
                    "UPDATE broadcasts SET status = 'FINISHED', modified_at = ? WHERE id = ?",
                    (now(), broadcast_id),
                )
            elif outcome == "STOPPED" and status == "RUNNING":
                conn.execute(
                    "UPDATE broadcasts SET status = 'STOPPED', error = ?, modified_at = ?"
                    " WHERE id = ?",
                    (error, now(), broadcast_id),
                )
        self._bump(broadcast_id)

    def _set_status(self, broadcast_id: int, status: str, **extra: Any) -> None:
        sets = ", ".join(["status = ?", "modified_at = ?", *(f"{k} = ?" for k in extra)])
        with self.db.write() as conn:
            conn.execute(
                f"UPDATE broadcasts SET {sets} WHERE id = ?",
                (status, now(), *extra.values(), broadcast_id),
            )
        self._bump(broadcast_id)

    def _file(self, broadcast_id: int) -> Path:
        return self.home / str(broadcast_id) / "campaign.json"

    def _campaign_data(self, broadcast_id: int) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self._file(broadcast_id).read_text("utf-8"))
        except OSError:
            return {}
        return data

    @contextmanager
    def _reader(self) -> Iterator[Store]:
        """The campaign store for reading (the PostgreSQL store answers the SQLite store's
        reading queries: :class:`~dialplan.broadcast.store.interfaces.Reporting`)."""
        if self.pg is not None:
            with self.pg.reader() as pg:
                yield cast(Store, pg)
            return
        store = Store(self.store_path, readonly=True)
        try:
            yield store
        finally:
            store.close()

    def _visible(self, account: str, broadcast_id: int) -> bool:
        """Whether the account sees the broadcast in this view."""
        try:
            self.get(account, broadcast_id)
        except ProblemError:
            return False
        return True

    @contextmanager
    def _held(self, name: str) -> Iterator[Store]:
        """The campaign store with the campaign held for a change (SQLite: its lease;
        PostgreSQL: its loading lock, workers go on calling)."""
        from ...broadcast.service import leased

        if self.pg is not None:
            with self.pg.held(name) as pg:
                yield cast(Store, pg)
            return
        with leased(self.store_path, name, wait=True) as store:
            yield store

    def _calls(self, store: Store) -> CallQueries:
        if self.pg is not None:
            from .pgcalls import PgCalls

            return PgCalls(cast(Any, store).db)
        return SqliteCalls(store.db)

    def _store_library(self) -> str | Path:
        """Where the campaign store's own sound library is (what the runtime plays): the
        PostgreSQL database, shared with the workers, or the SQLite store."""
        return (
            self.settings.store_dsn
            if self.pg is not None and self.settings.store_dsn
            else self.store_path
        )

    def _stopped_in_store(self, broadcast_id: int) -> bool:
        """On PostgreSQL: a broadcast whose campaign is ``paused`` (stopped) there."""
        if self.pg is None:
            return False
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT campaign_id FROM broadcasts WHERE id = ?", (broadcast_id,)
            ).fetchone()
        cid = None if row is None else row["campaign_id"]
        return cid is not None and self.pg.state(int(cid)) == "paused"

    def _store_status(self, broadcast_id: int, campaign_id: int) -> str:
        """A RUNNING broadcast's status as its campaign's state in the PostgreSQL store says,
        written back: FINISHED once a worker finished it; stopped (``paused`` there) it stays
        RUNNING while workers drain its calls in flight, then STOPPED (as on SQLite)."""
        assert self.pg is not None
        if not self._settled(campaign_id):
            return "RUNNING"
        with self._lock(broadcast_id):  # not between a start's RUNNING and its arming
            with self.db.connect() as conn:
                row = conn.execute(
                    "SELECT status FROM broadcasts WHERE id = ?", (broadcast_id,)
                ).fetchone()
            status = None if row is None else str(row["status"])
            if status != "RUNNING":
                return status or "RUNNING"
            if self._settled(campaign_id):
                finished = self.pg.state(campaign_id) == "finished"
                status = "FINISHED" if finished else "STOPPED"
                self._set_status(broadcast_id, status)
            return status

    def _settled(self, campaign_id: int) -> bool:
        """The campaign is finished, or paused with no call in flight on a live worker."""
        assert self.pg is not None
        state = self.pg.state(campaign_id)
        if state == "paused":
            return not self.pg.draining(campaign_id)
        return state == "finished"
