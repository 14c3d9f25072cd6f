"""The dry run of a text campaign: what would be sent, and the longest message, segment by
segment (so an operator sees what a long ``${contact.*}`` value costs before sending)."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from ..messaging.encoding import Segmented, units
from .campaign import Campaign
from .loader import column_letter
from .reporting.stats import campaign_stats
from .service import run_campaign
from .skipped import SkipReasons
from .store.sqlite import Store
from .telephony.texts import TextCampaignDriver
from .webhooks.events import iso


class _NoBook:
    """The dry run books nothing outside its throw-away database."""

    def opted_out(self, from_number: str) -> set[str]:
        return set()


def preview_texts(campaign: Campaign, sample: int, skipped_rows: int | None) -> dict[str, Any]:
    dry = dataclasses.replace(campaign, webhook=None)
    with tempfile.TemporaryDirectory(prefix="dialplan-preview-") as tmp:
        db = Path(tmp) / "preview.sqlite"
        run_campaign(dry, db, deliver=False)
        store = Store(db)
        try:
            stats = campaign_stats(store, campaign.name)
            row = store.campaign(campaign.name)
            assert row is not None
            reasons = SkipReasons(store, row)
            skipped_list = [dataclasses.asdict(s) for s in reasons.rows(skipped_rows)]
            skipped_total = reasons.count()
            columns = list(row.dispatch.get("columns", []))
            first_last = store.attempt_stats(row.id)
            driver = TextCampaignDriver(campaign, _NoPort(), _NoBook())  # type: ignore[arg-type]
            longest: tuple[tuple[int, int], dict[str, Any], Segmented] | None = None
            samples: list[dict[str, Any]] = []
            row_no = 0
            for item in store.iter_export(row.id):
                row_no += 1
                if item["bucket"] != "call_initiated":
                    continue
                contact = dict(item["attributes"])
                for i, col in enumerate(columns):
                    contact[column_letter(i)] = contact.get(col, item["e164"] or "")
                text = driver.message_for(contact)
                key = (text.count, units(text.text, text.encoding))
                if longest is None or key > longest[0]:
                    longest = (key, {"row": row_no, "phone_number": item["phone_number"]}, text)
                if len(samples) < sample:
                    samples.append({"phone_number": item["phone_number"], **_describe(text)})
        finally:
            store.close()
    first, last = first_last["first"], first_last["last"]
    return {
        "campaign": campaign.name,
        "channel": "sms",
        "recipients": stats["totalCount"],
        "to_text": stats["sentCount"] + stats["errorCount"] + stats["tooBigCount"],
        "big_message_strategy": campaign.text.big_message_strategy if campaign.text else "",
        "skipped_rows": skipped_list,
        "skipped_rows_total": skipped_total,
        "segments": stats["segmentsCount"],
        "first_text_at": iso(round(first * 1000)) if first else None,
        "last_text_at": iso(round(last * 1000)) if last else None,
        "expected_stats": stats,
        "longest": None if longest is None else {**longest[1], **_describe(longest[2])},
        "samples": samples,
    }


class _NoPort:
    name = "preview"
    clocks = frozenset({"virtual"})


def _describe(text: Segmented) -> dict[str, Any]:
    return {
        "message": text.text,
        "encoding": text.encoding,
        "units": text.units,
        "segments": list(text.parts),
    }


def text_preview_text(p: dict[str, Any]) -> str:
    lines = [
        f"campaign {p['campaign']} (text): {p['recipients']} recipients,"
        f" {p['segments']} segments to send",
        *(f"  row {s['row']}: {s['phone_number']!r}: {s['reason']}" for s in p["skipped_rows"]),
        f"texting from {p['first_text_at']} to {p['last_text_at']}",
    ]
    if (longest := p["longest"]) is not None:
        unit = "septets" if longest["encoding"] == "GSM7" else "UTF-16 units"
        n = len(longest["segments"])
        lines.append(
            f"longest message: row {longest['row']} ({longest['phone_number']}):"
            f" {longest['units']} {unit}, {longest['encoding']}, {n} segment{'s' * (n != 1)}"
            + (f" ({p['big_message_strategy']})" if n > 1 else "")
        )
        for i, part in enumerate(longest["segments"], start=1):
            lines.append(f"  [{i}/{n}] {part}")
    lines.append("")
    for s in p["samples"]:
        n = len(s["segments"])
        lines.append(f"{s['phone_number']} ({s['encoding']}, {n} segment{'s' * (n != 1)})")
        lines.append(f"  {s['message']}")
    return "\n".join(lines) + "\n"
