"""The webhook events of a campaign's calls, built with :mod:`dialplan.broadcast.webhooks.delivery`.

Per attempt: ``ringing`` (not for busy lines or carrier errors), ``connected`` (answered calls,
with the AMD verdict when AMD is on), ``playstate`` initiated/playfinished per prompt (at most
:data:`MAX_PROMPT_EVENTS` prompts), ``disconnected`` (duration, Q.850 cause); per campaign one
``broadcastcall_complete``. Event ids are stable (derived from the broadcast, the call leg and
the event's position), so a resumed run re-creates exactly the ids it would have had and the
outbox drops the duplicates. Timestamps are the virtual clock's instants.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ..store.rows import CallLegRow, OutboxRow
from ..telephony.port import AttemptOutcome
from ..telephony.simulated import REASONS
from . import delivery as webhooks

MAX_PROMPT_EVENTS = 10


def iso(ms: int) -> str:
    """Milliseconds since the epoch → ``2026-04-08T15:24:10.746Z``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class EventBuilder:
    """Builds a campaign's events as outbox rows ``(event_id, url, body, now)``."""

    def __init__(
        self,
        broadcast_id: str,
        from_number: str,
        custom_data: dict[str, Any],
        url: str,
        amd_enabled: bool,
    ) -> None:
        self.broadcast_id = broadcast_id
        self.from_number = from_number or None
        self.custom_data = custom_data
        self.url = url
        self.amd_enabled = amd_enabled

    def call_events(
        self, voice_id: str, to: str, start_ms: int, out: AttemptOutcome, wall_now: float
    ) -> list[OutboxRow]:
        rows: list[OutboxRow] = []
        answer_ms = start_ms + round(out.ring_s * 1000)
        end_ms = answer_ms + round(out.talk_s * 1000)
        common: dict[str, Any] = {
            "broadcast_id": self.broadcast_id,
            "voice_id": voice_id,
            "to": to,
            "custom_data": self.custom_data,
            "from_": self.from_number,
        }

        def add(build: Any, name: str, ms: int, **fields: Any) -> None:
            eid = webhooks.stable_event_id(self.broadcast_id, voice_id, name, len(rows))
            body = build(event_id=eid, timestamp=ms / 1000, **common, **fields)
            rows.append(OutboxRow(eid, self.url, body, wall_now))

        by = out.answered_by if self.amd_enabled and out.answered else None
        if out.result not in ("BUSY", "CARRIER_ERROR"):
            add(webhooks.ringing, "ringing", start_ms + min(1000, round(out.ring_s * 1000)))
        if out.answered:
            add(webhooks.connected, "connected", answer_ms, call_answered_by=by)
            prompts = out.prompts[:MAX_PROMPT_EVENTS]
            step = (end_ms - answer_ms) // (2 * len(prompts) + 1) if prompts else 0
            for i, (ref, _text) in enumerate(prompts):
                for j, state in enumerate(("initiated", "playfinished")):
                    add(
                        webhooks.playstate,
                        "playstate",
                        answer_ms + step * (2 * i + j),
                        playstate=state,
                        prompt_ref=ref,
                    )
        add(
            webhooks.disconnected,
            "disconnected",
            end_ms,
            call_duration=round(out.talk_s, 3),
            disconnect_reason=REASONS.get(out.q850_cause, "Unknown"),
            disconnect_cause_code=out.q850_cause,
            call_answered_by=by,
        )
        return rows

    def text_events(
        self, text_id: str, to: str, start_ms: int, out: AttemptOutcome, wall_now: float
    ) -> list[OutboxRow]:
        """One ``text_finished`` event per text attempt (CallFire's OutboundText "finished"):
        the text result, its segments and — when already known — its delivery state."""
        assert out.text is not None
        eid = webhooks.stable_event_id(self.broadcast_id, text_id, "text_finished", 0)
        body = webhooks.canonical_json(
            {
                "event": "text_finished",
                "event_id": eid,
                "broadcast_id": self.broadcast_id,
                "text_id": text_id,
                "to": to,
                "from": self.from_number,
                "timestamp": webhooks.iso_timestamp(start_ms / 1000),
                "text_result": out.result,
                "segments": out.text.segments,
                "encoding": out.text.encoding,
                "delivery": out.text.delivery,
                "custom_data": self.custom_data,
            }
        )
        return [OutboxRow(eid, self.url, body, wall_now)]

    def complete(
        self,
        ms: int,
        summaries: Iterable[CallLegRow],
        blacklisted: list[str],
        not_allowed: list[str],
        wall_now: float,
    ) -> OutboxRow:
        info = [
            webhooks.CallInfo(
                voice_id=leg.voice_id,
                to=leg.to,
                call_duration=round(leg.duration, 3),
                call_state="Call Answered"
                if leg.result in ("LA", "AM", "XFER")
                else "Not Answered",
                disconnect_reason=REASONS.get(leg.q850_cause, "Unknown"),
                disconnect_reason_code=leg.q850_cause,
                call_answered_by=leg.answered_by if self.amd_enabled else None,
                call_result=leg.result,
            )
            for leg in summaries
        ]
        eid = webhooks.stable_event_id(self.broadcast_id, "broadcastcall_complete")
        body = webhooks.broadcastcall_complete(
            event_id=eid,
            broadcast_id=self.broadcast_id,
            timestamp=ms / 1000,
            broadcast_call_info=info,
            custom_data=self.custom_data,
            call_blacklisted=blacklisted,
            country_not_allowed=not_allowed,
        )
        return OutboxRow(eid, self.url, body, wall_now)
