"""``broadcast run --db postgresql://…``: load a campaign into PostgreSQL, then work as a worker.

Loading is the SQLite run's (:func:`~..service.open_campaign`, :func:`~..service.prepare`: the
same parsing, bucketing, fingerprints and deterministic broadcast id) under an advisory lock, so
two ``run``s started together load once; then the campaign's dial gate and (virtual time) its
shared clock are set up and the process dials as one worker among any others. A second ``run``
of the same campaign joins it as a worker instead of being refused.
"""

from __future__ import annotations

import time
import zlib
from typing import Any, cast

from ..campaign import Campaign, start_of
from ..progress import ProgressFn
from ..service import RunReport, check_webhook_url, default_runner, open_campaign, prepare
from ..store.sqlite import CampaignRow, Store
from .clock import SharedClock
from .dialing import open_gate
from .sources import save_source
from .store import PgStore


def load(
    campaign: Campaign,
    dsn: str,
    clock: str,
    progress: ProgressFn | None = None,
    driver: str = "sim",
    *,
    start: bool = True,
) -> bool:
    """The campaign stored, loaded and ready to dial; ``True`` when it existed already. The
    clock and driver it is run with are stored with it: only workers with the same ones join
    (a simulating worker never books fake results into a campaign of real calls).
    ``start=False`` leaves a newly loaded campaign ``paused`` (:func:`arm` starts it)."""
    store = PgStore(dsn)
    try:
        key = load_key(campaign.name)
        store.db.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            as_sqlite = cast(Store, store)  # the loading queries of the SQLite store's surface
            row, resumed = open_campaign(as_sqlite, campaign, clock == "virtual")
            save_source(store.db, row.id, campaign)  # workers build their jobs from it
            store.commit()
            row = prepare(as_sqlite, campaign, row, progress, "running" if start else "paused")
            if row.state == "running":
                arm(store, campaign, row, clock, driver)
                store.commit()
                store.db.execute("ANALYZE recipients")  # the claims' plans see the real table
                store.commit()
            return resumed
        finally:
            store.db.commit()
            store.db.execute("SELECT pg_advisory_unlock(%s)", (key,))
            store.db.commit()
    finally:
        store.close()


def load_key(name: str) -> int:
    """The advisory lock a campaign is loaded, added to and started under."""
    return zlib.crc32(f"dialplan-load:{name}".encode())


def arm(store: PgStore, campaign: Campaign, row: CampaignRow, clock: str, driver: str) -> None:
    """Make a loaded campaign dialable (uncommitted): its dial gate, state ``running`` and, at
    its first start, its start time, the clock and driver its workers must run with and
    (virtual time) its shared clock."""
    open_gate(store.db, row.id, campaign.calls_per_second, campaign.max_active)
    if row.started_at is not None:
        store.update_campaign(row.id, state="running")
        return
    real = clock == "real"
    start_s = round((time.time() if real else start_of(campaign, time.time())) * 1000)
    runs_on = {"clock": clock, "driver": driver}
    store.update_campaign(
        row.id, state="running", started_at=start_s / 1000, dispatch={**row.dispatch, **runs_on}
    )
    if not real:
        SharedClock.create(store.db, f"campaign:{row.id}", start_s / 1000)


def run_on_postgres(
    campaign: Campaign,
    dsn: str,
    *,
    clock: str = "virtual",
    driver: str = "sim",
    progress: ProgressFn | None = None,
    max_wait: float = 30.0,
    lease: float = 10.0,
    tick: float = 1.0,
) -> RunReport:
    """Load ``campaign`` (or join it) and dial it as one worker until it is finished."""
    from ..runners.pg_worker import Worker, WorkerOptions

    t0 = time.monotonic()
    if campaign.webhook is not None:
        check_webhook_url(campaign)
    if campaign.channel == "sms":
        from ..telephony.texts import compile_message

        assert campaign.text is not None
        compile_message(campaign.text.message, f"{campaign.path}: message")  # before storing
    elif campaign.sounds is not None:  # every sound it plays is in the library, or it fails now
        from ...sounds.library import library_names
        from ..service import load_dialplan

        load_dialplan(campaign, library_names(dsn) or set())
    elif driver == "sim":
        default_runner(campaign)  # a broken dialplan fails before anything is stored
    resumed = load(campaign, dsn, clock, progress, driver)
    worker = Worker(
        dsn,
        WorkerOptions(
            clock=clock,
            driver=driver,
            lease=lease,
            tick=tick,
            max_wait=max_wait,
            campaign=campaign.name,
            drain_s=max_wait,  # as the SQLite run's drain: ``--max-wait`` bounds it
        ),
    )
    worker.install_signals()
    report = worker.run()
    store = PgStore(dsn, readonly=True)
    try:
        row = store.campaign(campaign.name)
        assert row is not None
        stats: dict[str, Any] = {"calls": report.calls}
        return RunReport(
            campaign.name,
            row.broadcast_id,
            resumed,
            row.started_at or 0.0,
            row.finished_at or 0.0,
            time.monotonic() - t0,
            store.pending_count(),
            stats,
        )
    finally:
        store.close()
