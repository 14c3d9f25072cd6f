"""The campaigns of a database (``broadcast list``), and campaign arguments given as files."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import CampaignError
from .campaign import read_campaign_data
from .store.sqlite import Store
from .webhooks.events import iso

CAMPAIGN_SUFFIXES = (".toml", ".json")


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    name: str
    status: str  # loading | running | finished
    recipients: int
    done: int  # recipients with a final result
    remaining: int
    calls_placed: int
    created: str | None  # ISO 8601 UTC (the first run's start for older databases)
    #: the campaign file's ``labels`` (CallFire's broadcast labels: tags for the operator)
    labels: tuple[str, ...] = ()


def campaign_summaries(store: Store) -> list[CampaignSummary]:
    """Every campaign of the database, oldest first."""
    out = []
    for _cid, name, state, config, started_at, total, remaining, calls in store.campaign_overview():
        created = config.get("created_at", started_at)
        labels = (config.get("raw") or {}).get("labels") or []
        out.append(
            CampaignSummary(
                name,
                state,
                total,
                total - remaining,
                remaining,
                calls,
                iso(round(created * 1000)) if created is not None else None,
                tuple(str(label) for label in labels if isinstance(label, str)),
            )
        )
    return out


def summaries_text(summaries: list[CampaignSummary], db: str) -> str:
    if not summaries:
        return f"no campaigns in {db}\n"
    header: tuple[str, ...] = ("name", "status", "recipients", "done", "remaining", "calls")
    header += ("created",)
    rows = [
        (s.name, s.status, *map(str, counts), s.created or "-")
        for s in summaries
        for counts in [(s.recipients, s.done, s.remaining, s.calls_placed)]
    ]
    if any(s.labels for s in summaries):  # a column only when some campaign has labels
        header += ("labels",)
        rows = [(*r, ",".join(s.labels) or "-") for r, s in zip(rows, summaries, strict=True)]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    head = "  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()
    return "\n".join([head, *lines]) + "\n"


def summaries_json(summaries: list[CampaignSummary]) -> str:
    return json.dumps([asdict(s) for s in summaries], indent=2, ensure_ascii=False) + "\n"


def campaign_name(arg: str) -> str:
    """``arg`` itself, or the ``name`` of the campaign file ``arg`` (``.toml``/``.json``)."""
    path = Path(arg)
    if path.suffix.lower() not in CAMPAIGN_SUFFIXES or not path.is_file():
        return arg
    name = read_campaign_data(path).get("name")
    if not isinstance(name, str) or not name.strip():
        raise CampaignError(f"{path}: name: is required (a non-empty string)")
    return name.strip()
