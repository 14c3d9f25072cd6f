"""Running a campaign end to end: load → bucket → dispatch → complete → deliver webhooks.

``run_campaign`` is idempotent: on a database that already holds the campaign it resumes
(a finished campaign only gets its pending webhook events delivered). A run given a
:class:`~.stopping.StopRequest` ends early when it is requested (see :mod:`.stopping`): the
campaign is left running, ``RunReport.stopped`` says so, and the next run resumes.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CampaignError, InvalidDialplan
from ..model import Plan
from .campaign import Campaign, start_of
from .fingerprint import check_inputs, current_inputs
from .loader import load_dnc, load_recipients, read_header
from .phones import Normalizer
from .progress import Progress, ProgressFn
from .runners.common import Booking, scheduler_for
from .runners.realtime import run_real
from .runners.virtual import run_virtual
from .stopping import StopRequest
from .store.lease import Lease
from .store.rows import DispatchState
from .store.sqlite import CampaignRow, Store
from .store.sqlitefile import database_errors
from .telephony.port import CallRunner, Clock, TelephonyPort, check_supported
from .telephony.simulated import SimulatedDriver
from .webhooks.events import EventBuilder

if TYPE_CHECKING:
    from ..messaging.autoreply import AutoReplies

DEFAULT_DELIVERY_WAIT = 30.0


@dataclass
class RunReport:
    name: str
    broadcast_id: str
    resumed: bool
    started_at: float
    finished_at: float
    elapsed_s: float
    events_pending: int
    runner_stats: dict[str, int] = field(default_factory=dict)
    #: ended by a stop request before everybody was called (the next run resumes)
    stopped: bool = False


def campaign_config(c: Campaign) -> dict[str, Any]:
    """What is stored with the campaign (and compared on resume)."""
    return {
        "name": c.name,
        "path": str(c.path),
        "dialplan": str(c.dialplan) if c.dialplan is not None else "[sounds]",
        "recipients": str(c.recipients),
        "raw": c.raw,
        "created_at": time.time(),  # shown by ``broadcast list``; not compared on resume
    }


def load_dialplan(campaign: Campaign, library: set[str] | None = None) -> Plan:
    """The campaign's dialplan (a message campaign's is generated from its ``[sounds]``); an
    invalid one is a bad campaign input (exit 2), not a finding."""
    from .. import load

    try:
        if campaign.dialplan_xml is not None:
            name = f"{campaign.path} [sounds]" if campaign.sounds else str(campaign.dialplan)
            return load(campaign.dialplan_xml.encode("utf-8"), name)
        if campaign.sounds is not None:
            from .sounds_campaign import generated_dialplan

            xml = generated_dialplan(campaign, library)
            return load(xml.encode("utf-8"), f"{campaign.path} [sounds]")
        assert campaign.dialplan is not None
        return load(campaign.dialplan)
    except InvalidDialplan as exc:
        raise CampaignError(f"{campaign.path}: dialplan: {exc}") from None


def default_runner(campaign: Campaign) -> CallRunner:
    from .telephony.engine import EngineRunner

    plan = load_dialplan(campaign)
    return EngineRunner(plan)


def open_campaign(store: Store, campaign: Campaign, virtual: bool) -> tuple[CampaignRow, bool]:
    """The stored campaign (created if new, with its input fingerprints); ``True`` when it
    already existed — then its inputs must be the ones it was started with."""
    row = store.campaign(campaign.name)
    if row is not None:
        check_inputs(store, row, campaign)
        return row, True
    if virtual:
        seed = f"dialplan:{campaign.name}:{campaign.simulation.seed}:{campaign.simulation.start}"
        broadcast_id = str(uuid.uuid5(uuid.NAMESPACE_URL, seed))
    else:
        broadcast_id = str(uuid.uuid4())
    store.create_campaign(
        campaign.name,
        broadcast_id,
        campaign_config(campaign),
        current_inputs(campaign),
        dnc_scope=campaign.dnc_scope,
    )
    row = store.campaign(campaign.name)
    assert row is not None
    return row, False


def prepare(
    store: Store,
    campaign: Campaign,
    row: CampaignRow,
    progress: ProgressFn | None = None,
    loaded: str = "running",
) -> CampaignRow:
    """Load recipients and bucket them (resuming a crashed load); the campaign's state then
    becomes ``loaded`` (the service loads a PostgreSQL campaign ``paused``: its workers call
    only once it is started)."""
    if row.state == "loading":
        header, _ = read_header(campaign)
        store.drop_queue_index()
        load_recipients(
            store,
            campaign,
            row.id,
            row.loaded_rows,
            (lambda n: progress(Progress("loading", n, 0))) if progress else None,
        )
        store.begin()
        store.add_dnc(row.id, load_dnc(campaign, Normalizer(campaign.default_region)), "list")
        if campaign.channel != "sms":  # texts keep their own lists (text_optouts)
            store.add_account_dnc(row.id)
        store.bucket_dnc_and_duplicates(row.id, campaign.scrub_duplicates)
        if campaign.channel == "sms":  # replied STOP to this number in an earlier campaign
            from .telephony.texts import sending_number

            number = sending_number(campaign.from_number, campaign.default_region)
            store.bucket_opted_out(row.id, number)
        store.build_queue_index()
        store.update_campaign(row.id, state=loaded, dispatch={"columns": header})
        store.commit()
        new = store.campaign(campaign.name)
        assert new is not None
        return new
    return row


def run_campaign(
    campaign: Campaign,
    db: str | Path,
    *,
    runner: CallRunner | None = None,
    driver: TelephonyPort | None = None,
    plan: Any = None,
    clock: str = "virtual",
    progress: ProgressFn | None = None,
    deliver: bool = True,
    max_wait: float = DEFAULT_DELIVERY_WAIT,
    commit_every: int = 10_000,
    wait: bool = False,
    on_wait: Callable[[str], None] | None = None,
    messaging: Any = None,
    stop: StopRequest | None = None,
    drain_s: float | None = None,
    auto_replies: AutoReplies | None = None,
) -> RunReport:
    """Run (or resume) ``campaign`` in the database ``db``, holding the campaign's lease
    (``wait``: until the runner that holds it is done, else refuse). ``stop``: ends the run
    early when requested; on the real clock the calls in flight then end first, hung up after
    ``drain_s`` (default ``max_wait``) seconds. ``auto_replies``: a text campaign answers the
    replies that are no keyword with them (the service's per account)."""
    t0 = time.monotonic()
    if campaign.webhook is not None:
        check_webhook_url(campaign)
    sms = campaign.channel == "sms"
    if sms:
        from .telephony.texts import compile_message

        assert campaign.text is not None
        compile_message(campaign.text.message, f"{campaign.path}: message")  # before storing
    elif campaign.sounds is not None:  # every sound it plays is in the library, or it fails now
        from ..sounds.library import library_names

        load_dialplan(campaign, library_names(db) or set())
    if not sms and driver is None and runner is None:
        runner = default_runner(campaign)  # a broken dialplan fails before anything is stored
    read_header(campaign)  # so does an empty, binary or phone_number-less recipients file
    on: Clock = "real" if clock == "real" else "virtual"
    if driver is not None and (driver.unsupported or on not in driver.clocks):
        # a driver that cannot run this campaign fails before it starts
        check_supported(driver, plan or load_dialplan(campaign), on, campaign.path)
    with database_errors(db), leased(db, campaign.name, wait, on_wait) as store:
        row, resumed = open_campaign(store, campaign, clock == "virtual")
        row = prepare(store, campaign, row, progress)
        runner_obj: Any = None
        stopped = False
        if row.state == "running":
            if sms:
                driver = text_driver(campaign, store, row, messaging, clock, auto_replies)
            elif driver is None:
                assert runner is not None
                runner_obj = runner
                driver = SimulatedDriver(campaign, runner_obj, lived=clock == "real")
            drain = max_wait if drain_s is None else drain_s
            placed, end_ms, total, stopped = _dispatch(
                store, campaign, row, driver, clock, progress, deliver, commit_every, stop, drain
            )
            if not stopped:
                finish(store, campaign, row, end_ms, _events(campaign, row))
            if progress:
                finals = store.counts_by(row.id, "final_result")
                results = {k: n for k, n in finals.items() if k is not None}
                progress(
                    Progress(
                        "stopped" if stopped else "finished",
                        sum(results.values()),
                        total,
                        results,
                        placed,
                        end_ms / 1000,
                        virtual=clock != "real",
                    )
                )
        pending = store.pending_count()
        if deliver and campaign.webhook is not None and pending and not stopped:
            if progress:
                progress(Progress("delivering", 0, pending))
            pending = deliver_outbox(store, campaign, max_wait)
        final = store.campaign(campaign.name)
        assert final is not None
        stats = {}
        if runner_obj is not None and hasattr(runner_obj, "hits"):
            stats = {"cache_hits": runner_obj.hits, "engine_calls": runner_obj.misses}
        return RunReport(
            campaign.name,
            final.broadcast_id,
            resumed,
            final.started_at or 0.0,
            final.finished_at or 0.0,
            time.monotonic() - t0,
            pending,
            stats,
            stopped,
        )


def text_driver(
    campaign: Campaign,
    store: Store,
    row: CampaignRow,
    messaging: Any,
    clock: str,
    auto_replies: AutoReplies | None = None,
) -> TelephonyPort:
    """The telephony port of a text campaign: its messages through ``messaging`` (by default
    the simulated messaging driver, seeded by ``[simulation]``)."""
    from ..messaging.simulated import SimulatedMessaging
    from .telephony.texts import TextCampaignDriver

    if messaging is None:
        messaging = SimulatedMessaging(campaign.simulation.seed, campaign.simulation.weights)
    on: Clock = "real" if clock == "real" else "virtual"
    if on not in messaging.clocks:
        raise CampaignError(
            f"{campaign.path}: the {messaging.name} driver cannot run on the {on} clock"
        )
    return TextCampaignDriver(campaign, messaging, store, row.broadcast_id, auto_replies)


@contextmanager
def leased(
    db: str | Path, name: str, wait: bool = False, on_wait: Callable[[str], None] | None = None
) -> Iterator[Store]:
    """The store, with campaign ``name``'s lease held (see :mod:`.lease`) until the block ends;
    every commit in between checks the lease is still ours. A failure rolls back what was not
    committed."""
    store = Store(db)
    lease: Lease | None = None
    try:
        lease = Lease.acquire(store.db, store.path, name, wait=wait, on_wait=on_wait)
        store.fence = lease.renew
        yield store
        store.commit()
    except BaseException:
        store.rollback()
        raise
    finally:
        store.fence = None
        if lease is not None:
            lease.release(store.db)
        try:
            store.close()
        except sqlite3.Error:
            store.db.close()


def _events(campaign: Campaign, row: CampaignRow) -> EventBuilder | None:
    if campaign.webhook is None:
        return None
    return EventBuilder(
        row.broadcast_id,
        campaign.from_number,
        campaign.custom_data,
        campaign.webhook.url,
        campaign.amd_enabled,
    )


def _dispatch(
    store: Store,
    campaign: Campaign,
    row: CampaignRow,
    driver: TelephonyPort,
    clock: str,
    progress: ProgressFn | None,
    deliver: bool,
    commit_every: int,
    stop: StopRequest | None = None,
    drain_s: float = DEFAULT_DELIVERY_WAIT,
) -> tuple[int, int, int, bool]:
    """Run the scheduler on the campaign's clock; returns (calls placed, end clock ms, total,
    stopped early)."""
    counts = store.counts_by(row.id, "final_result")
    total = sum(counts.values())
    state = DispatchState.from_json(row.dispatch)
    real = clock == "real"
    # the virtual clock starts at [simulation] start; the real one now
    start_ms = round((time.time() if real else start_of(campaign, time.time())) * 1000)
    if row.started_at is None:
        store.begin()
        store.update_campaign(row.id, started_at=start_ms / 1000)
        store.commit()
    until = None
    if not campaign.resume_next_day:  # calls stop with the first calling day
        from .scheduler.windows import first_day_end

        started = row.started_at if row.started_at is not None else start_ms / 1000
        until = first_day_end(campaign, started)
    if real:  # a real run starts now, whatever an earlier run left
        state = DispatchState(state.columns, floors=state.floors)
    results_before = {k: n for k, n in counts.items() if k is not None}
    sched = scheduler_for(store, campaign, row.id, state, results_before, until)
    booking = Booking(
        store,
        campaign,
        row.id,
        row.broadcast_id,
        state.columns,
        events=_events(campaign, row),
        progress=progress,
        total=total,
        virtual=not real,
    )
    webhook = campaign.webhook if deliver else None
    if not real:
        deliverer = None
        if webhook is not None:
            from .webhooks.delivery import CampaignSecrets, WebhookDeliverer

            deliverer = WebhookDeliverer(
                store, CampaignSecrets(webhook.secret, store.webhook_secret),
                allow_private=campaign.allow_private,
            )  # fmt: skip
            sender = deliverer

            def deliver_due() -> None:  # what is due, while calling (one batch per commit)
                sender.run_once(time.time())

            booking.on_commit = deliver_due
        try:
            end_ms = run_virtual(
                sched, booking, driver, start_ms, commit_every=commit_every, stop=stop
            )
        finally:
            if deliverer is not None:
                deliverer.close()
        return sched.placed, end_ms, total, sched.stopping

    async def real_run() -> int:
        background = None
        if webhook is not None:
            from .webhooks.async_delivery import AsyncWebhookDeliverer
            from .webhooks.delivery import CampaignSecrets

            sender = AsyncWebhookDeliverer(
                store, CampaignSecrets(webhook.secret, store.webhook_secret),
                allow_private=campaign.allow_private,
            )  # fmt: skip
            background = sender.run_forever
        return await run_real(
            sched, booking, driver, background=background, stop=stop, drain_s=drain_s
        )

    end_ms = asyncio.run(real_run())
    return sched.placed, end_ms, total, sched.stopping


def check_webhook_url(campaign: Campaign) -> None:
    """Refuse a webhook URL that cannot be delivered to: a host that is, or resolves to, a
    loopback/private address (numeric spellings such as ``127.1``, ``2130706433``, ``0x7f.0.0.1``,
    ``0``, IPv6 forms and ``localhost.`` included) unless ``[network] allow_private``, and a host
    that does not resolve. The delivery transport checks every address again at connect time.
    """
    from ..netguard import UnsafeUrl, check_url

    assert campaign.webhook is not None
    try:
        check_url(campaign.webhook.url, campaign.allow_private)
    except UnsafeUrl as exc:
        hint = ""
        if exc.reason.startswith("host ") and " is " in exc.reason:  # blocked, not unresolvable
            hint = " (set [network] allow_private = true for local receivers)"
        raise CampaignError(f"{campaign.path}: webhook.url: {exc}{hint}") from None


def finish(
    store: Store, campaign: Campaign, row: CampaignRow, end_ms: int, events: EventBuilder | None
) -> None:
    """Recipients that cannot be called any more get their final result (UNDIALED if never
    called); the campaign event is queued."""
    store.begin()
    store.finish_remaining(row.id)
    if events is not None:
        blacklisted = store.recipient_numbers(row.id, "call_blacklisted", 10_000)
        not_allowed = store.recipient_numbers(row.id, "country_not_allowed", 10_000)
        store.add_many(
            [
                events.complete(
                    end_ms, store.call_summaries(row.id), blacklisted, not_allowed, time.time()
                )
            ]
        )
    store.update_campaign(row.id, state="finished", finished_at=end_ms / 1000)
    store.commit()


def deliver_outbox(store: Store, campaign: Campaign, max_wait: float) -> int:
    """Deliver pending webhook events (the ``webhooks`` module); returns how many remain."""
    assert campaign.webhook is not None
    try:
        from .webhooks import delivery as webhooks
    except ImportError:  # the delivery worker is not installed: events wait in the outbox
        return store.pending_count()
    deliver_fn: Any = getattr(webhooks, "deliver_pending", None)
    if deliver_fn is None:
        return store.pending_count()
    deliver_fn(
        store,
        campaign.webhook.secret,
        allow_private=campaign.allow_private,
        max_wait_s=max_wait,
    )
    return store.pending_count()
