"""``/v2/texts/broadcasts*`` and ``/v2/texts*``: CallFire's v2 text API on the broadcast layer.

A text broadcast is a ``channel = "sms"`` campaign (its ``message`` rendered per recipient, a
recipient's own ``message`` overriding it), run in the server by the simulated messaging driver
(``sim_result`` attributes script it) on the same layer as call broadcasts. Paths, JSON names,
types and enumerations follow CallFire's Swagger description (HTTP Basic, the API key as the
password); every POST accepts an ``Idempotency-Key``; errors are problem+json.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from . import callfire_models as cm
from . import texts_models as m
from .auth import Principal, ReadKey, WriteKey
from .broadcasts import Broadcast, BroadcastInput, Broadcasts, CallFilter, Recipient
from .broadcasts.callrows import STATES
from .broadcasts.fields import invalid
from .callfire import (
    _ERRORS,
    _NO_CONTENT,
    Fields,
    Id,
    Limit,
    Offset,
    _json,
    _split,
    _utf8,
    add_actions,
)
from .idempotency import run_once

router = APIRouter(prefix="/v2", tags=["callfire texts"])
#: the recipient column a recipient's own ``message`` goes to (the campaign's ``message_column``)
MESSAGE_COLUMN = "message"
#: final results a ``results`` filter may name (CallFire's, and DNC for DNT)
_RESULT_NAMES = (*m.TEXT_RESULTS, "DNC", "DUP", "INVALID")


def _layer(request: Request) -> Broadcasts:
    layer: Broadcasts = request.app.state.broadcasts
    return layer.view("sms")


def _recipients(items: list[m.TextRecipient] | None, where: str = "recipients") -> list[Recipient]:
    out = []
    for i, r in enumerate(items or []):
        if r.media:
            raise invalid(f"{where}[{i}].media", "media (MMS) are not sent here")
        if r.contactId is not None and not r.phoneNumber:
            raise invalid(
                f"{where}[{i}].contactId", "contacts are not stored here; give phoneNumber"
            )
        if not r.phoneNumber:
            raise invalid(f"{where}[{i}].phoneNumber", "is required")
        attributes = dict(r.attributes or {})
        if r.message is not None:
            attributes[MESSAGE_COLUMN] = r.message
        out.append(Recipient(r.phoneNumber, attributes))
    return out


def _spec(body: m.TextBroadcast) -> BroadcastInput:
    _utf8(body.model_dump())
    if body.media:
        raise invalid("media", "media (MMS) are not sent here")
    settings = body.model_dump(
        exclude_none=True, exclude={"recipients", "media", "id", "status", "lastModified"}
    )
    return BroadcastInput(settings, recipients=_recipients(body.recipients), channel="sms")


def _texts_page(
    layer: Broadcasts,
    who: Principal,
    broadcast_id: int | None,
    where: CallFilter,
    limit: int,
    offset: int,
    batch_id: int | None,
) -> dict[str, Any]:
    rows, total = layer.calls(who.account, broadcast_id, where, limit, offset, batch_id)
    texts = layer.text_records([r.recipient_id for _, r in rows])
    items = [m.text_json(b, r, layer.batch_of(b.id, r.row_no), texts) for b, r in rows]
    return {"items": items, "limit": limit, "offset": offset, "totalCount": total}


def _results(text: str | None) -> frozenset[str]:
    names = _split(text, _RESULT_NAMES, "results")
    return names | ({"DNC"} if "DNT" in names else frozenset())


# -- broadcasts --------------------------------------------------------------------------------
@router.get(
    "/texts/broadcasts",
    response_model=m.TextBroadcastPage,
    responses=_ERRORS,
    operation_id="findTextBroadcasts",
    summary="Find text broadcasts",
)
def find_text_broadcasts(
    request: Request,
    who: ReadKey,
    fields: Fields = None,
    limit: Limit = 100,
    offset: Offset = 0,
    label: Annotated[str | None, Query(max_length=200)] = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
    running: bool | None = None,
) -> Response:
    found, total = _layer(request).find(
        who.account, name=name, label=label, running=running, limit=limit, offset=offset
    )
    page = {"items": [b.to_api() for b in found], "limit": limit, "offset": offset}
    return _json({**page, "totalCount": total}, fields)


@router.post(
    "/texts/broadcasts",
    response_model=cm.ResourceId,
    responses=_ERRORS,
    operation_id="createTextBroadcast",
    summary="Create a text broadcast (start=true: and start it)",
)
async def create_text_broadcast(
    request: Request, who: WriteKey, body: m.TextBroadcast, start: bool = False
) -> Response:
    async def produce() -> Response:
        spec = _spec(body)
        b: Broadcast = await run_in_threadpool(
            _layer(request).create, who.account, spec, start=start
        )
        return JSONResponse({"id": b.id}, headers={"Location": f"/v2/texts/broadcasts/{b.id}"})

    return await run_once(request.app.state.db, who.account, request, produce)


@router.get(
    "/texts/broadcasts/{id}",
    response_model=m.TextBroadcast,
    responses=_ERRORS,
    operation_id="getTextBroadcast",
    summary="Find a specific text broadcast",
)
def get_text_broadcast(request: Request, who: ReadKey, id: Id, fields: Fields = None) -> Response:
    return _json(_layer(request).get(who.account, id).to_api(), fields)


@router.put(
    "/texts/broadcasts/{id}",
    status_code=204,
    responses=_NO_CONTENT,
    operation_id="updateTextBroadcast",
    summary="Update a text broadcast (the fields given; recipients are added)",
)
def update_text_broadcast(
    request: Request, who: WriteKey, id: Id, body: m.TextBroadcast
) -> Response:
    _layer(request).update(who.account, id, _spec(body))
    return Response(status_code=204)


add_actions(
    router,
    "texts",
    "sms",
    [
        ("start", "Start text broadcast", "startTextBroadcast"),
        ("stop", "Stop text broadcast (at its next commit; start resumes)", "stopTextBroadcast"),
        ("archive", "Archive text broadcast", "archiveTextBroadcast"),
    ],
)


@router.get(
    "/texts/broadcasts/{id}/batches",
    response_model=cm.BatchPage,
    responses=_ERRORS,
    operation_id="getTextBroadcastBatches",
    summary="Find batches in a text broadcast",
)
def get_text_broadcast_batches(
    request: Request,
    who: ReadKey,
    id: Id,
    fields: Fields = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    layer = _layer(request)
    found, total = layer.batches(who.account, id, limit, offset)
    waiting = CallFilter(states=frozenset({"READY", "SELECTED", "CALLBACK"}))
    items = [cm.batch_json(b, layer.calls(who.account, id, waiting, 1, 0, b.id)[1]) for b in found]
    return _json({"items": items, "limit": limit, "offset": offset, "totalCount": total}, fields)


@router.post(
    "/texts/broadcasts/{id}/batches",
    response_model=cm.ResourceId,
    responses=_ERRORS,
    operation_id="addTextBroadcastBatch",
    summary="Add a batch of recipients (scrubDuplicates: leave out numbers already there)",
)
async def add_text_broadcast_batch(
    request: Request, who: WriteKey, id: Id, body: m.TextBatchRequest
) -> Response:
    async def produce() -> Response:
        _utf8(body.model_dump())
        if body.contactListId is not None:
            raise invalid("contactListId", "contact lists are not stored here; give recipients")
        people = _recipients(body.recipients)
        if not people:
            raise invalid("recipients", "at least one recipient is required")
        added = await run_in_threadpool(
            lambda: _layer(request).add_recipients(
                who.account,
                id,
                people,
                batch_name=body.name,
                scrub_duplicates=bool(body.scrubDuplicates),
            )
        )
        assert added.batch is not None
        return JSONResponse({"id": added.batch.id})

    return await run_once(request.app.state.db, who.account, request, produce)


@router.post(
    "/texts/broadcasts/{id}/recipients",
    response_model=m.TextList,
    responses=_ERRORS,
    operation_id="addTextBroadcastRecipients",
    summary="Add recipients to a text broadcast (one batch); returns their texts",
)
async def add_text_broadcast_recipients(
    request: Request,
    who: WriteKey,
    id: Id,
    body: list[m.TextRecipient],
    fields: Fields = None,
) -> Response:
    async def produce() -> Response:
        _utf8([r.model_dump() for r in body])
        people = _recipients(body, "body")
        if not people:
            raise invalid("body", "at least one recipient is required")
        layer = _layer(request)

        def work() -> dict[str, Any]:
            added = layer.add_recipients(who.account, id, people)
            assert added.batch is not None
            page = _texts_page(layer, who, id, CallFilter(), 1000, 0, added.batch.id)
            return {"items": page["items"]}

        return _json(await run_in_threadpool(work), fields)

    return await run_once(request.app.state.db, who.account, request, produce)


@router.get(
    "/texts/broadcasts/{id}/texts",
    response_model=m.TextPage,
    responses=_ERRORS,
    operation_id="getTextBroadcastTexts",
    summary="Find texts in a text broadcast (one per recipient, each with its records)",
)
def get_text_broadcast_texts(
    request: Request,
    who: ReadKey,
    id: Id,
    batchId: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    fields: Fields = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    page = _texts_page(_layer(request), who, id, CallFilter(), limit, offset, batchId)
    return _json(page, fields)


@router.get(
    "/texts/broadcasts/{id}/stats",
    response_model=m.TextBroadcastStatsDto,
    responses=_ERRORS,
    operation_id="getTextBroadcastStats",
    summary="Get statistics on text broadcast (begin/end are not applied: the whole broadcast)",
)
def get_text_broadcast_stats(
    request: Request,
    who: ReadKey,
    id: Id,
    fields: Fields = None,
    begin: Annotated[int | None, Query(ge=0)] = None,
    end: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    return _json(_layer(request).stats(who.account, id), fields)


# -- texts -------------------------------------------------------------------------------------
@router.get(
    "/texts",
    response_model=m.TextPage,
    responses=_ERRORS,
    operation_id="findTexts",
    summary="Find texts (of the account's text broadcasts)",
)
def find_texts(
    request: Request,
    who: ReadKey,
    fields: Fields = None,
    limit: Limit = 100,
    offset: Offset = 0,
    id: Annotated[
        list[Annotated[int, Query(ge=1, le=2**53)]] | None, Query(max_length=1000)
    ] = None,
    campaignId: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    batchId: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    toNumber: Annotated[str | None, Query(max_length=64)] = None,
    states: Annotated[str | None, Query(max_length=500)] = None,
    results: Annotated[str | None, Query(max_length=500)] = None,
    inbound: bool | None = None,
) -> Response:
    if inbound:  # replies are not shown as texts here (see recievedCount)
        return _json({"items": [], "limit": limit, "offset": offset, "totalCount": 0}, fields)
    where = CallFilter(
        states=_split(states, STATES, "states"),
        results=_results(results),
        ids=frozenset(id or ()),
        to_number=toNumber,
    )
    page = _texts_page(_layer(request), who, campaignId, where, limit, offset, batchId)
    return _json(page, fields)


@router.get(
    "/texts/{id}",
    response_model=m.Text,
    responses=_ERRORS,
    operation_id="getText",
    summary="Find a specific text",
)
def get_text(request: Request, who: ReadKey, id: Id, fields: Fields = None) -> Response:
    layer = _layer(request)
    b, row = layer.call(who.account, id)
    texts = layer.text_records([row.recipient_id])
    return _json(m.text_json(b, row, layer.batch_of(b.id, row.row_no), texts), fields)
