"""``/v2/calls/broadcasts*`` and ``/v2/calls*``: CallFire's v2 call API on the broadcast layer.

Paths, JSON names, types and enumerations follow CallFire's Swagger description, so clients
generated from it work unchanged (authenticate with HTTP Basic, the API key as the password).
Extensions — export and report, and the campaign-file fields CallFire lacks — are listed in
docs/api.md. Every POST accepts an ``Idempotency-Key``; errors are problem+json. The routes call
and text broadcasts share come from :mod:`.broadcast_routes`; sending calls is this module's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from . import callfire_models as m
from .auth import WriteKey
from .broadcast_routes import (
    ERRORS,
    Fields,
    Kind,
    OptionalId,
    add_broadcast_routes,
    added_items,
    json_response,
    recipients,
    utf8,
)
from .broadcasts import Broadcast, BroadcastInput, Broadcasts, CallRow
from .broadcasts.fields import invalid
from .idempotency import run_once

router = APIRouter(prefix="/v2", tags=["callfire"])


def _spec(body: m.CallBroadcast) -> BroadcastInput:
    utf8(body.model_dump())
    settings = body.model_dump(
        exclude_none=True,
        exclude={"recipients", "dialplanXml", "flowId", "flowVersion", "id", "status"},
    )
    return BroadcastInput(
        settings=settings,
        dialplan_xml=body.dialplanXml,
        flow_id=body.flowId,
        flow_version=body.flowVersion,
        recipients=recipients(body.recipients, "recipients"),
    )


def _calls_json(
    layer: Broadcasts, rows: Sequence[tuple[Broadcast, CallRow]]
) -> list[dict[str, Any]]:
    return [m.call_json(b, r, layer.batch_of(b.id, r.row_no)) for b, r in rows]


def _dialplan(layer: Broadcasts, account: str, broadcast_id: int) -> dict[str, Any]:
    xml = layer.dialplan_xml(account, broadcast_id)
    return {} if xml is None else {"dialplanXml": xml}  # a sound broadcast has its ``sounds``


CALLS = Kind(
    channel="voice",
    action_noun="Voice",
    broadcast=m.CallBroadcast,
    batch_request=m.BatchRequest,
    recipient=m.Recipient,
    broadcast_page=m.CallBroadcastPage,
    item=m.Call,
    item_page=m.CallPage,
    item_list=m.CallList,
    stats=m.CallBroadcastStats,
    spec=_spec,
    items_json=_calls_json,
    results=m.CALL_RESULTS,
    items_summary="each with its attempts and questionResponses",
    export_summary="its attempts and answers",
    more=_dialplan,
)
add_broadcast_routes(router, CALLS)


@router.post(
    "/calls",
    response_model=m.CallList,
    responses=ERRORS,
    operation_id="sendCalls",
    summary="Send calls: into broadcast campaignId, or a new one from the recipients' dialplanXml",
)
async def send_calls(
    request: Request,
    who: WriteKey,
    body: list[m.CallRecipient],
    fields: Fields = None,
    campaignId: OptionalId = None,
) -> Response:
    async def produce() -> Response:
        utf8([r.model_dump() for r in body])
        if not body:
            raise invalid("body", "at least one recipient is required")
        for i, r in enumerate(body):
            for name in ("liveMessage", "machineMessage", "liveMessageSoundId", "voice"):
                if getattr(r, name) is not None:
                    raise invalid(f"body[{i}].{name}", "sound messages are not supported yet")
        xmls = {r.dialplanXml for r in body}
        if campaignId is None and (None in xmls or len(xmls) != 1):
            raise invalid("body", "give campaignId, or the same dialplanXml for every recipient")
        people = recipients(body, "body")
        layer = CALLS.layer(request)

        def work() -> dict[str, Any]:
            bid = campaignId
            if bid is None:
                spec = BroadcastInput({"name": "calls"}, dialplan_xml=xmls.pop())
                bid = layer.create(who.account, spec).id
            return added_items(CALLS, layer, who, bid, people, start=True)

        return json_response(await run_in_threadpool(work), fields)

    return await run_once(request.app.state.db, who.account, request, produce)
