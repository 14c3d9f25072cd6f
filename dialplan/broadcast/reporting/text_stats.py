"""Text campaign statistics with CallFire's ``TextBroadcastStatsDto`` names, and the text columns
of the export.

CallFire's names come first, spelled as CallFire spells them (``recievedCount``); delivery and
segment counts are extension fields. The counts add up: ``sentCount + unsentCount +
remainingOutboundCount == totalCount`` (every recipient once, by its final result).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from ..store.sqlite import CampaignRow, Store
from ..telephony.texts import sending_number

#: final results counted as not texted because of a do-not-text list
DO_NOT_TEXT = ("DNC", "DNT")
TEXT_ERRORS = ("CARRIER_ERROR", "CARRIER_TEMP_ERROR", "INTERNAL_ERROR", "INVALID")

DESCRIPTIONS = {
    "totalCount": "recipients in the campaign",
    "totalOutboundCount": "texts submitted, retries included",
    "remainingOutboundCount": "recipients without a final result yet",
    "billedAmount": "not computed (no price list)",
    "sentCount": "recipients whose text the SMSC accepted (SENT)",
    "unsentCount": "recipients not texted (every other final result)",
    "recievedCount": "replies received from the recipients (CallFire's spelling)",
    "doNotTextCount": "on a do-not-text list (DNC, DNT)",
    "tooBigCount": "longer than one segment with DO_NOT_SEND (TOO_BIG)",
    "errorCount": "submit errors or invalid numbers",
    "deliveredCount": "texts whose every segment was delivered (receipts)",
    "undeliveredCount": "texts a receipt said were not delivered",
    "awaitingReceiptCount": "texts sent without a final receipt yet",
    "segmentsCount": "segments submitted",
    "deliveredSegmentsCount": "segments delivered",
    "duplicateCount": "duplicate numbers not texted again (DUP)",
}


def is_text(row: CampaignRow) -> bool:
    return bool(row.config.get("raw", {}).get("channel", "voice").lower() == "sms")


def text_stats(store: Store, row: CampaignRow, undelivered_events: int) -> dict[str, Any]:
    finals = store.counts_by(row.id, "final_result")
    total = sum(finals.values())
    remaining = finals.get(None, 0)
    sent = finals.get("SENT", 0)
    placed = store.attempt_stats(row.id)["placed"]
    t = store.text_stats(row.id)
    raw = row.config.get("raw", {})
    from_number = sending_number(
        str(raw.get("from_number", "")), str(raw.get("default_region", "US")).upper()
    )
    received = store.received_texts(row.id, from_number)
    return {
        "totalCount": total,
        "totalOutboundCount": placed,
        "remainingOutboundCount": remaining,
        "billedAmount": 0.0,
        "sentCount": sent,
        "unsentCount": total - sent - remaining,
        "recievedCount": received,
        "doNotTextCount": sum(finals.get(k, 0) for k in DO_NOT_TEXT),
        "tooBigCount": finals.get("TOO_BIG", 0),
        "errorCount": sum(finals.get(k, 0) for k in TEXT_ERRORS),
        "deliveredCount": t["delivered"],
        "undeliveredCount": t["undelivered"],
        "awaitingReceiptCount": t["texts"] - t["delivered"] - t["undelivered"],
        "segmentsCount": t["segments"],
        "deliveredSegmentsCount": t["delivered_segments"],
        "duplicateCount": finals.get("DUP", 0),
        "webhookEventsUndelivered": undelivered_events,
    }


def with_texts(store: Store, items: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Export items with their text attempts' message, segments and delivery (in batches)."""
    it = iter(items)
    while batch := list(islice(it, 500)):
        texts: dict[tuple[int, int], tuple[Any, ...]] = {}
        for t in store.texts_of([item["id"] for item in batch]):
            texts[(t[0], t[1])] = t
        for item in batch:
            for a in item["attempts"]:
                found = texts.get((item["id"], a["attempt"]))
                if found is not None:
                    a["message"], a["encoding"], a["segments"] = found[2], found[3], found[4]
                    a["delivery"], a["delivered_segments"] = found[5], found[6]
            yield item
