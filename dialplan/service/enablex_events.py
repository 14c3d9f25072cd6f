"""The webhook events of EnableX-style calls, shaped as EnableX's Broadcast API document has them.

Per call leg: ``connected`` (answered; ``call_answered_by`` HUMAN/MACHINE when AMD ran) and
``disconnected`` (duration, Q.850 cause and its reason); once every leg of a broadcast has ended,
one ``broadcastcall_complete`` with the summary of each leg. Each body also carries ``event`` and
``event_id`` (the outbox's delivery and de-duplication keys). The ``ringing`` and ``playstate``
events are not sent (the call runners report no ringing and no prompt ends).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .outbox import new_event_id
from .runner import digits
from .storage import iso, now

#: a call's final status → (Q.850 cause, its reason) when the driver gave none
_CAUSES: dict[str, tuple[int, str]] = {
    "completed": (16, "Normal Clearing"),
    "busy": (17, "User Busy"),
    "no-answer": (19, "No Answer from User"),
    "canceled": (16, "Normal Clearing"),
    "failed": (41, "Temporary Failure"),
}
_REASONS = {16: "Normal Clearing", 17: "User Busy", 18: "No User Responding"}
_REASONS |= {19: "No Answer from User", 21: "Call Rejected", 41: "Temporary Failure"}
_ANSWERED_BY = {"human": "HUMAN", "machine": "MACHINE"}


def _common(row: sqlite3.Row, request: dict[str, Any]) -> dict[str, Any]:
    batch = request.get("batch") or {}
    return {
        "broadcast_id": batch.get("broadcast_id"),
        "voice_id": row["id"],
        "from": batch.get("from", digits(request["caller_id"]) if request["caller_id"] else ""),
        "to": digits(request["to"]),
    }


def _cause(row: sqlite3.Row) -> tuple[int, str]:
    result = json.loads(row["result"]) if row["result"] else {}
    sip = result.get("sip") or {}
    if isinstance(sip.get("cause"), int):
        cause = int(sip["cause"])
        return cause, _REASONS.get(cause, str(sip.get("reason") or cause))
    return _CAUSES.get(row["status"], _CAUSES["failed"])


def _duration(row: sqlite3.Row) -> float:
    result = json.loads(row["result"]) if row["result"] else {}
    return round(float(result.get("duration_s") or 0.0), 3)


def _answered_by(row: sqlite3.Row, request: dict[str, Any]) -> dict[str, str]:
    verdict = _ANSWERED_BY.get(row["answered_by"] or "")
    if request.get("detect_answering_machine") and verdict:
        return {"call_answered_by": verdict}
    return {}


def bodies(
    conn: sqlite3.Connection, event: str, row: sqlite3.Row, request: dict[str, Any]
) -> list[dict[str, Any]]:
    """The EnableX events for one of the call's events (``call.answered``, ``call.ended``, …)."""
    batch = request.get("batch") or {}
    custom = batch.get("custom_data", {})
    stamp = iso(now())
    if event == "call.answered":
        return [
            {
                "event": "connected",
                "event_id": new_event_id(),
                **_common(row, request),
                "state": "connected",
                **_answered_by(row, request),
                "custom_data": custom,
                "timestamp": stamp,
            }
        ]
    if event != "call.ended":
        return []  # a failure before the answer is told by its "disconnected"
    cause, reason = _cause(row)
    out = [
        {
            "event": "disconnected",
            "event_id": new_event_id(),
            **_common(row, request),
            "state": "disconnected",
            "call_duration": _duration(row),
            "disconnect_reason": reason,
            "disconnect_cause_code": cause,
            **_answered_by(row, request),
            "custom_data": custom,
            "timestamp": stamp,
        }
    ]
    complete = _completion(conn, row["account"], batch)
    if complete is not None:
        out.append({**complete, "custom_data": custom, "timestamp": stamp})
    return out


def _completion(
    conn: sqlite3.Connection, account: str, batch: dict[str, Any]
) -> dict[str, Any] | None:
    """``broadcastcall_complete`` once every leg of the batch has ended (inside the transaction
    that ends the last one, so exactly one call sends it)."""
    broadcast_id = batch.get("broadcast_id")
    if not broadcast_id:
        return None
    rows = conn.execute(
        "SELECT * FROM calls WHERE account = ? AND json_extract(request, '$.batch.broadcast_id') = ?"
        " ORDER BY created_at, id",
        (account, broadcast_id),
    ).fetchall()
    if any(r["ended_at"] is None for r in rows):
        return None
    info = []
    for r in rows:
        request = json.loads(r["request"])
        cause, reason = _cause(r)
        info.append(
            {
                "voice_id": r["id"],
                "to": digits(request["to"]),
                "callDuration": _duration(r),
                "callState": "Call Answered" if r["answered_at"] else "Call Not Answered",
                **_answered_by(r, request),
                "disconnectReason": reason,
                "disconnectReasonCode": cause,
            }
        )
    return {
        "event": "broadcastcall_complete",
        "event_id": new_event_id(),
        "broadcast_id": broadcast_id,
        "state": "broadcastcall_complete",
        "blacklistednumber": batch.get(
            "blocked", {"call_blacklisted": [], "country_not_allowed": []}
        ),
        "broadcast_call_info": info,
    }
