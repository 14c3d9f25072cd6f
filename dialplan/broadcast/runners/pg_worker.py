"""The PostgreSQL worker: one of any number of processes dialling the campaigns of a database.

A worker registers a lease (renewed by a heartbeat thread on its own connection), claims due
recipients under each campaign's dial gate, commits every attempt before its call is placed,
dials through the telephony port (the simulated driver or SIP), books outcomes with the
scheduler's retry rule (:class:`~..pg.jobs.CampaignJob`), reaps workers whose lease expired,
and delivers webhook events from the shared outbox on a thread of its own (a receiver that
hangs never holds up a call). When nothing is left it finishes the campaign — exactly one
worker does — and exits (``forever``: waits for new campaigns).

Two clocks, like the SQLite runners:

- ``virtual`` — calls are computed (:func:`~..telephony.port.run_now`); the workers of a
  campaign share its clock row (:class:`~..pg.clock.SharedClock`), which moves only when every
  one of them is idle. ``tick`` seconds of slots are claimed at once and the clock moves at
  least that far (``0``: exactly from event to event, the SQLite run's schedule).
- ``real`` — calls are lived on one asyncio loop (the SIP driver's sockets included), up to the
  campaign's ``max_active`` across all workers.

SIGTERM (or SIGINT) drains (:mod:`..stopping`, as a stopped SQLite run): stop claiming, let
the calls in flight end with their real results, give back what was claimed and not started,
exit 0. A campaign whose state is no longer ``running`` (the service's *stop* sets ``paused``)
is drained the same way, alone; a worker running ``forever`` takes it up again once it is
``running`` again. On the real clock a drain lasts at most ``drain_s`` seconds (``--drain-
timeout``): then the driver hangs up the calls still up and they are booked as it reports them
(answered: their result with the talk so far; ringing: ``NO_ANS``), never ``INTERNAL_ERROR``.
A second signal ends the worker at once: its calls still in flight are booked
``INTERNAL_ERROR`` by whichever worker reaps its lease, as a crashed worker's. A campaign whose
settings or dialplan changed (a new fingerprint in ``campaign_inputs``) is loaded again: at
once on the real clock (calls in flight end on the old job), by leaving and taking it up again
in virtual time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg

from ...errors import CampaignError
from ..pg.clock import SharedClock, clock_listener
from ..pg.connect import connect
from ..pg.dialing import Claim, claim, start
from ..pg.dialing import skip as skip_claims
from ..pg.jobs import CallDone, CampaignJob, changed_at, load_job, ms, state_of
from ..pg.outbox import PgOutbox
from ..pg.store import PgStore
from ..pg.workers import LostAttempt, WorkerLost, heartbeat, reap, register, stop
from ..scheduler.core import attempt_times
from ..stopping import DrainDeadline, StopRequest, hang_up
from ..telephony.port import AttemptOutcome, Clock, TelephonyPort, check_supported, run_now

if TYPE_CHECKING:
    from ...messaging.autoreply import AutoReplies
    from ..campaign import Campaign

#: real clock: how far ahead a claim's start slot may be (s), and how often the loop looks
REAL_HORIZON = 0.25
REAL_POLL = 0.02
#: how often (s) a worker looks whether its campaigns are still ``running`` (paused: stop claiming)
STATE_POLL = 0.25


@dataclass
class WorkerOptions:
    clock: str = "virtual"  # virtual | real
    driver: str = "sim"  # sim | sip
    lease: float = 10.0  # seconds a lease lasts without a heartbeat
    forever: bool = False  # wait for new campaigns instead of exiting
    tick: float = 1.0  # virtual: seconds of slots claimed at once (0: event to event)
    batch: int = 16  # claims per round trip
    max_wait: float = 30.0  # seconds to keep delivering webhook events at the end
    deliver: bool = True
    campaign: str | None = None  # only this campaign (``broadcast run``)
    dial_log: str | None = None  # append "dial <recipient> <attempt> <start>" per call
    #: a text campaign's auto-replies (the service's, given by ``broadcast worker``)
    auto_replies: Callable[[Campaign], AutoReplies | None] | None = None
    drain_s: float = 30.0  # real clock: seconds a drain lets calls go on before hanging up


@dataclass
class WorkerReport:
    worker_ids: list[str]
    calls: int = 0
    campaigns_finished: int = 0
    lost_booked: int = 0
    events_pending: int = 0
    #: calls the drain timeout hung up, and calls left in flight by a stop at once
    hung_up: int = 0
    abandoned: int = 0


class _Heartbeat(threading.Thread):
    """Renews the lease from its own connection; stops when the lease is gone."""

    def __init__(self, dsn: str, worker: str, ttl: float) -> None:
        super().__init__(daemon=True, name="dialplan-heartbeat")
        self.dsn, self.worker, self.ttl = dsn, worker, ttl
        self.halt = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.halt.wait(self.ttl / 5):
                try:
                    heartbeat(conn, self.worker, self.ttl)
                except WorkerLost:
                    return
                except psycopg.Error:
                    continue  # the database is away: the lease may run out; the fence decides


class _Deliverer(threading.Thread):
    """Delivers due webhook events from the shared outbox until halted (its own connection)."""

    def __init__(
        self, dsn: str, owner: str, secret: str, allow_private: bool, lease: float
    ) -> None:
        super().__init__(daemon=True, name="dialplan-webhooks")
        self.dsn, self.owner, self.secret, self.allow_private = dsn, owner, secret, allow_private
        #: how long a claimed event is this deliverer's (a dead one's claims then expire);
        #: a post gives up after half of it, so a live deliverer never loses its claim
        self.claim_s = max(2 * lease, 10.0)
        self.halt = threading.Event()
        self.errors: list[str] = []

    def run(self) -> None:
        from ..webhooks.delivery import CampaignSecrets, WebhookDeliverer

        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                outbox = PgOutbox(conn, self.owner, self.claim_s)
                store = PgStore.on(conn, self.dsn)
                with WebhookDeliverer(
                    outbox,
                    CampaignSecrets(self.secret, store.webhook_secret),
                    allow_private=self.allow_private,
                    timeout_s=self.claim_s / 2,
                    batch_size=20,
                ) as sender:
                    while not self.halt.is_set():
                        if sender.run_once(time.time()) == 0:
                            self.halt.wait(0.1)
        except psycopg.Error as exc:  # the worker's own loop reports database trouble
            self.errors.append(str(exc))

    def drain(self, conn: psycopg.Connection, max_wait: float) -> int:
        """Keep delivering until the outbox is empty or ``max_wait`` passed; returns how many
        events are still pending."""
        deadline = time.monotonic() + max_wait
        pending = PgOutbox(conn, self.owner).pending_count()
        while pending and time.monotonic() < deadline and self.is_alive():
            time.sleep(0.05)
            pending = PgOutbox(conn, self.owner).pending_count()
        self.halt.set()
        self.join(2)  # a post may hang: the event stays claimed and is posted again later
        return pending


class Worker:
    """One worker process's loop (see the module doc)."""

    def __init__(
        self,
        dsn: str,
        options: WorkerOptions,
        *,
        make_driver: Callable[[CampaignJob], TelephonyPort] | None = None,
    ) -> None:
        self.dsn = dsn
        self.o = options
        self.conn = connect(dsn)
        #: SIGTERM/SIGINT: the first drains, a second ends at once (:meth:`install_signals`)
        self.stop = StopRequest()
        self.report = WorkerReport([])
        self._make_driver = make_driver or self._default_driver
        self._log_fd: int | None = None
        if options.dial_log:
            self._log_fd = os.open(options.dial_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.deliverer: _Deliverer | None = None
        #: running campaigns left alone: they run on another clock or driver (name → options)
        self.skipped: dict[str, str] = {}

    # -- the process --------------------------------------------------------------------
    @property
    def stopping(self) -> bool:
        """Asked to stop: claim nothing more, drain."""
        return self.stop.draining

    def install_signals(self) -> None:
        def on_signal(signum: int, frame: Any) -> None:
            self.stop.request()
            note = (
                b"dialplan: worker stopping at once\n"
                if self.stop.at_once
                else b"dialplan: worker stopping: no new calls; the calls in flight end"
                b" (again: stop at once)\n"
            )
            os.write(2, note)  # async-signal-safe, unlike print

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def run(self) -> WorkerReport:
        """Work until no campaign is left (or, ``forever``, until told to stop)."""
        try:
            while not self.stopping:
                jobs = self._jobs()
                if jobs:
                    if self.o.clock == "virtual":
                        for job in jobs:
                            if not self.stopping:
                                self._run_virtual(job)
                    else:
                        asyncio.run(self._run_real(jobs))
                    continue
                if not self.o.forever:
                    break
                time.sleep(1.0)
        finally:
            if self.deliverer is not None:
                self.report.events_pending = self.deliverer.drain(self.conn, self.o.max_wait)
            self.conn.close()
            if self._log_fd is not None:
                os.close(self._log_fd)
        return self.report

    def _jobs(self) -> list[CampaignJob]:
        store = PgStore.on(self.conn, self.dsn)
        rows = []
        for name in store.campaign_names():
            row = store.campaign(name)
            if row is None or row.state != "running":
                continue
            if self.o.campaign is not None and row.name != self.o.campaign:
                continue
            clock, driver = row.dispatch.get("clock", "virtual"), row.dispatch.get("driver", "sim")
            if (clock, driver) != (self.o.clock, self.o.driver):
                self.skipped[row.name] = f"--clock {clock} --driver {driver}"
                continue
            rows.append(row)
        jobs = [load_job(self.conn, row) for row in rows]
        for job in jobs:
            self._start_deliverer(job)
        return jobs

    def _start_deliverer(self, job: CampaignJob) -> None:
        webhook = job.campaign.webhook
        if not self.o.deliver or webhook is None or self.deliverer is not None:
            return
        self.deliverer = _Deliverer(
            self.dsn,
            f"deliverer:{os.getpid()}",
            webhook.secret,
            job.campaign.allow_private,
            self.o.lease,
        )
        self.deliverer.start()

    def _default_driver(self, job: CampaignJob) -> TelephonyPort:
        from ..service import default_runner, load_dialplan
        from ..telephony.simulated import SimulatedDriver

        campaign = job.campaign
        if campaign.channel == "sms":
            from .pg_texts import text_driver

            replies = self.o.auto_replies(campaign) if self.o.auto_replies else None
            store = PgStore.on(self.conn, self.dsn)
            return text_driver(job, store, self.o.driver, self.o.clock, replies)
        if self.o.driver == "sip":
            from ..telephony.sip import SipCampaignDriver

            # ``callfireid`` prompts play from the database's sound library
            driver: TelephonyPort = SipCampaignDriver(campaign, load_dialplan(campaign), self.dsn)
        else:
            driver = SimulatedDriver(
                campaign, default_runner(campaign), lived=self.o.clock == "real"
            )
        clock: Clock = "real" if self.o.clock == "real" else "virtual"
        check_supported(driver, load_dialplan(campaign), clock, campaign.path)
        return driver

    def _dialled(self, c: Claim) -> None:
        if self._log_fd is not None:  # one write per line: a kill never leaves half a line
            line = f"dial {c.recipient_id} {c.attempt_no} {c.start_at:.3f}\n"
            os.write(self._log_fd, line.encode())

    def _reap(self, jobs: dict[int, CampaignJob], now: float) -> None:
        def decide(lost: LostAttempt) -> Any:
            job = jobs.get(lost.campaign_id) or self._job_by_id(lost.campaign_id)
            return job.decide_lost(lost, now)

        self.report.lost_booked += len(reap(self.conn, now, decide))

    def _job_by_id(self, campaign_id: int) -> CampaignJob:
        store = PgStore.on(self.conn, self.dsn)
        row = store.campaign_by_id(campaign_id)
        if row is None:
            raise CampaignError(f"lost attempts of an unknown campaign {campaign_id}")
        return load_job(self.conn, row)

    def _claim(
        self, job: CampaignJob, worker: str, now: float, limit: int, horizon: float
    ) -> list[Claim]:
        """Claims to dial: due recipients in open zones; numbers put on the DNC list during
        the campaign end ``DNC`` without a call."""
        zones = job.open_zones(now, horizon)
        if not zones or limit <= 0:
            return []
        got = claim(self.conn, job.id, worker, now, limit, horizon=horizon, zones=zones)
        skip = [c.recipient_id for c in got if c.e164 in job.dnc]
        if skip:
            skip_claims(self.conn, worker, skip, "DNC")
            got = [c for c in got if c.e164 not in job.dnc]
        if got:
            start(self.conn, job.row.broadcast_id, worker, got)  # committed before dialling
        return got

    # -- virtual time ---------------------------------------------------------------------
    def _run_virtual(self, job: CampaignJob) -> None:
        conn, tick = self.conn, self.o.tick
        worker = register(conn, self.o.lease, clock=job.clock_name)
        self.report.worker_ids.append(worker)
        beat = _Heartbeat(self.dsn, worker, self.o.lease)
        beat.start()
        listen = clock_listener(self.dsn)
        SharedClock.create(conn, job.clock_name, job.row.started_at or 0.0)
        clock = SharedClock(conn, job.clock_name, worker)
        driver = self._make_driver(job)
        run_now(driver.open())
        calls: list[tuple[int, CallDone]] = []  # (end ms, call)
        jobs = {job.id: job}
        halted, looked = False, 0.0
        try:
            while True:
                now = clock.busy().now
                self._reap(jobs, now)
                ended = [d for end, d in calls if end <= ms(now)]
                if ended:
                    job.book(conn, worker, ended)
                    calls = [(end, d) for end, d in calls if end > ms(now)]
                if self.stop.at_once:  # computed calls left unbooked: reaped as lost
                    self.report.abandoned += len(calls)
                    break
                if not halted and time.monotonic() - looked > STATE_POLL:
                    running, changed = self._look(job)
                    halted, looked = not running or changed, time.monotonic()
                halted = halted or self.stopping
                if not halted:
                    job.refresh_dnc(conn)
                    while got := self._claim(job, worker, now, self.o.batch, tick):
                        for c in got:
                            self._dialled(c)
                            out = run_now(driver.dial(job.request(c), c.start_at))
                            calls.append((attempt_times(ms(c.start_at), out)[1], CallDone(c, out)))
                        self.report.calls += len(got)
                wake = min(end for end, _ in calls) / 1000 if calls else None
                if not halted:
                    due = job.next_claim(conn, now)
                    if due is not None and (wake is None or due < wake):
                        wake = due
                if wake is not None:
                    wake = max(wake, now + tick if tick > 0 else now + 0.001)
                elif not calls and (halted or self._finished(job, now)):
                    break
                reading = clock.idle(wake)
                if reading.advanced:
                    continue
                self._wait_generation(clock, listen, reading.generation)
        finally:
            beat.halt.set()
            with contextlib.suppress(psycopg.Error):
                stop(conn, worker)
            run_now(driver.close())
            listen.close()

    def _look(self, job: CampaignJob) -> tuple[bool, bool]:
        """Whether the campaign is still ``running`` (not paused, not finished by another
        worker), and whether its settings changed since ``job`` was loaded."""
        if state_of(self.conn, job.id) != "running":
            return False, False
        return True, changed_at(self.conn, job.id) != job.changed_at

    def _reload(self, job: CampaignJob) -> CampaignJob:
        stamp = changed_at(self.conn, job.id)  # read before the row and source (see load_job)
        row = PgStore.on(self.conn, self.dsn).campaign_by_id(job.id)
        if row is None:
            return job
        fresh = load_job(self.conn, row)
        fresh.changed_at = stamp
        fresh.refresh_dnc(self.conn)
        return fresh

    def _finished(self, job: CampaignJob, now: float) -> bool:
        """The campaign is over (finished here or by another worker)."""
        done = job.try_finish(self.conn, now)
        if done:
            self.report.campaigns_finished += 1
        return done is not None

    def _wait_generation(self, clock: SharedClock, listen: psycopg.Connection, gen: int) -> None:
        """Until the clock moves (or a while passes: look for lost workers, then report
        again)."""
        waited = time.monotonic()
        while clock.read().generation == gen and not self.stopping:
            for _ in listen.notifies(timeout=0.05, stop_after=1):
                pass
            if time.monotonic() - waited > self.o.lease / 3:
                return

    # -- the real clock -------------------------------------------------------------------
    async def _run_real(self, jobs: list[CampaignJob]) -> None:
        conn = self.conn
        worker = register(conn, self.o.lease)
        self.report.worker_ids.append(worker)
        beat = _Heartbeat(self.dsn, worker, self.o.lease)
        beat.start()
        drivers = {job.id: self._make_driver(job) for job in jobs}
        for d in drivers.values():
            await d.open()
        active = {job.id: job for job in jobs}
        every = dict(active)
        tasks: dict[asyncio.Task[AttemptOutcome], tuple[CampaignJob, Claim]] = {}
        last_reap = last_dnc = last_state = 0.0
        last_look = time.monotonic()
        paused: set[int] = set()  # campaigns no longer running: their calls end, no new ones
        #: drivers of reloaded jobs, or hung up by a drain (campaign id, driver): calls may be up
        retired: list[tuple[int, TelephonyPort]] = []
        drains: dict[int, DrainDeadline] = {}  # campaigns draining (paused, or all: stopping)
        hung_up: set[int] = set()  # campaigns whose driver a drain hung up (it ends every call)
        try:
            while True:
                if self.stop.at_once:  # asked twice: the calls in flight are reaped as lost
                    self.report.abandoned += len(tasks)
                    break
                now = time.time()
                if not self.stopping and time.monotonic() - last_look > 2.0:
                    last_look = time.monotonic()  # campaigns loaded (or resumed) meanwhile join
                    for job in self._jobs():
                        if job.id not in active:
                            job.refresh_dnc(conn)
                            if job.id in drivers:
                                await drivers[job.id].close()
                            drivers[job.id] = self._make_driver(job)
                            await drivers[job.id].open()
                            active[job.id] = every[job.id] = job
                            paused.discard(job.id)
                            drains.pop(job.id, None)
                if time.monotonic() - last_state > STATE_POLL:
                    last_state = time.monotonic()
                    paused = set()
                    for j, job in list(active.items()):
                        running, changed = self._look(job)
                        if not running:
                            paused.add(j)
                        elif changed and not self.stopping:  # new settings: a new job
                            active[j] = every[j] = self._reload(job)
                            retired.append((j, drivers[j]))
                            drivers[j] = self._make_driver(active[j])
                            await drivers[j].open()
                for j in list(active):
                    if self._drain(j, j in paused, drains, drivers, retired, tasks):
                        hung_up.add(j)
                if now - last_reap > self.o.lease / 4:
                    self._reap(every, now)
                    last_reap = now
                self._harvest(worker, tasks, [t for t in tasks if t.done()])
                if not self.stopping:
                    if now - last_dnc > 1.0:
                        for job in active.values():
                            job.refresh_dnc(conn)
                        last_dnc = now
                    for job in list(active.values()):
                        if job.id in paused:
                            continue
                        if job.id in hung_up:  # resumed after its drain hung up: a fresh driver
                            hung_up.discard(job.id)
                            retired.append((job.id, drivers[job.id]))
                            drivers[job.id] = self._make_driver(job)
                            await drivers[job.id].open()
                        mine = sum(1 for j, _ in tasks.values() if j.id == job.id)
                        room = min(self.o.batch, job.rules.max_active - mine)
                        for c in self._claim(job, worker, time.time(), room, REAL_HORIZON):
                            self._dialled(c)
                            task = asyncio.create_task(self._call(drivers[job.id], job, c))
                            tasks[task] = (job, c)
                            self.report.calls += 1
                for job in list(active.values()):
                    if any(j.id == job.id for j, _ in tasks.values()):
                        continue
                    if self.stopping or job.id in paused or self._finished(job, time.time()):
                        del active[job.id]
                        drains.pop(job.id, None)
                if not active and not tasks:
                    break
                if tasks:
                    done, _ = await asyncio.wait(
                        tasks, timeout=REAL_POLL, return_when=asyncio.FIRST_COMPLETED
                    )
                    self._harvest(worker, tasks, list(done))
                else:
                    await asyncio.sleep(REAL_POLL)
        finally:
            beat.halt.set()
            for task in tasks:
                task.cancel()
            with contextlib.suppress(psycopg.Error):
                stop(conn, worker)
            for d in [*drivers.values(), *(d for _, d in retired)]:
                await d.close()

    def _drain(
        self,
        campaign_id: int,
        paused: bool,
        drains: dict[int, DrainDeadline],
        drivers: dict[int, TelephonyPort],
        retired: list[tuple[int, TelephonyPort]],
        tasks: dict[asyncio.Task[AttemptOutcome], tuple[CampaignJob, Claim]],
    ) -> bool:
        """Keep a campaign's drain (stopping, or paused): once it has lasted ``drain_s``, its
        drivers hang up the calls still up (each is then booked as the driver reports it).
        True: its current driver was just hung up (a resumed campaign needs a fresh one)."""
        drain = drains.setdefault(campaign_id, DrainDeadline(self.o.drain_s))
        if not (self.stopping or paused):
            drain.cancel()  # running again: its calls end in their own time
            return False
        drain.begin()
        if not drain.due():
            return False
        self.report.hung_up += sum(1 for job, _ in tasks.values() if job.id == campaign_id)
        for j, d in retired:
            if j == campaign_id:
                hang_up(d)
        hang_up(drivers[campaign_id])
        return True

    async def _call(self, driver: TelephonyPort, job: CampaignJob, c: Claim) -> AttemptOutcome:
        delay = c.start_at - time.time()
        if delay > 0:  # the slot the dial gate gave (calls_per_second across workers)
            await asyncio.sleep(delay)
        return await driver.dial(job.request(c), c.start_at)

    def _harvest(
        self,
        worker: str,
        tasks: dict[asyncio.Task[AttemptOutcome], tuple[CampaignJob, Claim]],
        done: list[asyncio.Task[AttemptOutcome]],
    ) -> None:
        by_job: dict[int, tuple[CampaignJob, list[CallDone]]] = {}
        for task in done:
            job, c = tasks.pop(task)
            try:
                out = task.result()
            except Exception:  # the driver broke: counted as a carrier error, like SQLite
                out = AttemptOutcome("CARRIER_ERROR", 41, None, 0.0, 0.0)
            by_job.setdefault(job.id, (job, []))[1].append(CallDone(c, out))
        for job, finished in by_job.values():
            job.book(self.conn, worker, finished)
