"""What a change of a broadcast writes: its input checked (dialplan, library sounds, campaign
folder) and its campaign, batches and new inputs put in the campaign store."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from ...broadcast.campaign import Campaign
from ...errors import CampaignError
from . import fields, files
from .core import BroadcastsCore
from .values import BroadcastInput, Recipient


class BroadcastStoring(BroadcastsCore):
    """The checks and campaign-store writes behind :class:`.writing.BroadcastWriting`."""

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
