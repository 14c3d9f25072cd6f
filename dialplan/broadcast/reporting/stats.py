"""Campaign statistics with CallFire's CallBroadcastStats names, and the per-recipient export.

The counts add up: ``liveCount + answeringMachineCount + busyCount + noAnswerCount +
doNotCallCount + errorCount + miscCount + callsRemaining == totalCount`` (every recipient is
counted once, by its final result; ``callsRemaining`` are those without one yet).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from ...errors import UsageError
from ..skipped import SkipReasons
from ..store.sqlite import CampaignRow, Store
from ..webhooks.undelivered import undelivered, undelivered_text
from .csvsafe import neutralise_row
from .text_stats import DESCRIPTIONS as TEXT_DESCRIPTIONS
from .text_stats import is_text, text_stats, with_texts

#: final result → the CallBroadcastStats counter it is counted in
COUNTER = {
    "LA": "liveCount",
    "XFER": "liveCount",
    "AM": "answeringMachineCount",
    "BUSY": "busyCount",
    "NO_ANS": "noAnswerCount",
    "DNC": "doNotCallCount",
    "CARRIER_ERROR": "errorCount",
    "INVALID": "errorCount",
    "INTERNAL_ERROR": "errorCount",  # the runner was lost during the call
}
#: every other final result (DUP, SKIPPED, UNDIALED) is counted in miscCount


def find_campaign(store: Store, name: str) -> CampaignRow:
    row = store.campaign(name)
    if row is None:
        names = ", ".join(store.campaign_names()) or "none"
        raise UsageError(f"no campaign {name!r} in {store.path} (campaigns: {names})")
    return row


def campaign_stats(store: Store, name: str) -> dict[str, Any]:
    row = find_campaign(store, name)
    if is_text(row):
        return text_stats(store, row, undelivered(store, row.broadcast_id).count)
    c = store.stat_counts(row.id)  # O(1): counters kept by the store (not COUNT queries)
    finals = c.finals
    total = sum(finals.values())
    counts = dict.fromkeys(
        (
            "liveCount",
            "answeringMachineCount",
            "busyCount",
            "noAnswerCount",
            "doNotCallCount",
            "errorCount",
            "miscCount",
        ),
        0,
    )
    for result, n in finals.items():
        if result is None:
            continue
        counts[COUNTER.get(result, "miscCount")] += n
    remaining = finals.get(None, 0)
    answered = counts["liveCount"] + counts["answeringMachineCount"]
    attempted = c.attempted
    return {
        "totalCount": total,
        "totalOutboundCount": c.placed,
        "remainingOutboundCount": remaining,
        "callsAttempted": attempted,
        "callsPlaced": c.placed,
        "dialedCount": attempted,
        "callsRemaining": remaining,
        "callsAwaitingRedial": c.awaiting,
        "callsLiveAnswer": counts["liveCount"],
        **counts,
        "transferCount": finals.get("XFER", 0),
        "callsDuration": round(c.duration),
        "billedDuration": c.billed,
        "responseRatePercent": round(100.0 * answered / attempted, 2) if attempted else 0.0,
        "respondedCount": c.responded,
        "webhookEventsUndelivered": undelivered(store, row.broadcast_id).count,
    }


def export_rows(store: Store, name: str) -> Iterator[dict[str, Any]]:
    """One object per recipient row in input order (the export contract)."""
    row = find_campaign(store, name)
    reasons = SkipReasons(store, row)
    rows = store.iter_export(row.id)
    for r in with_texts(store, rows) if is_text(row) else rows:
        yield {
            "phone_number": r["phone_number"],
            "e164": r["e164"],
            "attributes": r["attributes"],
            "final_result": r["final_result"],
            "skip_reason": reasons.reason(r),
            "bucket": r["bucket"],
            "attempts": [_attempt(a) for a in r["attempts"]],
            "responses": r["responses"],
        }


def _attempt(a: dict[str, Any]) -> dict[str, Any]:
    out = {
        "result": a["result"],
        "q850_cause": a["q850_cause"],
        "answered_by": a["answered_by"],
        "started_at": _iso(a["started_at"]),
        "duration": a["duration"],
        "voice_id": a["voice_id"],
    }
    if "reason" in a:  # booked by the runtime itself (an attempt whose runner was lost)
        out["reason"] = a["reason"]
    for key in ("message", "encoding", "segments", "delivery", "delivered_segments"):
        if key in a:  # a text attempt
            out[key] = a[key]
    return out


def write_json(store: Store, name: str, out: TextIO) -> None:
    """Stream the export as one JSON list (never the whole list in memory)."""
    out.write("[")
    first = True
    for item in export_rows(store, name):
        out.write("\n  " if first else ",\n  ")
        out.write(json.dumps(item, ensure_ascii=False))
        first = False
    out.write("\n]\n" if not first else "]\n")


def write_csv(store: Store, name: str, out: TextIO, *, escape: bool = True) -> None:
    """The export flattened: attributes, final result, attempt count, one column per question.

    With ``escape`` (the default) cells and headers a spreadsheet would run as formulas are
    neutralised (:mod:`.csvsafe`)."""
    safe: Callable[[list[Any]], list[Any]] = neutralise_row if escape else list
    row = find_campaign(store, name)
    questions = store.questions(row.id)
    attr_names = [c for c in row.dispatch.get("columns", []) if c not in ("sim_result",)]
    writer: Any = None
    text = is_text(row)
    text_cols = ["message", "encoding", "segments", "delivery"] if text else []
    header_text = ["sent_message", "encoding", "segments", "delivery"] if text else []
    for item in export_rows(store, name):
        if writer is None:
            attr_names = [c for c in attr_names if c in item["attributes"]]
            header = [
                "phone_number",
                "e164",
                *attr_names,
                "final_result",
                "skip_reason",
                "attempts",
                "last_attempt_at",
                "q850_cause",
                "answered_by",
                "duration",
                *header_text,
                *questions,
            ]
            # CRLF (RFC 4180): the csv module quotes a cell holding a character of the line
            # terminator only, and a bare CR inside a cell must be quoted too
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(safe(header))
        attempts = item["attempts"]
        last = attempts[-1] if attempts else {}
        answers: dict[str, str] = {}
        for resp in item["responses"]:
            answers[resp["question"]] = resp["response"]
        writer.writerow(
            safe(
                [
                    item["phone_number"],
                    item["e164"] or "",
                    *(item["attributes"].get(a, "") for a in attr_names),
                    item["final_result"] or "",
                    item["skip_reason"] or "",
                    len(attempts),
                    last.get("started_at", ""),
                    last.get("q850_cause", ""),
                    last.get("answered_by") or "",
                    last.get("duration", ""),
                    *(_blank(last.get(c)) for c in text_cols),
                    *(answers.get(q, "") for q in questions),
                ]
            )
        )
    if writer is None:
        out.write("phone_number\r\n")


def _blank(value: Any) -> Any:
    return "" if value is None else value


def delivery_note(store: Store, name: str) -> str:
    """The "webhook events undelivered: N (last error …)" line of the text outputs, or ``""``."""
    return undelivered_text(undelivered(store, find_campaign(store, name).broadcast_id))


def _iso(t: float | None) -> str:
    if t is None:
        return ""
    from ..webhooks.events import iso

    return iso(round(t * 1000))


#: plain-English meaning of each counter, shown in the text output only (docs/broadcast.md)
DESCRIPTIONS = {
    "totalCount": "recipients in the campaign",
    "totalOutboundCount": "calls placed, retries included",
    "remainingOutboundCount": "recipients without a final result yet",
    "callsAttempted": "numbers dialled at least once",
    "callsPlaced": "calls placed, retries included",
    "dialedCount": "numbers dialled at least once",
    "callsRemaining": "recipients without a final result yet",
    "callsAwaitingRedial": "recipients waiting for a retry",
    "callsLiveAnswer": "answered by a person (LA + XFER)",
    "liveCount": "answered by a person (LA + XFER)",
    "answeringMachineCount": "answered by a machine (AM)",
    "busyCount": "ended busy (BUSY)",
    "noAnswerCount": "not answered (NO_ANS)",
    "doNotCallCount": "on the do-not-call list (DNC)",
    "errorCount": "carrier error or invalid number",
    "miscCount": "duplicate, skipped or never dialled",
    "transferCount": "transferred (XFER, also in liveCount)",
    "callsDuration": "seconds of answered calls",
    "billedDuration": "seconds billed, answered calls rounded up to minutes",
    "responseRatePercent": "answered (live + machine) / attempted",
    "respondedCount": "recipients with at least one answer stashed",
    "webhookEventsUndelivered": "webhook events not delivered yet (the next run retries)",
}


def stats_text(stats: dict[str, Any], name: str) -> str:
    """The stats as aligned ``name  value  meaning`` lines (the names are the contract)."""
    buf = io.StringIO()
    buf.write(f"campaign {name}\n")
    width = max((len(str(v)) for v in stats.values()), default=0)
    for key, value in stats.items():
        desc = (TEXT_DESCRIPTIONS if "sentCount" in stats else DESCRIPTIONS).get(key, "")
        desc = desc or DESCRIPTIONS.get(key, "")
        line = f"  {key:<24} {value!s:>{width}}   {desc}" if desc else f"  {key:<24} {value}"
        buf.write(line.rstrip() + "\n")
    return buf.getvalue()
