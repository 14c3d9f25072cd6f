"""A broadcast's files: its campaign file (from API fields), its dialplan and recipient CSVs.

``<home>/<id>/campaign.json`` is an ordinary campaign file (``dialplan broadcast run`` reads it),
``dialplan.xml`` its dialplan, ``recipients.csv`` its first recipients and ``batch-*.csv`` the
ones added later; the columns are ``phone_number``, ``sim_result``, ``sim_inputs``, then the
attributes in the order they first appeared.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...broadcast.campaign import Campaign, load_campaign
from ...errors import CampaignError
from . import fields
from .values import BroadcastSettings, Recipient

PHONE = "phone_number"
SPECIAL = ("sim_result", "sim_inputs")


def campaign_name(broadcast_id: int) -> str:
    """The broadcast's campaign in the campaign store."""
    return f"broadcast-{broadcast_id}"


def campaign_file(
    settings: BroadcastSettings,
    broadcast_id: int,
    api: Mapping[str, Any],
    channel: str = "voice",
    account: str | None = None,
) -> dict[str, Any]:
    """The campaign file of API fields (the service adds the file names, its own network and
    SIP settings, and the account as the DNC scope: numbers put on the do-not-call list by
    one account's calls never reach another's broadcasts); ``channel="sms"``: a text
    campaign (no dialplan)."""
    data: dict[str, Any] = {
        "name": campaign_name(broadcast_id),
        "dialplan": "dialplan.xml",
        "recipients": "recipients.csv",
        "phone_column": PHONE,
        **fields.to_campaign(api),
    }
    if account is not None:
        data["dnc_scope"] = account
    if "sounds" in data:  # a sound broadcast: its dialplan is generated from ``[sounds]``
        del data["dialplan"]
    if channel == "sms":  # a text broadcast sends ``message``
        del data["dialplan"]
        data["channel"] = "sms"
    if settings.allow_private:
        data["network"] = {"allow_private": True}
    if settings.sip:
        data["sip"] = dict(settings.sip)
    return data


def with_sounds(data: Mapping[str, Any], sounds: Mapping[str, Any]) -> dict[str, Any]:
    """A campaign file playing the ``[sounds]`` table ``sounds`` (as stored) instead of a
    dialplan."""
    out = {k: v for k, v in data.items() if k != "dialplan"}
    out["sounds"] = dict(sounds)
    return out


def write_campaign(folder: Path, data: Mapping[str, Any], xml: str | None) -> None:
    write_json(folder / "campaign.json", data)
    if xml is not None:
        (folder / "dialplan.xml").write_text(xml, "utf-8")


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), "utf-8")
    tmp.replace(path)


def write_recipients(
    path: Path, recipients: Sequence[Recipient], columns: Sequence[str], channel: str = "voice"
) -> list[str]:
    """A recipients CSV: the phone column, ``sim_result``/``sim_inputs``, then the
    attributes (``columns`` first, in their order); returns the header."""
    header = list(columns) or [PHONE, *SPECIAL]
    for i, r in enumerate(recipients):
        where = f"recipients[{i}]"
        if not r.phone_number.strip():
            raise fields.invalid(f"{where}.phoneNumber", "is required")
        if "\0" in r.phone_number:
            raise fields.invalid(f"{where}.phoneNumber", "must not contain NUL characters")
        for key, value in r.attributes.items():
            if key == PHONE or not key.strip() or key != key.strip() or "\0" in key:
                raise fields.invalid(f"{where}.attributes.{key}", "is not a usable name")
            if "\0" in value:
                raise fields.invalid(f"{where}.attributes.{key}", "must not contain NUL")
            if key not in header:
                header.append(key)
        fields.check_sim_attributes(r.attributes, where, channel)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for r in recipients:
            values = {PHONE: r.phone_number, **r.attributes}
            writer.writerow([values.get(h, "") for h in header])
    return header


def check(folder: Path) -> Campaign:
    """The folder's campaign file, validated (a 422 naming the API field otherwise)."""
    try:
        return load_campaign(folder / "campaign.json")
    except CampaignError as exc:
        raise fields.campaign_problem(str(exc)) from None


def unique(recipients: Sequence[Recipient], campaign: Campaign) -> list[Recipient]:
    """The first recipient of each number (as normalised; as written when invalid)."""
    from ...broadcast.phones import Normalizer

    normalize = Normalizer(campaign.default_region)
    seen: set[str] = set()
    out = []
    for r in recipients:
        key = normalize(r.phone_number).e164 or "raw:" + r.phone_number.strip()
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out
