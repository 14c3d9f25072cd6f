"""``/v2/calls/broadcasts*`` and ``/v2/calls*``: CallFire's v2 call API on the broadcast layer.

Paths, JSON names, types and enumerations follow CallFire's Swagger description, so clients
generated from it work unchanged (authenticate with HTTP Basic, the API key as the password).
Extensions — export and report, and the campaign-file fields CallFire lacks — are listed in
docs/api.md. Every POST accepts an ``Idempotency-Key``; errors are problem+json.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

from . import callfire_models as m
from .auth import Principal, ReadKey, WriteKey
from .broadcasts import Broadcast, BroadcastInput, Broadcasts, CallFilter, Recipient
from .broadcasts.callrows import STATES
from .broadcasts.fields import invalid
from .idempotency import run_once
from .partial import select_fields
from .problems import ProblemError, problem_responses

router = APIRouter(prefix="/v2", tags=["callfire"])

Id = Annotated[int, Path(ge=1, le=2**53)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Fields = Annotated[str | None, Query(max_length=2000, description="partial response: a,b(c,d)")]
_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 422, 429)
_NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Done"}, **_ERRORS}


def _layer(request: Request) -> Broadcasts:
    layer: Broadcasts = request.app.state.broadcasts
    return layer.view("voice")  # text broadcasts are /v2/texts/broadcasts' (texts_api)


def _json(data: Any, fields: str | None = None) -> JSONResponse:
    return JSONResponse(select_fields(data, fields) if fields else data)


def _utf8(body: Any) -> None:
    """Strings that cannot be stored as UTF-8 (lone surrogates) are a 422, not a crash."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ProblemError(
            422, "invalid-request", f"body: not encodable as UTF-8 ({exc.reason})"
        ) from None


def _recipients(items: list[m.Recipient] | None, where: str = "recipients") -> list[Recipient]:
    out = []
    for i, r in enumerate(items or []):
        if r.contactId is not None and not r.phoneNumber:
            raise invalid(
                f"{where}[{i}].contactId", "contacts are not stored here; give phoneNumber"
            )
        if not r.phoneNumber:
            raise invalid(f"{where}[{i}].phoneNumber", "is required")
        out.append(Recipient(r.phoneNumber, dict(r.attributes or {})))
    return out


def _spec(body: m.CallBroadcast) -> BroadcastInput:
    _utf8(body.model_dump())
    settings = body.model_dump(
        exclude_none=True,
        exclude={"recipients", "dialplanXml", "flowId", "flowVersion", "id", "status"},
    )
    return BroadcastInput(
        settings=settings,
        dialplan_xml=body.dialplanXml,
        flow_id=body.flowId,
        flow_version=body.flowVersion,
        recipients=_recipients(body.recipients),
    )


def _split(text: str | None, allowed: tuple[str, ...], name: str) -> frozenset[str]:
    values = frozenset(v.strip().upper() for v in (text or "").split(",") if v.strip())
    unknown = sorted(values - set(allowed))
    if unknown:
        raise invalid(name, f"unknown value {unknown[0]!r} (use {', '.join(allowed)})")
    return values


def _calls_page(
    layer: Broadcasts,
    who: Principal,
    broadcast_id: int | None,
    where: CallFilter,
    limit: int,
    offset: int,
    batch_id: int | None,
) -> dict[str, Any]:
    rows, total = layer.calls(who.account, broadcast_id, where, limit, offset, batch_id)
    items = [m.call_json(b, r, layer.batch_of(b.id, r.row_no)) for b, r in rows]
    return {"items": items, "limit": limit, "offset": offset, "totalCount": total}


