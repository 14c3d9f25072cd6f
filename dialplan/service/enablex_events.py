"""The webhook events of EnableX-style calls, shaped as EnableX's Broadcast API document has them.

Per call leg: ``connected`` (answered; ``call_answered_by`` HUMAN/MACHINE when AMD ran) and
``disconnected`` (duration, Q.850 cause and its reason); once every leg of a broadcast has ended,
one ``broadcastcall_complete`` with the summary of each leg. The bodies are built by the campaign
runner's own builders (:mod:`dialplan.broadcast.webhooks`, checked against the published event
schema), so a service broadcast and a campaign send the same events. ``playstate`` (``initiated``,
``playfinished``) follows each prompt: as it goes out on a SIP call (the flow's own and those of
the per-call ``play`` control), in order after ``connected`` on a simulated one. ``ringing`` is
not sent (the call runners do not report it).
"""

from __future__ import annotations

import json
from typing import Any

from ..broadcast import webhooks as wh
from ..broadcast.telephony.simulated import Q850, REASONS
from .outbox import new_event_id
from .runner import digits
from .sql import Connection, Row
from .storage import now

#: a call's final status → its result code (for the Q.850 cause) when the driver gave none
_RESULTS = {"completed": "LA", "busy": "BUSY", "no-answer": "NO_ANS", "canceled": "LA"}
_ANSWERED_BY = {"human": "HUMAN", "machine": "MACHINE"}


def _result(row: Row) -> dict[str, Any]:
    return dict(json.loads(row["result"])) if row["result"] else {}


def _cause(row: Row) -> tuple[int, str]:
    sip = _result(row).get("sip") or {}
    if isinstance(sip.get("cause"), int):
        cause = int(sip["cause"])
        return cause, REASONS.get(cause, str(sip.get("reason") or cause))
    return Q850.get(_RESULTS.get(row["status"], ""), (41, REASONS[41]))


def _duration(row: Row) -> float:
    return round(float(_result(row).get("duration_s") or 0.0), 3)


def _answered_by(row: Row, request: dict[str, Any]) -> str | None:
    verdict = _ANSWERED_BY.get(row["answered_by"] or "")
    return verdict if request.get("detect_answering_machine") else None


def bodies(
    conn: Connection,
    event: str,
    row: Row,
    request: dict[str, Any],
    fields: dict[str, Any],
) -> list[dict[str, Any]]:
    """The EnableX events for one of the call's events (``call.answered``, ``call.prompt``,
    ``call.ended``, …; ``fields`` are the event's own)."""
    batch = request.get("batch") or {}
    leg = {
        "broadcast_id": batch.get("broadcast_id") or row["id"],
        "voice_id": row["id"],
        "to": digits(request["to"]),
        "from_": batch.get("from") or None,
        "custom_data": batch.get("custom_data", {}),
        "timestamp": now(),
    }
    if event == "call.answered":
        body = wh.connected(
            event_id=new_event_id(), call_answered_by=_answered_by(row, request), **leg
        )
        return [json.loads(body)]
    if event == "call.prompt":
        ref = fields.get("prompt_ref") or batch.get("prompt_ref") or "prompt"
        body = wh.playstate(
            event_id=new_event_id(), playstate=fields["state"], prompt_ref=ref, **leg
        )
        return [json.loads(body)]
    if event != "call.ended":
        return []  # a failure before the answer is told by its "disconnected"
    cause, reason = _cause(row)
    out = [
        json.loads(
            wh.disconnected(
                event_id=new_event_id(),
                call_duration=_duration(row),
                disconnect_reason=reason,
                disconnect_cause_code=cause,
                call_answered_by=_answered_by(row, request),
                **leg,
            )
        )
    ]
    complete = _completion(conn, row["account"], batch)
    if complete is not None:
        out.append(complete)
    return out


def _completion(conn: Connection, account: str, batch: dict[str, Any]) -> dict[str, Any] | None:
    """``broadcastcall_complete`` once every leg of the batch has ended (inside the transaction
    that ends the last one, so exactly one call sends it)."""
    broadcast_id = batch.get("broadcast_id")
    if not broadcast_id:
        return None
    rows = conn.execute(
        "SELECT * FROM calls WHERE account = ?"
        " AND json_extract(request, '$.batch.broadcast_id') = ? ORDER BY created_at, id",
        (account, broadcast_id),
    ).fetchall()
    if any(r["ended_at"] is None for r in rows):
        return None
    info = []
    for r in rows:
        request = json.loads(r["request"])
        cause, reason = _cause(r)
        info.append(
            wh.CallInfo(
                voice_id=r["id"],
                to=digits(request["to"]),
                call_duration=_duration(r),
                call_state="Call Answered" if r["answered_at"] else "Call Not Answered",
                disconnect_reason=reason,
                disconnect_reason_code=cause,
                call_answered_by=_answered_by(r, request),
            )
        )
    blocked = batch.get("blocked", {})
    body = wh.broadcastcall_complete(
        event_id=new_event_id(),
        broadcast_id=broadcast_id,
        timestamp=now(),
        broadcast_call_info=info,
        custom_data=batch.get("custom_data", {}),
        call_blacklisted=blocked.get("call_blacklisted", ()),
        country_not_allowed=blocked.get("country_not_allowed", ()),
    )
    return dict(json.loads(body))
