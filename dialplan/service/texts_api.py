"""``/v2/texts/broadcasts*`` and ``/v2/texts*``: CallFire's v2 text API on the broadcast layer.

A text broadcast is a ``channel = "sms"`` campaign (its ``message`` rendered per recipient, a
recipient's own ``message`` overriding it), run in the server by the simulated messaging driver
(``sim_result`` attributes script it) on the same layer as call broadcasts. Paths, JSON names,
types and enumerations follow CallFire's Swagger description (HTTP Basic, the API key as the
password); every POST accepts an ``Idempotency-Key``; errors are problem+json. The routes text
and call broadcasts share come from :mod:`.broadcast_routes`; sending texts is this module's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from . import texts_models as m
from .auth import WriteKey
from .autoreply_texts import SentReplies
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
from .broadcasts import Broadcast, BroadcastInput, Broadcasts, CallRow, Recipient
from .broadcasts.fields import invalid
from .idempotency import run_once
from .texts_models import MESSAGE_COLUMN

router = APIRouter(prefix="/v2", tags=["callfire texts"])
#: final results a ``results`` filter may name (CallFire's, and DNC for DNT)
_RESULT_NAMES = (*m.TEXT_RESULTS, "DNC", "DUP", "INVALID")
#: the account's default text broadcast, where ``sendTexts`` without a ``campaignId`` sends: its
#: name, its message (never sent: every text sent there has a message of its own) and the number
#: it sends from until changed with ``updateTextBroadcast`` (CallFire's shared short code)
DEFAULT_BROADCAST = "Texts (sendTexts)"
_DEFAULT_SETTINGS = {
    "name": DEFAULT_BROADCAST,
    "message": "(each text sent with POST /v2/texts has its own message)",
    "fromNumber": "67076",
}


def _spec(body: m.TextBroadcast) -> BroadcastInput:
    utf8(body.model_dump())
    if body.media:
        raise invalid("media", "media (MMS) are not sent here")
    settings = body.model_dump(
        exclude_none=True, exclude={"recipients", "media", "id", "status", "lastModified"}
    )
    return BroadcastInput(
        settings, recipients=recipients(body.recipients, "recipients"), channel="sms"
    )


def _texts_json(
    layer: Broadcasts, rows: Sequence[tuple[Broadcast, CallRow]]
) -> list[dict[str, Any]]:
    texts = layer.text_records([r.recipient_id for _, r in rows])
    return [m.text_json(b, r, layer.batch_of(b.id, r.row_no), texts) for b, r in rows]


def _stored_results(names: frozenset[str]) -> frozenset[str]:
    return names | ({"DNC"} if "DNT" in names else frozenset())


TEXTS = Kind(
    channel="sms",
    action_noun="Text",
    broadcast=m.TextBroadcast,
    batch_request=m.TextBatchRequest,
    recipient=m.TextRecipient,
    broadcast_page=m.TextBroadcastPage,
    item=m.Text,
    item_page=m.TextPage,
    item_list=m.TextList,
    stats=m.TextBroadcastStatsDto,
    spec=_spec,
    items_json=_texts_json,
    results=_RESULT_NAMES,
    items_summary="one per recipient, each with its records",
    export_summary="its attempts and messages",
    stored_results=_stored_results,
    more_items=SentReplies(),
)
add_broadcast_routes(router, TEXTS)


def _with_messages(people: list[Recipient], default: str | None, needed: bool) -> list[Recipient]:
    """``people`` with ``default`` as the message of those without one; ``needed``: a text
    without either is a 422 naming it (the default broadcast has no message of its own)."""
    out = []
    for i, p in enumerate(people):
        if p.attributes.get(MESSAGE_COLUMN) is None:
            if default is not None:
                p = Recipient(p.phone_number, {**p.attributes, MESSAGE_COLUMN: default})
            elif needed:
                raise invalid(f"body[{i}].message", "is required (or give defaultMessage)")
        out.append(p)
    return out


def _strictly_valid(people: Sequence[Recipient], region: str) -> None:
    """``strictValidation``: a number that is not a valid phone number is a 422 (otherwise it
    is kept and its text ends ``INVALID``, as in a broadcast)."""
    from ..broadcast.phones import Normalizer

    normalize = Normalizer(region)
    for i, p in enumerate(people):
        if normalize(p.phone_number).e164 is None:
            raise invalid(f"body[{i}].phoneNumber", f"not a valid number: {p.phone_number!r}")


@router.post(
    "/texts",
    response_model=m.TextList,
    responses=ERRORS,
    operation_id="sendTexts",
    summary="Send texts: into text broadcast campaignId, or the account's default text broadcast",
    description="Each recipient's `message`, else `defaultMessage` (else, with `campaignId`, "
    "that broadcast's message). The broadcast is started; the reply is the created texts, "
    "which `GET /v2/texts/{id}` finds. Extension: `strictValidation=true` refuses a number "
    "that is not valid (422) instead of sending it to end `INVALID`.",
)
async def send_texts(
    request: Request,
    who: WriteKey,
    body: list[m.TextRecipient],
    fields: Fields = None,
    campaignId: OptionalId = None,
    defaultMessage: Annotated[str | None, Query(max_length=10_000)] = None,
    strictValidation: bool = False,
) -> Response:
    async def produce() -> Response:
        utf8([[r.model_dump() for r in body], defaultMessage])
        if not body:
            raise invalid("body", "at least one recipient is required")
        if defaultMessage is not None and not defaultMessage.strip():
            raise invalid("defaultMessage", "is empty")
        people = _with_messages(recipients(body, "body"), defaultMessage, campaignId is None)
        layer = TEXTS.layer(request)

        def work() -> dict[str, Any]:
            if campaignId is None:
                spec = BroadcastInput(_DEFAULT_SETTINGS, channel="sms")
                b = layer.default_broadcast(who.account, spec)
            else:
                b = layer.get(who.account, campaignId)
            if strictValidation:
                _strictly_valid(people, str(b.settings.get("defaultRegion") or "US"))
            return added_items(TEXTS, layer, who, b.id, people, start=True)

        return json_response(await run_in_threadpool(work), fields)

    return await run_once(request.app.state.db, who.account, request, produce)
