"""Call broadcasts of the service: a typed API over the campaign runtime, used by the ``/v2``
routes and the dashboard alike.

How to use it::

    layer = Broadcasts(db, BroadcastSettings(home=Path("service.sqlite.broadcasts")))
    layer.recover()       # at start: resume what was RUNNING (after a crash or kill -9 too)
    b = layer.create("acme", BroadcastInput(
        settings={"name": "Reminders", "fromNumber": "+15555550100", "maxActive": 5},
        dialplan_xml=xml,          # or flow_id="flw_…" (flow_version), or settings["sounds"]
        recipients=[Recipient("+15555550111", {"first_name": "Ann", "sim_result": "LA"})],
    ), start=True)
    layer.get("acme", b.id)                 # Broadcast: status, settings as API fields, labels
    layer.find("acme", limit=20, offset=0)  # (broadcasts, total)
    layer.update("acme", b.id, {"maxActive": 10})
    layer.stop("acme", b.id); layer.start("acme", b.id); layer.archive("acme", b.id)
    layer.add_recipients("acme", b.id, [Recipient("+15555550112")], batch_name=None)
    layer.stats("acme", b.id)               # CallBroadcastStats fields (all integers)
    layer.calls("acme", b.id, CallFilter(states=frozenset({"FINISHED"})), 100, 0)
    layer.export("acme", b.id, "csv", out)  # or "json"; out is a text file
    layer.report_html("acme", b.id)         # the HTML report of ``broadcast report``
    snap = layer.progress("acme", b.id)     # ProgressSnapshot (to_json() for an SSE event)
    snap = layer.wait_progress("acme", b.id, after=snap.version, timeout=15)  # next change
    layer.close()         # at shutdown: runs drain and stop, resumed by recover()

Every method takes the caller's account: another account's broadcast is a 404 problem, exactly
as a missing one. Bad input raises :class:`~..problems.ProblemError` (422 naming the API field).

A broadcast is a campaign: its settings are a campaign file (``<home>/<id>/campaign.json``,
converted from the API fields by :mod:`.fields`), its dialplan ``dialplan.xml`` and its
recipients CSV files; the campaign itself (recipients, attempts, answers) is in one campaign
store shared by every broadcast (``<home>/campaigns.sqlite``, campaign ``broadcast-<id>``). The
store is reached through its interfaces (``dialplan.broadcast.store.interfaces`` and
:class:`.callrows.CallQueries`), so another backend can take its place. Runs happen in this
process (:mod:`.runs`) on the virtual or the real clock, with the simulated or the SIP driver.

With ``BroadcastSettings.store_dsn`` a ``postgresql://`` address, the campaigns are in that
PostgreSQL campaign store instead and this process never calls: start and stop arm and pause
the campaign, ``broadcast worker`` processes call (:mod:`.pgruns`), and a broadcast's status
follows its campaign's state there (FINISHED once a worker finished it).
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from ...broadcast.campaign import Campaign
from ...broadcast.progress import Progress
from ...broadcast.store.backend import is_postgres
from ...broadcast.store.sqlite import Store
from ...errors import CampaignError
from ..autoreplies import AccountAutoReplies
from ..problems import ProblemError
from ..sql import ServiceDatabase as Database
from ..storage import now
from . import fields, files
from .callrows import CallFilter, CallQueries, CallRow, SqliteCalls
from .runs import Runs
from .values import (
    STATS_FIELDS,
    TEXT_STATS_FIELDS,
    AddResult,
    Batch,
    Broadcast,
    BroadcastInput,
    BroadcastSettings,
    ProgressSnapshot,
    Recipient,
    batch_of_row,
    kind_of,
    snapshot_of,
)

if TYPE_CHECKING:
    from .pgruns import PgRuns


#: PostgreSQL: how often a progress stream looks at the store (s)
POLL_S = 0.5


def _not_found(broadcast_id: int, channel: str | None = None) -> ProblemError:
    """404 for a broadcast (``channel``: of that kind; ``None``: of any kind)."""
    kind = "" if channel is None else kind_of(channel) + " "
    return ProblemError(404, "not-found", f"no {kind}broadcast {broadcast_id}")


class Broadcasts:
    """The service's call broadcasts (see the module docstring)."""

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

    def view(self, channel: str) -> Broadcasts:
        """The same broadcasts, seen by the routes of one channel (``"voice"``: call
        broadcasts, ``"sms"``: text broadcasts): a broadcast of the other one is a 404."""
        seen = copy.copy(self)  # shares the runs, locks and versions
        seen.channel = channel
        return seen

    # -- life cycle -------------------------------------------------------------------------
    def recover(self) -> list[int]:
        """Start every broadcast whose status is RUNNING (a server that was stopped or killed
        resumes them; on PostgreSQL their campaigns are armed again, which workers calling
        them never notice, except one stopped that still drains); returns their ids."""
        with self.db.connect() as conn:
            ids = [
                int(r["id"])
                for r in conn.execute("SELECT id FROM broadcasts WHERE status = 'RUNNING'")
            ]
        if self.pg is not None:  # a stopped one still draining: it ends STOPPED, not resumed
            ids = [bid for bid in ids if not self._stopped_in_store(bid)]
        for bid in ids:
            self.runs.start(bid, self._file(bid))
        return ids

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

    def close(self) -> None:
        """Stop the runs of this process; their status stays RUNNING for :meth:`recover` (on
        PostgreSQL the workers go on calling)."""
        self.runs.close()

    # -- reading ----------------------------------------------------------------------------
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

    # -- creating and changing --------------------------------------------------------------
    def create(self, account: str, spec: BroadcastInput, *, start: bool = False) -> Broadcast:
        """A new broadcast (SETUP; RUNNING with ``start``). Its recipients become its first
        batch."""
        name = str(spec.settings.get("name") or "").strip()
        if not name:
            raise fields.invalid("name", "is required")
        xml, kept = self._dialplan(account, spec)
        if xml is not None and spec.settings.get("sounds") is not None:
            raise fields.invalid("sounds", "give dialplanXml, flowId or sounds, not two")
        if spec.channel == "sms":
            if xml is not None or spec.settings.get("sounds") is not None:
                raise fields.invalid("message", "a text broadcast sends a message only")
            if not spec.settings.get("message"):
                raise fields.invalid("message", "is required")
        elif xml is None and spec.settings.get("sounds") is None:
            raise fields.invalid(
                "dialplanXml", "a dialplan is required (dialplanXml, flowId or sounds)"
            )
        kept |= self._kept(spec.settings)
        staging = self.home / f"new-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            api = self._with_library_sounds(account, spec.settings)
            data = files.campaign_file(self.settings, 0, api, spec.channel, account)
            files.write_campaign(staging, data, xml)
            files.write_recipients(staging / "recipients.csv", spec.recipients, [], spec.channel)
            self._check(staging)
            created = now()
            with self.db.write() as conn:
                bid = int(
                    conn.execute(
                        "INSERT INTO broadcasts (account, name, status, kept, created_at,"
                        " modified_at) VALUES (?, ?, 'SETUP', ?, ?, ?) RETURNING id",
                        (account, name, json.dumps(kept), created, created),
                    ).fetchone()[0]
                )
            data["name"] = files.campaign_name(bid)
            files.write_json(staging / "campaign.json", data)
            staging.rename(self.home / str(bid))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        if spec.recipients:
            self.add_recipients(account, bid, spec.recipients, batch_name=name)
        if start:
            self.start(account, bid)
        return self.get(account, bid)

    def default_broadcast(self, account: str, spec: BroadcastInput) -> Broadcast:
        """The account's default broadcast named ``spec``'s name — where CallFire's ``sendTexts``
        without a ``campaignId`` sends — made from ``spec`` the first time (and again when the
        last one was archived). Renaming it makes it an ordinary broadcast."""
        name = str(spec.settings["name"])
        with self._defaults_lock:
            found, _ = self.find(account, name=name, limit=1_000_000)
            for b in sorted(found, key=lambda b: b.id):
                if b.kept.get("default") and b.name == name and b.status != "ARCHIVED":
                    return b
            made = self.create(account, spec)
            with self.db.write() as conn:
                conn.execute(
                    "UPDATE broadcasts SET kept = ? WHERE id = ?",
                    (json.dumps({**made.kept, "default": True}), made.id),
                )
        return self.get(account, made.id)

    def update(self, account: str, broadcast_id: int, spec: BroadcastInput) -> Broadcast:
        """Change settings (the fields given), the dialplan (``dialplan_xml``/``flow_id``) and
        add ``recipients``. A running broadcast is paused for it and resumes."""
        with self._paused(account, broadcast_id) as b:
            if b.status == "ARCHIVED":
                raise ProblemError(
                    409, "archived", f"{b.kind} broadcast {broadcast_id} is archived"
                )
            xml, kept_flow = self._dialplan(account, spec)
            if xml is not None and spec.settings.get("sounds") is not None:
                raise fields.invalid("sounds", "give dialplanXml, flowId or sounds, not two")
            data = self._campaign_data(broadcast_id)
            merged = {**fields.to_api(data), **spec.settings}
            hook = merged.get("webhook")
            if isinstance(hook, dict) and not hook.get("secret") and "webhook" in data:
                # a GET-modify-PUT round trip: the secret is never shown, so keep the stored one
                merged["webhook"] = {**hook, "secret": data["webhook"].get("secret")}
            if xml is not None:  # a dialplan instead of the sounds
                merged.pop("sounds", None)
            elif spec.settings.get("sounds") is None:
                merged.pop("sounds", None)  # unchanged: the stored table as it is (below)
            new = files.campaign_file(
                self.settings,
                broadcast_id,
                self._with_library_sounds(account, merged),
                str(data.get("channel", "voice")),
                account,
            )
            if xml is None and spec.settings.get("sounds") is None and "sounds" in data:
                new = files.with_sounds(new, data["sounds"])
            staging = self.home / f"upd-{uuid.uuid4().hex}"
            shutil.copytree(self.home / str(broadcast_id), staging)
            try:
                files.write_campaign(staging, new, xml)
                self._check(staging)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            files.write_campaign(self.home / str(broadcast_id), new, xml)
            kept = {**b.kept, **kept_flow, **self._kept(spec.settings, partial=True)}
            name = str(spec.settings.get("name") or b.name).strip() or b.name
            with self.db.write() as conn:
                conn.execute(
                    "UPDATE broadcasts SET name = ?, kept = ?, modified_at = ? WHERE id = ?",
                    (name, json.dumps(kept), now(), broadcast_id),
                )
            if b.campaign_id is not None:
                self._record_inputs(broadcast_id)
        if spec.recipients:
            self.add_recipients(account, broadcast_id, spec.recipients)
        self._bump(broadcast_id)
        return self.get(account, broadcast_id)

    def start(self, account: str, broadcast_id: int) -> Broadcast:
        """Start (or resume) calling. 409 when archived or without recipients."""
        with self._lock(broadcast_id):
            b = self.get(account, broadcast_id)
            if b.status == "ARCHIVED":
                raise ProblemError(
                    409, "archived", f"{b.kind} broadcast {broadcast_id} is archived"
                )
            if b.campaign_id is None:
                raise ProblemError(
                    409,
                    "no-recipients",
                    f"{b.kind} broadcast {broadcast_id} has no recipients yet; add some first",
                )
            self.runs.settle(broadcast_id)  # a run still draining ends first
            self._set_status(broadcast_id, "RUNNING", error=None)
            self.runs.start(broadcast_id, self._file(broadcast_id))
        return self.get(account, broadcast_id)

    def stop(self, account: str, broadcast_id: int) -> Broadcast:
        """Stop calling: no new call, the calls in flight end (hung up after ``drain_s``; on
        PostgreSQL after the workers' ``--drain-timeout``); the status stays RUNNING until
        they have, then STOPPED (the run's end sets it; on PostgreSQL the store's calls). A
        second stop while it drains ends the run at once (on PostgreSQL: reads STOPPED at
        once, the workers still book their calls). On the virtual clock the run stops at its
        next commit and this waits for it. ``start`` resumes."""
        with self._lock(broadcast_id):
            b = self.get(account, broadcast_id)
            running = self.runs.stop(broadcast_id, wait=self.runs.clock == "virtual")
            if b.status == "RUNNING" and not running:
                self._set_status(broadcast_id, "STOPPED")
            else:
                self._bump(broadcast_id)  # the phase is "stopping" while the calls end
        return self.get(account, broadcast_id)

    def archive(self, account: str, broadcast_id: int) -> Broadcast:
        """Stop it if running (draining, as :meth:`stop`) and archive it (read-only from then
        on)."""
        with self._lock(broadcast_id):
            self.get(account, broadcast_id)
            self._set_status(broadcast_id, "ARCHIVED")
            self.runs.stop(broadcast_id, wait=self.runs.clock == "virtual")
        return self.get(account, broadcast_id)

    def add_recipients(
        self,
        account: str,
        broadcast_id: int,
        recipients: Sequence[Recipient],
        *,
        batch_name: str | None = None,
        scrub_duplicates: bool = False,
    ) -> AddResult:
        """Add recipients as one batch. ``scrub_duplicates``: leave out numbers the broadcast
        already has and repeats within the batch; otherwise every row is added (the campaign's
        ``scrubDuplicates`` setting then books repeats ``DUP``)."""
        if not recipients:
            return AddResult(None, 0, 0)
        with self._paused(account, broadcast_id) as b:
            if b.status == "ARCHIVED":
                raise ProblemError(
                    409, "archived", f"{b.kind} broadcast {broadcast_id} is archived"
                )
            folder = self.home / str(broadcast_id)
            campaign = files.check(folder)
            if scrub_duplicates:
                recipients = files.unique(recipients, campaign)
            if b.campaign_id is None:
                files.write_recipients(folder / "recipients.csv", recipients, [], campaign.channel)
                first, last, skipped = 1, len(recipients), 0
                self._store_campaign(broadcast_id, files.check(folder))
            else:
                first, last, skipped = self._add_batch(
                    broadcast_id,
                    campaign,
                    folder,
                    recipients,
                    scrub_duplicates,
                    b.status == "RUNNING",
                )
            created = now()
            added = len(recipients) - skipped
            with self.db.write() as conn:
                batch_id = int(
                    conn.execute(
                        "INSERT INTO broadcast_batches (broadcast_id, name, first_row, last_row,"
                        " size, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                        (broadcast_id, batch_name or "", first, last, added, created),
                    ).fetchone()[0]
                )
                if not batch_name:
                    conn.execute(
                        "UPDATE broadcast_batches SET name = ? WHERE id = ?",
                        (f"batch {batch_id}", batch_id),
                    )
                conn.execute(
                    "UPDATE broadcasts SET modified_at = ? WHERE id = ?", (created, broadcast_id)
                )
        self._bump(broadcast_id)
        batch = self.batch(account, broadcast_id, batch_id)
        return AddResult(batch, added, skipped)

    def batches(
        self, account: str, broadcast_id: int, limit: int = 100, offset: int = 0
    ) -> tuple[list[Batch], int]:
        self.get(account, broadcast_id)
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT * FROM broadcast_batches WHERE broadcast_id = ? ORDER BY id",
                (broadcast_id,),
            ).fetchall()
        found = [batch_of_row(r) for r in rows]
        return found[offset : offset + limit], len(found)

    def batch(self, account: str, broadcast_id: int, batch_id: int) -> Batch:
        for b in self.batches(account, broadcast_id, 1_000_000)[0]:
            if b.id == batch_id:
                return b
        kind = "" if self.channel is None else kind_of(self.channel) + " "
        raise ProblemError(
            404, "not-found", f"no batch {batch_id} in {kind}broadcast {broadcast_id}"
        )

    # -- results ----------------------------------------------------------------------------
    def stats(self, account: str, broadcast_id: int) -> dict[str, int | float]:
        """CallFire's CallBroadcastStats (``responseRatePercent`` an integer, as there); a text
        broadcast's TextBroadcastStatsDto (``recievedCount``, as CallFire spells it)."""
        b = self.get(account, broadcast_id)
        names = TEXT_STATS_FIELDS if b.channel == "sms" else STATS_FIELDS
        out: dict[str, int | float] = dict.fromkeys(names, 0)
        out["billedAmount"] = 0.0
        if b.campaign_id is None:
            return out
        from ...broadcast.reporting.stats import campaign_stats

        with self._reader() as store:
            data = campaign_stats(store, files.campaign_name(broadcast_id))
        for key in names:
            out[key] = round(data.get(key) or 0)
        return out

    def calls(
        self,
        account: str,
        broadcast_id: int | None,
        where: CallFilter,
        limit: int = 100,
        offset: int = 0,
        batch_id: int | None = None,
    ) -> tuple[list[tuple[Broadcast, CallRow]], int]:
        """Calls (one per recipient) of one broadcast, or of all the account's broadcasts."""
        if batch_id is not None:
            owner = self._batch_owner(batch_id)
            if broadcast_id is not None and owner != broadcast_id:
                return [], 0
            if broadcast_id is None and not self._visible(account, owner):
                raise ProblemError(404, "not-found", f"no batch {batch_id}")
            broadcast_id = owner
        if broadcast_id is not None:
            found = [self.get(account, broadcast_id)]
        else:
            found = self.find(account, limit=1_000_000)[0]
        stored = [b for b in found if b.campaign_id is not None]
        out: list[tuple[Broadcast, CallRow]] = []
        total = 0
        if not stored:
            return [], 0
        if batch_id is not None:
            batch = self.batch(account, stored[0].id, batch_id)
            where = _with_rows(where, ((batch.first_row, batch.last_row),))
        with self._reader() as store:
            queries = self._calls(store)
            for b in sorted(stored, key=lambda x: x.id):
                assert b.campaign_id is not None
                rows, n = queries.calls(
                    b.campaign_id, where, max(0, limit - len(out)), max(0, offset - total)
                )
                total += n
                out.extend((b, r) for r in rows)
        return out, total

    def call(self, account: str, call_id: int) -> tuple[Broadcast, CallRow]:
        """One call (or text) by id (ids are unique across the service's broadcasts); 404
        naming the view's kind when the account has none of that id in this view."""
        missing = ProblemError(404, "not-found", f"no {kind_of(self.channel)} {call_id}")
        if self.pg is None and not self.store_path.is_file():
            raise missing
        with self._reader() as store:
            cid = self._calls(store).campaign_of(call_id)
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT id FROM broadcasts WHERE campaign_id = ? AND account = ?", (cid, account)
            ).fetchone()
        if cid is None or row is None or not self._visible(account, int(row["id"])):
            raise missing
        found, _ = self.calls(account, int(row["id"]), CallFilter(ids=frozenset({call_id})), 1)
        if not found:
            raise missing
        return found[0]

    def text_records(
        self, recipient_ids: Sequence[int]
    ) -> dict[tuple[int, int], tuple[str, str, int, str | None]]:
        """``(call id, attempt) → (message, encoding, segments, delivery)`` of text attempts."""
        if not recipient_ids or (self.pg is None and not self.store_path.is_file()):
            return {}
        with self._reader() as store:
            return {
                (int(t[0]), int(t[1])): (str(t[2]), str(t[3]), int(t[4]), t[5])
                for t in store.texts_of(list(recipient_ids))
            }

    def batch_of(self, broadcast_id: int, row_no: int) -> int | None:
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT id FROM broadcast_batches WHERE broadcast_id = ? AND ? BETWEEN first_row"
                " AND last_row ORDER BY id DESC LIMIT 1",
                (broadcast_id, row_no),
            ).fetchone()
        return None if row is None else int(row["id"])

    def export(self, account: str, broadcast_id: int, fmt: str, out: TextIO) -> None:
        """The per-recipient export of ``broadcast export`` (``csv`` or ``json``) into ``out``."""
        from ...broadcast.reporting.stats import write_csv, write_json

        b = self.get(account, broadcast_id)
        if b.campaign_id is None:
            out.write("[]\n" if fmt == "json" else "")
            return
        with self._reader() as store:
            (write_json if fmt == "json" else write_csv)(
                store, files.campaign_name(broadcast_id), out
            )

    def dialplan_xml(self, account: str, broadcast_id: int) -> str | None:
        """The broadcast's dialplan as it runs (from ``dialplanXml`` or its flow); ``None`` for
        a sound broadcast (its dialplan is generated from ``sounds``)."""
        self.get(account, broadcast_id)
        if "sounds" in self._campaign_data(broadcast_id):
            return None
        return (self.home / str(broadcast_id) / "dialplan.xml").read_text("utf-8")

    def report_html(self, account: str, broadcast_id: int) -> str:
        """The HTML report of ``broadcast report`` for this broadcast."""
        from ...broadcast.reporting.data import report_data
        from ...broadcast.reporting.report import render_report

        b = self.get(account, broadcast_id)
        if b.campaign_id is None:
            raise ProblemError(409, "no-recipients", f"{b.kind} broadcast {broadcast_id} is empty")
        with self._reader() as store:
            return render_report(report_data(store, files.campaign_name(broadcast_id)))

    def progress(self, account: str, broadcast_id: int) -> ProgressSnapshot:
        """Where the broadcast stands now."""
        b = self.get(account, broadcast_id)
        version = self._versions.get(broadcast_id, 0)
        live = self.runs.progress(broadcast_id)  # PostgreSQL: always None (workers call)
        if live is not None and b.status == "RUNNING":
            return snapshot_of(b, live, version)
        results: dict[str, int] = {}
        total = 0
        if b.campaign_id is not None:
            with self._reader() as store:
                for result, n in store.counts_by(b.campaign_id, "final_result").items():
                    total += n
                    if result is not None:
                        results[result] = n
        phase = {"RUNNING": "calling", "FINISHED": "finished"}.get(b.status, b.status.lower())
        if b.status == "RUNNING" and self._stopped_in_store(b.id):
            phase = "stopping"  # stopped on PostgreSQL: the workers' calls in flight end
        done = sum(results.values())
        if self.pg is not None:  # the store changes without this process: its count moves on
            version += done
        virtual = self.runs.clock == "virtual"
        return ProgressSnapshot(
            b.id, b.status, phase, done, total, results, 0, None, virtual, None, None, version
        )

    def wait_progress(
        self, account: str, broadcast_id: int, after: int, timeout: float = 15.0
    ) -> ProgressSnapshot:
        """The next snapshot whose version is above ``after`` (or the current one after
        ``timeout`` seconds): a server-sent-events loop calls this on a worker thread."""
        self.get(account, broadcast_id)
        if self.pg is not None:  # poll the store: one count every POLL_S while someone looks
            deadline = time.monotonic() + timeout
            while True:
                snap = self.progress(account, broadcast_id)
                left = deadline - time.monotonic()
                if snap.version > after or left <= 0:
                    return snap
                with self._changed:
                    self._changed.wait(min(POLL_S, left))
        with self._changed:
            self._changed.wait_for(lambda: self._versions.get(broadcast_id, 0) > after, timeout)
        return self.progress(account, broadcast_id)

    # -- internals --------------------------------------------------------------------------
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

    @contextmanager
    def _paused(self, account: str, broadcast_id: int) -> Iterator[Broadcast]:
        """The broadcast with its run stopped meanwhile (restarted after, if it ran). On
        PostgreSQL the workers go on calling; a running campaign is armed again after, which
        retunes its dial gate to changed settings."""
        with self._lock(broadcast_id):
            b = self.get(account, broadcast_id)
            was_running = self.runs.running(broadcast_id)
            if was_running:
                self.runs.stop(
                    broadcast_id, wait=True
                )  # SQLite: drains, the calls in flight end first
            rearm = was_running or (
                self.pg is not None
                and b.status == "RUNNING"
                and not self._stopped_in_store(broadcast_id)  # stopped, still draining
            )
            try:
                yield b
            finally:
                if rearm and self.get(account, broadcast_id).status == "RUNNING":
                    self.runs.start(broadcast_id, self._file(broadcast_id))

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

    def _kept(self, api: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        retry = api.get("retryConfig") or {}
        if not partial or retry.get("retryPhoneTypes") is not None:
            out["retryPhoneTypes"] = retry.get("retryPhoneTypes")
        return out

    def _with_library_sounds(self, account: str, api: Mapping[str, Any]) -> dict[str, Any]:
        """``api`` with each ``sounds.…SoundId`` (a sound of the account's library) replaced by
        the name of its copy in the campaign store's library, copied there once (the runtime
        plays sounds from the campaign store; another account's ids are not found)."""
        from ...sounds.library import SoundLibrary, SoundLibraryError

        sounds = api.get("sounds")
        refs = {k: v for k, v in (sounds or {}).items() if k.endswith("SoundId") and v is not None}
        if not refs:
            return dict(api)
        assert sounds is not None
        where = self.settings.sound_library
        tag = "acct" + hashlib.sha256(account.encode("utf-8")).hexdigest()[:12]
        out = dict(sounds)
        try:
            own = where(account) if where is not None else None
        except SoundLibraryError:
            own = None
        try:
            with SoundLibrary(self._store_library()) as shared:
                for key, ref in refs.items():
                    sound = own.find(int(ref)) if own is not None else None
                    if sound is None or own is None:
                        raise fields.invalid(
                            f"sounds.{key}",
                            f"no sound {ref} in the account's library (/v2/campaigns/sounds)",
                        )
                    name = fields.library_sound_name(f"{tag}-{sound.sha256[:12]}", sound.id)
                    shared.add_copy(sound, own.audio(sound.id), name)
                    out[key] = name
        finally:
            if own is not None:
                own.close()
        return {**api, "sounds": out}

    def _store_library(self) -> str | Path:
        """Where the campaign store's own sound library is (what the runtime plays): the
        PostgreSQL database, shared with the workers, or the SQLite store."""
        return (
            self.settings.store_dsn
            if self.pg is not None and self.settings.store_dsn
            else self.store_path
        )

    def _check(self, folder: Path) -> Campaign:
        """The folder's campaign, validated; a sound broadcast's generated dialplan too."""
        from ...broadcast.service import load_dialplan
        from ...sounds.library import library_names

        campaign = files.check(folder)
        if campaign.sounds is not None:
            try:
                load_dialplan(campaign, library_names(self._store_library()) or set())
            except CampaignError as exc:
                raise fields.campaign_problem(str(exc)) from None
        return campaign

    def _dialplan(self, account: str, spec: BroadcastInput) -> tuple[str | None, dict[str, Any]]:
        """The dialplan XML of ``spec`` (checked by the linter) and what to keep about it."""
        from ..flowstore import checked_findings, get_version

        if spec.dialplan_xml is not None and spec.flow_id is not None:
            raise fields.invalid("flowId", "give either dialplanXml or flowId, not both")
        if spec.flow_id is not None:
            v = get_version(self.db, account, spec.flow_id, spec.flow_version)
            if v.format != "xml":
                raise fields.invalid("flowId", f"flow {spec.flow_id} is not an XML dialplan")
            return v.source, {"flowId": v.flow_id, "flowVersion": v.version}
        if spec.dialplan_xml is not None:
            checked_findings("dialplanXml", spec.dialplan_xml)
            return spec.dialplan_xml, {"flowId": None, "flowVersion": None}
        return None, {}

    def _store_campaign(self, broadcast_id: int, campaign: Campaign) -> None:
        """Store the campaign and load its first recipients (the runtime's own loader)."""
        from ...broadcast.service import leased, open_campaign, prepare

        try:
            if self.pg is not None:
                row = self.pg.load(campaign)
            else:
                with leased(self.store_path, campaign.name, wait=True) as store:
                    row, _ = open_campaign(store, campaign, self.runs.clock == "virtual")
                    row = prepare(store, campaign, row)
        except CampaignError as exc:
            raise fields.campaign_problem(str(exc)) from None
        with self.db.write() as conn:
            conn.execute(
                "UPDATE broadcasts SET campaign_id = ? WHERE id = ?", (row.id, broadcast_id)
            )

    def _add_batch(
        self,
        broadcast_id: int,
        campaign: Campaign,
        folder: Path,
        recipients: Sequence[Recipient],
        skip_known: bool,
        running: bool,
    ) -> tuple[int, int, int]:
        """Add a batch to the stored campaign; returns (first row, last row, skipped)."""
        from ...broadcast.adding import add_recipients

        with self._reader() as store:
            row = store.campaign(campaign.name)
            assert row is not None
            columns = list(row.dispatch.get("columns", []))
            before = self._calls(store).last_row_no(row.id)
        path = folder / f"batch-{uuid.uuid4().hex[:12]}.csv"
        header = files.write_recipients(path, recipients, columns, campaign.channel)
        if header != columns:  # new attributes: new columns at the end (letters keep meaning)
            with self._held(campaign.name) as store:
                row = store.campaign(campaign.name)
                assert row is not None
                store.begin()
                store.update_campaign(row.id, dispatch={**row.dispatch, "columns": header})
                store.commit()
        # on PostgreSQL a finished campaign given new people is called at once only if its
        # broadcast is running (workers call whatever is ``running``)
        reopen = "running" if self.pg is None or running else "paused"
        try:
            report = add_recipients(
                campaign,
                path,
                self.pg.dsn if self.pg is not None else self.store_path,
                wait=True,
                skip_known=skip_known,
                reopen=reopen,
            )
        except CampaignError as exc:
            raise fields.campaign_problem(str(exc)) from None
        with self._reader() as store:
            after = self._calls(store).last_row_no(row.id)
        return before + 1, after, report.already

    def _record_inputs(self, broadcast_id: int) -> None:
        """The changed settings or dialplan become inputs the stored campaign accepts."""
        from ...broadcast.fingerprint import current_inputs

        campaign = files.check(self.home / str(broadcast_id))
        with self._held(campaign.name) as store:
            row = store.campaign(campaign.name)
            assert row is not None
            store.begin()
            if self.pg is not None:  # before the fingerprint a worker reloads its job on
                from ...broadcast.pg.sources import save_source

                save_source(cast(Any, store).db, row.id, campaign)
            store.record_inputs(row.id, current_inputs(campaign))
            store.commit()

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

    def _batch_owner(self, batch_id: int) -> int:
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT broadcast_id FROM broadcast_batches WHERE id = ?", (batch_id,)
            ).fetchone()
        return -1 if row is None else int(row["broadcast_id"])


def _with_rows(where: CallFilter, rows: tuple[tuple[int, int], ...]) -> CallFilter:
    return CallFilter(where.states, where.results, rows, where.ids, where.to_number)
