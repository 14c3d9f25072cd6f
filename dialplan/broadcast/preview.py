"""A dry run: the whole campaign in virtual time on a throw-away database, without webhooks.

Tells how long the campaign will take, how many recipients are skipped and why (DNC,
duplicate, invalid, country, window), and what a sample of recipients would hear.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

from .campaign import Campaign, split_inputs
from .loader import column_letter
from .reporting.stats import campaign_stats
from .service import check_webhook_url, default_runner, run_campaign
from .skipped import SkipReasons
from .store.sqlite import Store
from .telephony.port import CallRunner, CallSpec
from .webhooks.events import iso

SKIP_REASONS = {
    "DNC": "dnc",
    "DUP": "duplicate",
    "INVALID": "invalid",
    "SKIPPED": "country",
    "UNDIALED": "window",
}


def preview_campaign(
    campaign: Campaign,
    runner: CallRunner | None = None,
    sample: int = 3,
    skipped_rows: int | None = 20,
) -> dict[str, Any]:
    """The dry run's figures; ``skipped_rows`` caps the listed skipped rows (``None``: all)."""
    if campaign.webhook is not None:
        check_webhook_url(campaign)  # what `run` would refuse, the dry run refuses too
    if campaign.channel == "sms":
        from .text_preview import preview_texts

        return preview_texts(campaign, sample, skipped_rows)
    runner = runner or default_runner(campaign)
    dry = dataclasses.replace(campaign, webhook=None)
    with tempfile.TemporaryDirectory(prefix="dialplan-preview-") as tmp:
        db = Path(tmp) / "preview.sqlite"
        report = run_campaign(dry, db, runner=runner, deliver=False)
        store = Store(db)
        try:
            stats = campaign_stats(store, campaign.name)
            row = store.campaign(campaign.name)
            assert row is not None
            finals = store.counts_by(row.id, "final_result")
            skipped = {reason: finals.get(code, 0) for code, reason in SKIP_REASONS.items()}
            first_last = store.attempt_stats(row.id)
            reasons = SkipReasons(store, row)
            skipped_list = [dataclasses.asdict(s) for s in reasons.rows(skipped_rows)]
            skipped_total = reasons.count()
            columns = list(row.dispatch.get("columns", []))
            samples: list[dict[str, Any]] = []
            for item in store.iter_export(row.id):
                if len(samples) >= sample:
                    break
                if item["bucket"] != "call_initiated":
                    continue
                contact = dict(item["attributes"])
                for i, col in enumerate(columns):
                    contact[column_letter(i)] = contact.get(col, item["e164"] or "")
                sim_inputs = store.db.execute(
                    "SELECT sim_inputs FROM recipients WHERE id = ?", (item["id"],)
                ).fetchone()[0]
                inputs = split_inputs(sim_inputs) if sim_inputs else ()
                paths = {}
                for amd in ("live", "machine"):
                    summary = runner(
                        CallSpec(
                            amd,
                            inputs if amd == "live" else (),
                            contact,
                            {
                                "call.phonenumber": item["e164"] or "",
                                "call.callerid": campaign.from_number,
                            },
                            report.started_at,
                        )
                    )
                    paths[amd] = [text for _, text in summary.prompts]
                samples.append(
                    {
                        "phone_number": item["phone_number"],
                        "inputs": list(inputs),
                        "live": paths["live"],
                        "machine": paths["machine"],
                    }
                )
        finally:
            store.close()
    first, last = first_last["first"], first_last["last"]
    return {
        "campaign": campaign.name,
        "recipients": stats["totalCount"],
        "to_call": stats["totalCount"] - sum(skipped.values()),
        "skipped": skipped,
        "skipped_rows": skipped_list,
        "skipped_rows_total": skipped_total,
        "calls_placed": stats["callsPlaced"],
        "first_call_at": iso(round(first * 1000)) if first else None,
        "last_call_end_at": iso(round(last * 1000)) if last else None,
        "duration_s": round(last - first, 3) if first and last else 0.0,
        "expected_stats": stats,
        "samples": samples,
    }


def preview_text(p: dict[str, Any]) -> str:
    if "longest" in p:
        from .text_preview import text_preview_text

        return text_preview_text(p)
    hours = p["duration_s"] / 3600
    lines = [
        f"campaign {p['campaign']}: {p['recipients']} recipients, {p['to_call']} to call",
        "skipped: " + ", ".join(f"{k} {v}" for k, v in p["skipped"].items()),
        *(f"  row {s['row']}: {s['phone_number']!r}: {s['reason']}" for s in p["skipped_rows"]),
        *(
            [
                f"  … and {more} more skipped rows"
                " (all of them: broadcast export, column skip_reason)"
            ]
            if (more := p["skipped_rows_total"] - len(p["skipped_rows"])) > 0
            else []
        ),
        f"calls placed: {p['calls_placed']}",
        f"calling from {p['first_call_at']} to {p['last_call_end_at']}"
        f" ({hours:.1f} h of calendar time)",
        "",
    ]
    for s in p["samples"]:
        lines.append(f"{s['phone_number']} (inputs: {';'.join(s['inputs']) or 'none'})")
        for path in ("live", "machine"):
            for text in s[path]:
                lines.append(f"  [{path}] {' '.join(text.split())}")
    return "\n".join(lines) + "\n"


def preview_json(p: dict[str, Any]) -> str:
    return json.dumps(p, indent=2, ensure_ascii=False) + "\n"
