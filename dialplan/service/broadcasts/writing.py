"""The broadcast layer's write side: create, update, start, stop, archive, add recipients."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ..problems import ProblemError
from ..storage import now
from . import fields, files
from .reading import BroadcastReading
from .storing import BroadcastStoring
from .values import AddResult, Broadcast, BroadcastInput, Recipient


class BroadcastWriting(BroadcastStoring, BroadcastReading):
    """Making and changing broadcasts, and starting and stopping their runs (see
    :mod:`.layer`)."""

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
