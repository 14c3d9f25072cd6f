"""Webhook event bodies for a campaign's calls (EnableX-like, see docs/broadcast.md).

Each body is JSON with ``event``, a unique ``event_id``, ``broadcast_id``, ``voice_id`` (not
on ``broadcastcall_complete``), ``from``, ``to``, ``custom_data`` and an ISO 8601 UTC
``timestamp``, plus the fields of that event. Event ids are derived from the call leg, so a
resumed run re-creates exactly the ids it would have had (the outbox ignores duplicates).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from .driver import REASONS, AttemptOutcome

MAX_PROMPT_EVENTS = 10


def iso(ms: int) -> str:
    """Milliseconds since the epoch → ``2026-04-08T15:24:10.746Z``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class EventBuilder:
    """Builds the events of a campaign into outbox rows ``(event_id, url, body, now)``."""

    def __init__(
        self,
        broadcast_id: str,
        from_number: str,
        custom_data: dict[str, Any],
        url: str,
        amd_enabled: bool,
    ) -> None:
        self.broadcast_id = broadcast_id
        self.from_number = from_number
        self.custom_data = custom_data
        self.url = url
        self.amd_enabled = amd_enabled

    def _body(self, event: str, event_id: str, ms: int, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "event": event,
            "event_id": event_id,
            "broadcast_id": self.broadcast_id,
        }
        body.update(fields)
        body["custom_data"] = self.custom_data
        body["timestamp"] = iso(ms)
        return body

    def call_events(
        self, voice_id: str, to: str, start_ms: int, out: AttemptOutcome, wall_now: float
    ) -> list[tuple[str, str, bytes, float]]:
        """ringing, connected, playstate…, disconnected for one attempt."""
        rows: list[tuple[str, str, bytes, float]] = []
        common = {"voice_id": voice_id, "from": self.from_number, "to": to}
        answer_ms = start_ms + round(out.ring_s * 1000)
        end_ms = answer_ms + round(out.talk_s * 1000)
        seq = 0

        def add(event: str, ms: int, **fields: Any) -> None:
            nonlocal seq
            seq += 1
            eid = f"{voice_id}-{seq:02d}"
            body = self._body(event, eid, ms, **common, state=event, **fields)
            rows.append((eid, self.url, encode(body), wall_now))

        by = {"call_answered_by": out.answered_by} if self.amd_enabled and out.answered else {}
        if out.result != "CARRIER_ERROR" and out.result != "BUSY":
            add("ringing", start_ms + min(1000, round(out.ring_s * 1000)))
        if out.answered:
            add("connected", answer_ms, **by)
            prompts = out.prompts[:MAX_PROMPT_EVENTS]
            step = (end_ms - answer_ms) // (2 * len(prompts) + 1) if prompts else 0
            for i, (ref, _text) in enumerate(prompts):
                add("playstate", answer_ms + step * (2 * i), playstate="initiated", prompt_ref=ref)
                add(
                    "playstate",
                    answer_ms + step * (2 * i + 1),
                    playstate="playfinished",
                    prompt_ref=ref,
                )
        add(
            "disconnected",
            end_ms,
            call_duration=round(out.talk_s, 3),
            disconnect_reason=REASONS.get(out.q850_cause, "Unknown"),
            disconnect_cause_code=out.q850_cause,
            call_result=out.result,
            **by,
        )
        return rows

    def complete(
        self,
        ms: int,
        summaries: Iterable[tuple[Any, ...]],
        blacklisted: list[str],
        not_allowed: list[str],
        wall_now: float,
    ) -> tuple[str, str, bytes, float]:
        info = []
        for voice_id, to, duration, result, answered_by, q850 in summaries:
            item: dict[str, Any] = {
                "voice_id": voice_id,
                "to": to,
                "callDuration": round(duration, 3),
                "callState": "Call Answered" if result in ("LA", "AM", "XFER") else "Not Answered",
                "callResult": result,
                "disconnectReason": REASONS.get(q850, "Unknown"),
                "disconnectReasonCode": q850,
            }
            if self.amd_enabled and answered_by:
                item["call_answered_by"] = answered_by
            info.append(item)
        eid = f"{self.broadcast_id}-complete"
        body = self._body(
            "broadcastcall_complete",
            eid,
            ms,
            **{"from": self.from_number},
            state="broadcastcall_complete",
            blacklistednumber={"call_blacklisted": blacklisted, "country_not_allowed": not_allowed},
            broadcast_call_info=info,
        )
        return (eid, self.url, encode(body), wall_now)
