"""Broadcasts on the PostgreSQL campaign store: loaded and started here, called elsewhere.

With ``BroadcastSettings.store_dsn`` a ``postgresql://`` address, the server never places a
call: a broadcast's campaign is loaded ``paused`` (:func:`~dialplan.broadcast.pg.service.load`
with ``start=False``), *start* arms it (its dial gate, state ``running``, the server's clock and
driver in its ``dispatch``, so only workers run with the same ``--clock``/``--driver`` claim
it), and ``dialplan broadcast worker --db … --forever`` processes, on this machine or any other
that has the broadcasts' folder at the same path, do the calling. *Stop* sets the state
``paused``: workers stop claiming its calls and book the calls they have in flight with their
real results (hung up after their ``--drain-timeout``); *start* again resumes. The campaign's
state is the store's: a broadcast RUNNING here is FINISHED once a worker has finished its
campaign, and a stopped one stays RUNNING while live workers still have its calls in flight
(:meth:`PgRuns.draining`), then reads STOPPED — as a drain on SQLite.

:class:`PgRuns` has the surface of :class:`~.runs.Runs` the broadcast layer uses, so the layer
starts and stops either the same way; it also opens the store for reading (a small pool).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...broadcast.campaign import Campaign, load_campaign
from ...broadcast.pg.connect import open_pool
from ...broadcast.pg.service import arm, load, load_key
from ...broadcast.pg.sources import save_source
from ...broadcast.pg.store import PgStore
from ...broadcast.progress import Progress
from ...broadcast.store.backend import need_psycopg
from ...broadcast.store.sqlite import CampaignRow
from .runs import Clock, Driver

__all__ = ["PgRuns"]

#: a campaign's calls in flight on live workers (``attempts_in_flight`` is by worker)
_DRAINING = (
    "SELECT EXISTS (SELECT 1 FROM workers w"
    " JOIN attempts a ON a.worker_id = w.id AND a.result IS NULL"
    " JOIN recipients r ON r.id = a.recipient_id"
    " WHERE r.campaign_id = %s AND w.state = 'live' AND w.expires_at > dp_server_now())"
)


class PgRuns:
    """Starting and stopping broadcasts whose campaigns workers call (see the module doc)."""

    def __init__(self, dsn: str, *, clock: Clock = "virtual", driver: Driver = "sim") -> None:
        need_psycopg()
        self.dsn = dsn
        self.clock: Clock = "real" if driver == "sip" else clock
        self.driver: Driver = driver
        self.pool = open_pool(dsn, size=4)

    # -- the surface of :class:`~.runs.Runs` ----------------------------------------------
    def progress(self, broadcast_id: int) -> Progress | None:
        """Nothing runs here: progress is read from the store."""
        return None

    def running(self, broadcast_id: int) -> bool:
        """Nothing runs here (workers add what is added to a running campaign)."""
        return False

    def start(self, broadcast_id: int, campaign_file: Path) -> None:
        """Arm the campaign for the workers (a finished one with nobody left stays finished)."""
        campaign = load_campaign(campaign_file)
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (load_key(campaign.name),))
            store = PgStore.on(conn, self.dsn)
            row = store.campaign(campaign.name)
            if row is None or row.state == "loading":
                return  # loaded when its first recipients are added
            if row.state == "finished":
                left = conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM recipients WHERE campaign_id = %s"
                    " AND final_result IS NULL)",
                    (row.id,),
                ).fetchone()
                if not (left and left[0]):
                    return
                store.update_campaign(row.id, finished_at=None)
            save_source(conn, row.id, campaign)  # (a campaign stored by an older release)
            arm(store, campaign, row, self.clock, self.driver)

    def stop(self, broadcast_id: int, wait: bool = False) -> bool:
        """Workers stop claiming the campaign's calls (those in flight end with their real
        results, booked by the workers, hung up after their ``--drain-timeout``; ``wait``
        changes nothing: this server has no call to wait for). False: it was not running."""
        from .files import campaign_name

        with self.pool.connection() as conn:
            cur = conn.execute(
                "UPDATE campaigns SET state = 'paused' WHERE name = %s AND state = 'running'",
                (campaign_name(broadcast_id),),
            )
        return cur.rowcount > 0

    def settle(self, broadcast_id: int) -> None:
        """Nothing to wait for: the workers finish a paused campaign's calls in flight on their
        own, and a start while they do only lets them claim again."""

    def close(self, timeout: float = 30.0) -> None:
        """The workers keep calling: nothing of theirs depends on this server."""
        self.pool.close()

    # -- the store ------------------------------------------------------------------------
    def load(self, campaign: Campaign) -> CampaignRow:
        """Store the campaign and load its first recipients, ``paused``."""
        load(campaign, self.dsn, self.clock, driver=self.driver, start=False)
        with self.reader() as store:
            row = store.campaign(campaign.name)
        assert row is not None
        return row

    def state(self, campaign_id: int) -> str | None:
        """The campaign's state in the store (``paused``, ``running``, ``finished``, …)."""
        with self.pool.connection() as conn:
            row = conn.execute("SELECT state FROM campaigns WHERE id = %s", (campaign_id,))
            found = row.fetchone()
        return None if found is None else str(found[0])

    def draining(self, campaign_id: int) -> bool:
        """Whether live workers still have calls of the campaign in flight (attempts not yet
        booked). Those of a worker whose lease ran out do not count: the reaper books them
        ``INTERNAL_ERROR``, as a crashed run's on SQLite."""
        with self.pool.connection() as conn:
            found = conn.execute(_DRAINING, (campaign_id,)).fetchone()
        return bool(found and found[0])

    @contextmanager
    def reader(self) -> Iterator[PgStore]:
        """The store's reading queries on a pooled connection."""
        with self.pool.connection() as conn:
            yield PgStore.on(conn, self.dsn)

    @contextmanager
    def held(self, name: str) -> Iterator[PgStore]:
        """The store with the campaign's loading lock held (committed at the end)."""
        with PgStore(self.dsn).adding(name) as store:
            yield store