# -- broadcasts --------------------------------------------------------------------------------
@router.get(
    "/calls/broadcasts",
    response_model=m.CallBroadcastPage,
    responses=_ERRORS,
    operation_id="findCallBroadcasts",
    summary="Find call broadcasts",
)
def find_call_broadcasts(
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
    page = {
        "items": [b.to_api() for b in found],
        "limit": limit,
        "offset": offset,
        "totalCount": total,
    }
    return _json(page, fields)


@router.post(
    "/calls/broadcasts",
    response_model=m.ResourceId,
    responses=_ERRORS,
    operation_id="createCallBroadcast",
    summary="Create a call broadcast (start=true: and start it)",
)
async def create_call_broadcast(
    request: Request, who: WriteKey, body: m.CallBroadcast, start: bool = False
) -> Response:
    async def produce() -> Response:
        spec = _spec(body)
        b: Broadcast = await run_in_threadpool(
            _layer(request).create, who.account, spec, start=start
        )
        return JSONResponse({"id": b.id}, headers={"Location": f"/v2/calls/broadcasts/{b.id}"})

    return await run_once(request.app.state.db, who.account, request, produce)


@router.get(
    "/calls/broadcasts/{id}",
    response_model=m.CallBroadcast,
    responses=_ERRORS,
    operation_id="getCallBroadcast",
    summary="Find a specific call broadcast",
)
def get_call_broadcast(request: Request, who: ReadKey, id: Id, fields: Fields = None) -> Response:
    layer = _layer(request)
    data = layer.get(who.account, id).to_api()
    xml = layer.dialplan_xml(who.account, id)
    if xml is not None:  # a sound broadcast has its ``sounds`` instead
        data["dialplanXml"] = xml
    return _json(data, fields)


@router.put(
    "/calls/broadcasts/{id}",
    status_code=204,
    responses=_NO_CONTENT,
    operation_id="updateCallBroadcast",
    summary="Update a call broadcast (the fields given; recipients are added)",
)
def update_call_broadcast(
    request: Request, who: WriteKey, id: Id, body: m.CallBroadcast
) -> Response:
    _layer(request).update(who.account, id, _spec(body))
    return Response(status_code=204)


def add_actions(
    to: APIRouter, kind: str, channel: str, actions: Sequence[tuple[str, str, str]]
) -> None:
    """``POST /{kind}/broadcasts/{id}/<name>`` for each (name, summary, operationId): the layer's
    start, stop or archive on the ``channel`` view, idempotent like every POST (the text routes
    use it too)."""

    def route(name: str) -> Any:
        async def action(request: Request, who: WriteKey, id: Id) -> Response:
            layer = request.app.state.broadcasts.view(channel)

            async def produce() -> Response:
                await run_in_threadpool(getattr(layer, name), who.account, id)
                return Response(status_code=204)

            return await run_once(request.app.state.db, who.account, request, produce)

        return action

    for name, summary, operation_id in actions:
        to.add_api_route(
            f"/{kind}/broadcasts/{{id}}/{name}",
            route(name),
            methods=["POST"],
            status_code=204,
            responses=_NO_CONTENT,
            operation_id=operation_id,
            summary=summary,
        )


add_actions(
    router,
    "calls",
    "voice",
    [
        ("start", "Start voice broadcast", "startVoiceBroadcast"),
        ("stop", "Stop voice broadcast (at its next commit; start resumes)", "stopVoiceBroadcast"),
        ("archive", "Archive voice broadcast", "archiveVoiceBroadcast"),
    ],
)


@router.get(
    "/calls/broadcasts/{id}/batches",
    response_model=m.BatchPage,
    responses=_ERRORS,
    operation_id="getCallBroadcastBatches",
    summary="Find batches in a call broadcast",
)
def get_call_broadcast_batches(
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
    items = [m.batch_json(b, layer.calls(who.account, id, waiting, 1, 0, b.id)[1]) for b in found]
    return _json({"items": items, "limit": limit, "offset": offset, "totalCount": total}, fields)


@router.post(
    "/calls/broadcasts/{id}/batches",
    response_model=m.ResourceId,
    responses=_ERRORS,
    operation_id="addCallBroadcastBatch",
    summary="Add a batch of recipients (scrubDuplicates: leave out numbers already there)",
)
async def add_call_broadcast_batch(
    request: Request, who: WriteKey, id: Id, body: m.BatchRequest
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
    "/calls/broadcasts/{id}/recipients",
    response_model=m.CallList,
    responses=_ERRORS,
    operation_id="addCallBroadcastRecipients",
    summary="Add recipients to a call broadcast (one batch); returns their calls",
)
async def add_call_broadcast_recipients(
    request: Request, who: WriteKey, id: Id, body: list[m.Recipient], fields: Fields = None
) -> Response:
    async def produce() -> Response:
        _utf8([r.model_dump() for r in body])
        people = _recipients(body)
        if not people:
            raise invalid("body", "at least one recipient is required")
        layer = _layer(request)

        def work() -> dict[str, Any]:
            added = layer.add_recipients(who.account, id, people)
            assert added.batch is not None
            page = _calls_page(layer, who, id, CallFilter(), 1000, 0, added.batch.id)
            return {"items": page["items"]}

        return _json(await run_in_threadpool(work), fields)

    return await run_once(request.app.state.db, who.account, request, produce)


@router.get(
    "/calls/broadcasts/{id}/calls",
    response_model=m.CallPage,
    responses=_ERRORS,
    operation_id="getCallBroadcastCalls",
    summary="Find calls in a call broadcast (each with its attempts and questionResponses)",
)
def get_call_broadcast_calls(
    request: Request,
    who: ReadKey,
    id: Id,
    batchId: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    fields: Fields = None,
    limit: Limit = 100,
    offset: Offset = 0,
    states: Annotated[str | None, Query(max_length=500, description="extension")] = None,
    results: Annotated[str | None, Query(max_length=500, description="extension")] = None,
) -> Response:
    where = CallFilter(
        states=_split(states, STATES, "states"), results=_split(results, m.CALL_RESULTS, "results")
    )
    page = _calls_page(_layer(request), who, id, where, limit, offset, batchId)
    return _json(page, fields)


@router.get(
    "/calls/broadcasts/{id}/stats",
    response_model=m.CallBroadcastStats,
    responses=_ERRORS,
    operation_id="getCallBroadcastStats",
    summary="Get statistics on call broadcast (begin/end are not applied: the whole broadcast)",
)
def get_call_broadcast_stats(
    request: Request,
    who: ReadKey,
    id: Id,
    fields: Fields = None,
    begin: Annotated[int | None, Query(ge=0)] = None,
    end: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    return _json(_layer(request).stats(who.account, id), fields)


@router.get(
    "/calls/broadcasts/{id}/export",
    responses={
        200: {
            "description": "One row per recipient (the `broadcast export` contract)",
            "content": {"text/csv": {}, "application/json": {}},
        },
        **_ERRORS,
    },
    operation_id="exportCallBroadcast",
    summary="Extension: export every recipient with its attempts and answers (CSV or JSON)",
    response_class=Response,
)
def export_call_broadcast(
    request: Request, who: ReadKey, id: Id, format: Literal["csv", "json"] = "csv"
) -> Response:
    layer = _layer(request)
    fd, name = tempfile.mkstemp(prefix="export-", suffix=f".{format}", dir=layer.home)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            layer.export(who.account, id, format, out)
    except BaseException:
        os.unlink(name)
        raise
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    return FileResponse(
        name,
        media_type=media,
        filename=f"broadcast-{id}.{format}",
        background=BackgroundTask(os.unlink, name),
    )


@router.get(
    "/calls/broadcasts/{id}/report",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}, **_ERRORS},
    operation_id="getCallBroadcastReport",
    summary="Extension: the HTML report of a call broadcast",
)
def call_broadcast_report(request: Request, who: ReadKey, id: Id) -> HTMLResponse:
    return HTMLResponse(_layer(request).report_html(who.account, id))


# -- calls -------------------------------------------------------------------------------------
@router.get(
    "/calls",
    response_model=m.CallPage,
    responses=_ERRORS,
    operation_id="findCalls",
    summary="Find calls (of the account's call broadcasts)",
)
def find_calls(
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
    if inbound:  # no inbound calls are stored with broadcasts
        return _json({"items": [], "limit": limit, "offset": offset, "totalCount": 0}, fields)
    where = CallFilter(
        states=_split(states, STATES, "states"),
        results=_split(results, m.CALL_RESULTS, "results"),
        ids=frozenset(id or ()),
        to_number=toNumber,
    )
    page = _calls_page(_layer(request), who, campaignId, where, limit, offset, batchId)
    return _json(page, fields)


@router.post(
    "/calls",
    response_model=m.CallList,
    responses=_ERRORS,
    operation_id="sendCalls",
    summary="Send calls: into broadcast campaignId, or a new one from the recipients' dialplanXml",
)
async def send_calls(
    request: Request,
    who: WriteKey,
    body: list[m.CallRecipient],
    fields: Fields = None,
    campaignId: Annotated[int | None, Query(ge=1, le=2**53)] = None,
) -> Response:
    async def produce() -> Response:
        _utf8([r.model_dump() for r in body])
        if not body:
            raise invalid("body", "at least one recipient is required")
        for i, r in enumerate(body):
            for name in ("liveMessage", "machineMessage", "liveMessageSoundId", "voice"):
                if getattr(r, name) is not None:
                    raise invalid(f"body[{i}].{name}", "sound messages are not supported yet")
        xmls = {r.dialplanXml for r in body}
        if campaignId is None and (None in xmls or len(xmls) != 1):
            raise invalid("body", "give campaignId, or the same dialplanXml for every recipient")
        people = _recipients([m.Recipient(**r.model_dump(include={"phoneNumber", "contactId", "attributes"})) for r in body], "body")  # fmt: skip
        layer = _layer(request)

        def work() -> dict[str, Any]:
            bid = campaignId
            if bid is None:
                spec = BroadcastInput({"name": "calls"}, dialplan_xml=xmls.pop())
                bid = layer.create(who.account, spec).id
            added = layer.add_recipients(who.account, bid, people)
            layer.start(who.account, bid)
            assert added.batch is not None
            page = _calls_page(layer, who, bid, CallFilter(), 1000, 0, added.batch.id)
            return {"items": page["items"]}

        return _json(await run_in_threadpool(work), fields)

    return await run_once(request.app.state.db, who.account, request, produce)


@router.get(
    "/calls/{id}",
    response_model=m.Call,
    responses=_ERRORS,
    operation_id="getCall",
    summary="Find a specific call",
)
def get_call(request: Request, who: ReadKey, id: Id, fields: Fields = None) -> Response:
    layer = _layer(request)
    b, row = layer.call(who.account, id)
    return _json(m.call_json(b, row, layer.batch_of(b.id, row.row_no)), fields)
