"""Fingerprints of a campaign's inputs, so that a resumed run calls what the first run loaded.

When a campaign is first stored, the sha256 of its recipients file, of its dialplan and of its
settings (the campaign file's values, less the two file names whose contents are fingerprinted
instead) are recorded with it. A later run under the same name and database must bring the
same inputs; a recipients file added with ``broadcast add`` is recorded too, so the campaign's
file may then be that one.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from ..errors import CampaignError
from .campaign import Campaign
from .store.sqlite import CampaignRow, InputRow, Store

#: campaign-file keys whose *contents* are fingerprinted rather than their names
FILE_KEYS = ("dialplan", "recipients")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise CampaignError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return digest.hexdigest()


def settings_of(raw: dict[str, Any]) -> dict[str, Any]:
    """The settings that decide who is called and how: the campaign file less the file names."""
    plain: dict[str, Any] = json.loads(json.dumps(raw, sort_keys=True, default=str))
    return {k: v for k, v in plain.items() if k not in FILE_KEYS}


def settings_sha256(raw: dict[str, Any]) -> str:
    text = json.dumps(settings_of(raw), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def current_inputs(campaign: Campaign, now: float | None = None) -> list[InputRow]:
    at = time.time() if now is None else now
    rows = [
        InputRow("recipients", file_sha256(campaign.recipients), str(campaign.recipients), at),
        _dialplan_input(campaign, at),
        InputRow("settings", settings_sha256(campaign.raw), str(campaign.path), at),
    ]
    if campaign.channel == "sms":  # a text campaign has no dialplan (its message is a setting)
        del rows[1]
    return rows


def _dialplan_input(campaign: Campaign, at: float) -> InputRow:
    """The dialplan file's fingerprint; a message campaign's generated dialplan's."""
    if campaign.dialplan is not None:
        return InputRow("dialplan", file_sha256(campaign.dialplan), str(campaign.dialplan), at)
    from .sounds_campaign import generated_dialplan

    xml = generated_dialplan(campaign).encode("utf-8")
    return InputRow("dialplan", hashlib.sha256(xml).hexdigest(), f"{campaign.path} [sounds]", at)


def changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted names of the values that differ (tables one level deep, then whole values)."""
    if isinstance(old, dict) and isinstance(new, dict) and not prefix.count("."):
        keys = sorted(set(old) | set(new))
        out: list[str] = []
        for k in keys:
            if old.get(k) != new.get(k):
                name = f"{prefix}{k}"
                both = isinstance(old.get(k), dict) and isinstance(new.get(k), dict)
                out.extend(changed_keys(old[k], new[k], f"{name}.") if both else [name])
        return out
    return [prefix.rstrip(".")] if old != new else []


def check_inputs(
    store: Store, row: CampaignRow, campaign: Campaign, *, recipients: bool = True
) -> list[InputRow]:
    """Refuse ``campaign`` if its inputs differ from those stored with ``row``; returns the
    current fingerprints. A campaign stored before fingerprints existed gets them now."""
    now_inputs = current_inputs(campaign)
    stored = store.inputs(row.id)
    if not stored:
        store.begin()
        store.record_inputs(row.id, now_inputs)
        store.commit()
        return now_inputs
    known: dict[str, list[InputRow]] = {}
    for item in stored:
        known.setdefault(item.kind, []).append(item)
    problems = []
    for item in now_inputs:
        if item.kind == "recipients" and not recipients:
            continue
        before = known.get(item.kind, [])
        if not before or any(b.sha256 == item.sha256 for b in before):
            continue
        first = before[0]
        if item.kind == "settings":
            keys = changed_keys(settings_of(row.config.get("raw", {})), settings_of(campaign.raw))
            problems.append(f"settings changed ({', '.join(keys) or 'the campaign file'})")
        else:
            what = "recipients file" if item.kind == "recipients" else "dialplan"
            problems.append(
                f"the {what} changed (stored: {first.path}, sha256 {first.sha256[:12]}…;"
                f" now: {item.path}, sha256 {item.sha256[:12]}…)"
            )
    if problems:
        hint = (
            "; add recipients with `dialplan broadcast add`"
            if any(p.startswith("the recipients") for p in problems)
            else ""
        )
        raise CampaignError(
            f"{campaign.path}: campaign {campaign.name!r} in {store.path} was started with other"
            f" inputs: {'; '.join(problems)}{hint}; or use another --db or campaign name"
        )
    return now_inputs
