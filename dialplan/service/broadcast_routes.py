"""The ``/v2`` routes call and text broadcasts share, made by one factory per kind.

CallFire's Swagger describes call broadcasts (``/v2/calls/broadcasts*``, ``/v2/calls*``) and
text broadcasts (``/v2/texts/broadcasts*``, ``/v2/texts*``) route by route alike: create, get,
find, update, start/stop/archive, batches, recipients, their calls or texts, stats, and find or
get one call or text. :func:`add_broadcast_routes` adds them all for a :class:`Kind` (its models,
the layer's channel, and the operation ids and summaries derived from its nouns); the modules of
each kind (``callfire``, ``texts_api``) add what is theirs alone (sending calls or texts).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

from .auth import Principal, ReadKey, WriteKey
from .broadcasts import Broadcast, BroadcastInput, Broadcasts, CallFilter, CallRow, Recipient
from .broadcasts.callrows import STATES
from .broadcasts.fields import invalid
from .broadcasts.values import kind_of
from .callfire_models import BatchPage, ResourceId, batch_json
from .idempotency import run_once
from .partial import select_fields
from .problems import ProblemError, problem_responses
from .sql import ServiceDatabase
from .texts_models import MESSAGE_COLUMN

Id = Annotated[int, Path(ge=1, le=2**53)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Fields = Annotated[str | None, Query(max_length=2000, description="partial response: a,b(c,d)")]
OptionalId = Annotated[int | None, Query(ge=1, le=2**53)]
ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 422, 429)
NO_CONTENT: dict[int | str, dict[str, Any]] = {204: {"description": "Done"}, **ERRORS}
#: the states of calls and texts that are still to be sent (a batch's ``remaining``)
_WAITING = CallFilter(states=frozenset({"READY", "SELECTED", "CALLBACK"}))

#: JSON of calls or texts: (the layer, the rows) → one CallFire Call or Text object per row
ItemsJson = Callable[[Broadcasts, Sequence[tuple[Broadcast, CallRow]]], list[dict[str, Any]]]


class RecipientBody(Protocol):
    """What a request's recipient has (CallFire's Recipient, TextRecipient, CallRecipient)."""

    phoneNumber: str | None
    contactId: int | None
    attributes: dict[str, str] | None


class MoreItems(Protocol):
    """Items of a kind that belong to no broadcast's recipient (the texts auto-replies sent):
    ``find{Items}`` lists them after the broadcasts' and ``get{Item}`` finds them by id."""

    def page(
        self,
        db: ServiceDatabase,
        account: str,
        broadcast_id: int | None,
        batch_id: int | None,
        where: CallFilter,
        limit: int,
        offset: int,
    ) -> tuple[list[dict[str, Any]], int]: ...

    def one(self, db: ServiceDatabase, account: str, item_id: int) -> dict[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of broadcast as the ``/v2`` routes show it."""

    #: the layer's channel (:meth:`Broadcasts.view`): ``voice`` or ``sms``
    channel: str
    #: the word of the start/stop/archive operation ids (``startVoiceBroadcast``)
    action_noun: str
    #: request models: the broadcast, a batch, a recipient
    broadcast: type[BaseModel]
    batch_request: type[BaseModel]
    recipient: type[BaseModel]
    #: response models: a page of broadcasts, a call or text, a page and a list of them, stats
    broadcast_page: type[BaseModel]
    item: type[BaseModel]
    item_page: type[BaseModel]
    item_list: type[BaseModel]
    stats: type[BaseModel]
    #: the API fields of a request body → what the layer creates or updates
    spec: Callable[[Any], BroadcastInput]
    #: the rows → CallFire's Call or Text objects
    items_json: ItemsJson
    #: the final results a ``results`` filter may name
    results: tuple[str, ...]
    #: what a broadcast's items are, in the summary of its items route
    items_summary: str
    #: what an export row has
    export_summary: str
    #: more fields of a broadcast's GET (``dialplanXml``): (layer, account, id) → fields
    more: Callable[[Broadcasts, str, int], dict[str, Any]] | None = None
    #: result names of the API → results as stored (``DNT`` → ``DNC``)
    stored_results: Callable[[frozenset[str]], frozenset[str]] = lambda names: names
    #: more items of ``find{Items}`` and ``get{Item}`` than the broadcasts' recipients
    more_items: MoreItems | None = None

    @property
    def noun(self) -> str:
        """``call`` or ``text``: a broadcast is a "call broadcast", one recipient's a "call"."""
        return kind_of(self.channel)

    @property
    def path(self) -> str:
        """The path segment: ``calls`` or ``texts``."""
        return f"{self.noun}s"

    @property
    def items(self) -> str:
        """``Calls`` or ``Texts`` (in operation ids)."""
        return self.path.capitalize()

    @property
    def cap(self) -> str:
        return self.noun.capitalize()

    def layer(self, request: Request) -> Broadcasts:
        layer: Broadcasts = request.app.state.broadcasts
        return layer.view(self.channel)

    def result_filter(self, text: str | None) -> frozenset[str]:
        return self.stored_results(split(text, self.results, "results"))


def json_response(data: Any, fields: str | None = None) -> JSONResponse:
    return JSONResponse(select_fields(data, fields) if fields else data)


def utf8(body: Any) -> None:
    """Strings that cannot be stored as UTF-8 (lone surrogates) are a 422, not a crash."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ProblemError(
            422, "invalid-request", f"body: not encodable as UTF-8 ({exc.reason})"
        ) from None


def split(text: str | None, allowed: tuple[str, ...], name: str) -> frozenset[str]:
    values = frozenset(v.strip().upper() for v in (text or "").split(",") if v.strip())
    unknown = sorted(values - set(allowed))
    if unknown:
        raise invalid(name, f"unknown value {unknown[0]!r} (use {', '.join(allowed)})")
    return values


def recipients(items: Sequence[RecipientBody] | None, where: str) -> list[Recipient]:
    """The layer's recipients of a request's (a text recipient's ``message`` becomes its
    :data:`MESSAGE_COLUMN`); a contact id without a number, or media, are a 422 naming them."""
    out = []
    for i, r in enumerate(items or []):
        if getattr(r, "media", None):
            raise invalid(f"{where}[{i}].media", "media (MMS) are not sent here")
        if r.contactId is not None and not r.phoneNumber:
            raise invalid(
                f"{where}[{i}].contactId", "contacts are not stored here; give phoneNumber"
            )
        if not r.phoneNumber:
            raise invalid(f"{where}[{i}].phoneNumber", "is required")
        attributes = dict(r.attributes or {})
        message = getattr(r, "message", None)
        if message is not None:
            attributes[MESSAGE_COLUMN] = message
        out.append(Recipient(r.phoneNumber, attributes))
    return out


def items_page(
    kind: Kind,
    layer: Broadcasts,
    who: Principal,
    broadcast_id: int | None,
    where: CallFilter,
    limit: int,
    offset: int,
    batch_id: int | None,
) -> dict[str, Any]:
    """A page of calls or texts (of one broadcast, or of all the account's of this kind)."""
    rows, total = layer.calls(who.account, broadcast_id, where, limit, offset, batch_id)
    items = kind.items_json(layer, rows)
    return {"items": items, "limit": limit, "offset": offset, "totalCount": total}


def added_items(
    kind: Kind,
    layer: Broadcasts,
    who: Principal,
    broadcast_id: int,
    people: Sequence[Recipient],
    start: bool = False,
) -> dict[str, Any]:
    """Add ``people`` as one batch (and ``start`` the broadcast); CallFire's list of their
    calls or texts."""
    added = layer.add_recipients(who.account, broadcast_id, people)
    assert added.batch is not None
    if start:
        layer.start(who.account, broadcast_id)
    page = items_page(kind, layer, who, broadcast_id, CallFilter(), 1000, 0, added.batch.id)
    return {"items": page["items"]}


def _typed(route: Callable[..., Any], body: Any) -> Callable[..., Any]:
    """``route`` with its ``body`` parameter of type ``body`` (the kind's model, which a
    module-level annotation cannot name)."""
    route.__annotations__["body"] = body
    return route


def _add(
    to: APIRouter,
    method: str,
    path: str,
    route: Callable[..., Any],
    operation_id: str,
    summary: str,
    model: type[BaseModel] | None = None,
    **more: Any,
) -> None:
    """One route answering ``model`` (or 204 with ``status_code=204``) and problem+json."""
    more.setdefault("responses", NO_CONTENT if more.get("status_code") == 204 else ERRORS)
    to.add_api_route(
        path,
        route,
        methods=[method],
        response_model=model,
        operation_id=operation_id,
        summary=summary,
        **more,
    )


def add_actions(to: APIRouter, kind: Kind) -> None:
    """``POST /{path}/broadcasts/{id}/start|stop|archive``: the layer's action on the kind's
    view, idempotent like every POST."""
    actions = [
        ("start", f"Start {kind.action_noun.lower()} broadcast"),
        ("stop", f"Stop {kind.action_noun.lower()} broadcast (at its next commit; start resumes)"),
        ("archive", f"Archive {kind.action_noun.lower()} broadcast"),
    ]

    def route(name: str) -> Any:
        async def action(request: Request, who: WriteKey, id: Id) -> Response:
            layer = kind.layer(request)

            async def produce() -> Response:
                await run_in_threadpool(getattr(layer, name), who.account, id)
                return Response(status_code=204)

            return await run_once(request.app.state.db, who.account, request, produce)

        return action

    for name, summary in actions:
        to.add_api_route(
            f"/{kind.path}/broadcasts/{{id}}/{name}",
            route(name),
            methods=["POST"],
            status_code=204,
            responses=NO_CONTENT,
            operation_id=f"{name}{kind.action_noun}Broadcast",
            summary=summary,
        )


def add_broadcast_routes(to: APIRouter, kind: Kind) -> None:
    """Every route the two kinds share, in the order FastAPI must match them (the
    broadcasts' routes before ``/{path}/{id}``)."""
    _add_broadcasts(to, kind)
    add_actions(to, kind)
    _add_batches(to, kind)
    _add_results(to, kind)
    _add_items(to, kind)


def _add_broadcasts(to: APIRouter, kind: Kind) -> None:
    where = f"/{kind.path}/broadcasts"
    noun = kind.noun

    def find(
        request: Request,
        who: ReadKey,
        fields: Fields = None,
        limit: Limit = 100,
        offset: Offset = 0,
        label: Annotated[str | None, Query(max_length=200)] = None,
        name: Annotated[str | None, Query(max_length=200)] = None,
        running: bool | None = None,
    ) -> Response:
        found, total = kind.layer(request).find(
            who.account, name=name, label=label, running=running, limit=limit, offset=offset
        )
        items = [b.to_api() for b in found]
        page = {"items": items, "limit": limit, "offset": offset, "totalCount": total}
        return json_response(page, fields)

    async def create(request: Request, who: WriteKey, body: Any, start: bool = False) -> Response:
        async def produce() -> Response:
            spec = kind.spec(body)
            b: Broadcast = await run_in_threadpool(
                kind.layer(request).create, who.account, spec, start=start
            )
            return JSONResponse({"id": b.id}, headers={"Location": f"/v2{where}/{b.id}"})

        return await run_once(request.app.state.db, who.account, request, produce)

    def get(request: Request, who: ReadKey, id: Id, fields: Fields = None) -> Response:
        layer = kind.layer(request)
        data = layer.get(who.account, id).to_api()
        if kind.more is not None:
            data.update(kind.more(layer, who.account, id))
        return json_response(data, fields)

    def update(request: Request, who: WriteKey, id: Id, body: Any) -> Response:
        kind.layer(request).update(who.account, id, kind.spec(body))
        return Response(status_code=204)

    _add(
        to,
        "GET",
        where,
        find,
        f"find{kind.cap}Broadcasts",
        f"Find {noun} broadcasts",
        kind.broadcast_page,
    )
    _add(
        to,
        "POST",
        where,
        _typed(create, kind.broadcast),
        f"create{kind.cap}Broadcast",
        f"Create a {noun} broadcast (start=true: and start it)",
        ResourceId,
    )
    _add(
        to,
        "GET",
        where + "/{id}",
        get,
        f"get{kind.cap}Broadcast",
        f"Find a specific {noun} broadcast",
        kind.broadcast,
    )
    _add(
        to,
        "PUT",
        where + "/{id}",
        _typed(update, kind.broadcast),
        f"update{kind.cap}Broadcast",
        f"Update a {noun} broadcast (the fields given; recipients are added)",
        status_code=204,
    )


def _add_batches(to: APIRouter, kind: Kind) -> None:
    where = f"/{kind.path}/broadcasts/{{id}}"

    def batches(
        request: Request,
        who: ReadKey,
        id: Id,
        fields: Fields = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Response:
        layer = kind.layer(request)
        found, total = layer.batches(who.account, id, limit, offset)
        items = [
            batch_json(b, layer.calls(who.account, id, _WAITING, 1, 0, b.id)[1]) for b in found
        ]
        page = {"items": items, "limit": limit, "offset": offset, "totalCount": total}
        return json_response(page, fields)

    async def add_batch(request: Request, who: WriteKey, id: Id, body: Any) -> Response:
        async def produce() -> Response:
            utf8(body.model_dump())
            if body.contactListId is not None:
                raise invalid("contactListId", "contact lists are not stored here; give recipients")
            people = recipients(body.recipients, "recipients")
            if not people:
                raise invalid("recipients", "at least one recipient is required")
            added = await run_in_threadpool(
                lambda: kind.layer(request).add_recipients(
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

    async def add_recipients(
        request: Request, who: WriteKey, id: Id, body: Any, fields: Fields = None
    ) -> Response:
        async def produce() -> Response:
            utf8([r.model_dump() for r in body])
            people = recipients(body, "body")
            if not people:
                raise invalid("body", "at least one recipient is required")
            layer = kind.layer(request)
            page = await run_in_threadpool(added_items, kind, layer, who, id, people)
            return json_response(page, fields)

        return await run_once(request.app.state.db, who.account, request, produce)

    _add(
        to,
        "GET",
        where + "/batches",
        batches,
        f"get{kind.cap}BroadcastBatches",
        f"Find batches in a {kind.noun} broadcast",
        BatchPage,
    )
    _add(
        to,
        "POST",
        where + "/batches",
        _typed(add_batch, kind.batch_request),
        f"add{kind.cap}BroadcastBatch",
        "Add a batch of recipients (scrubDuplicates: leave out numbers already there)",
        ResourceId,
    )
    _add(
        to,
        "POST",
        where + "/recipients",
        _typed(add_recipients, list[kind.recipient]),  # type: ignore[name-defined]
        f"add{kind.cap}BroadcastRecipients",
        f"Add recipients to a {kind.noun} broadcast (one batch); returns their {kind.path}",
        kind.item_list,
    )


def _add_results(to: APIRouter, kind: Kind) -> None:
    where = f"/{kind.path}/broadcasts/{{id}}"

    def items(
        request: Request,
        who: ReadKey,
        id: Id,
        batchId: OptionalId = None,
        fields: Fields = None,
        limit: Limit = 100,
        offset: Offset = 0,
        states: Annotated[str | None, Query(max_length=500, description="extension")] = None,
        results: Annotated[str | None, Query(max_length=500, description="extension")] = None,
    ) -> Response:
        where = CallFilter(
            states=split(states, STATES, "states"), results=kind.result_filter(results)
        )
        page = items_page(kind, kind.layer(request), who, id, where, limit, offset, batchId)
        return json_response(page, fields)

    def stats(
        request: Request,
        who: ReadKey,
        id: Id,
        fields: Fields = None,
        begin: Annotated[int | None, Query(ge=0)] = None,
        end: Annotated[int | None, Query(ge=0)] = None,
    ) -> Response:
        return json_response(kind.layer(request).stats(who.account, id), fields)

    def export(
        request: Request, who: ReadKey, id: Id, format: Literal["csv", "json"] = "csv"
    ) -> Response:
        layer = kind.layer(request)
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

    def report(request: Request, who: ReadKey, id: Id) -> HTMLResponse:
        return HTMLResponse(kind.layer(request).report_html(who.account, id))

    _add(
        to,
        "GET",
        f"{where}/{kind.path}",
        items,
        f"get{kind.cap}Broadcast{kind.items}",
        f"Find {kind.path} in a {kind.noun} broadcast ({kind.items_summary})",
        kind.item_page,
    )
    _add(
        to,
        "GET",
        f"{where}/stats",
        stats,
        f"get{kind.cap}BroadcastStats",
        f"Get statistics on {kind.noun} broadcast (begin/end are not applied: the whole broadcast)",
        kind.stats,
    )
    _add(
        to,
        "GET",
        f"{where}/export",
        export,
        f"export{kind.cap}Broadcast",
        f"Extension: export every recipient with {kind.export_summary} (CSV or JSON)",
        responses={
            200: {
                "description": "One row per recipient (the `broadcast export` contract)",
                "content": {"text/csv": {}, "application/json": {}},
            },
            **ERRORS,
        },
        response_class=Response,
    )
    _add(
        to,
        "GET",
        f"{where}/report",
        report,
        f"get{kind.cap}BroadcastReport",
        f"Extension: the HTML report of a {kind.noun} broadcast",
        response_class=HTMLResponse,
        responses={200: {"content": {"text/html": {}}}, **ERRORS},
    )


def _add_items(to: APIRouter, kind: Kind) -> None:
    """``GET /{path}`` (find) and ``GET /{path}/{id}`` (one); a module adds its ``POST
    /{path}`` (send) itself."""

    def find(
        request: Request,
        who: ReadKey,
        fields: Fields = None,
        limit: Limit = 100,
        offset: Offset = 0,
        id: Annotated[
            list[Annotated[int, Query(ge=1, le=2**53)]] | None, Query(max_length=1000)
        ] = None,
        campaignId: OptionalId = None,
        batchId: OptionalId = None,
        toNumber: Annotated[str | None, Query(max_length=64)] = None,
        states: Annotated[str | None, Query(max_length=500)] = None,
        results: Annotated[str | None, Query(max_length=500)] = None,
        inbound: bool | None = None,
    ) -> Response:
        if inbound:  # inbound calls and replies are not stored with broadcasts
            empty = {"items": [], "limit": limit, "offset": offset, "totalCount": 0}
            return json_response(empty, fields)
        where = CallFilter(
            states=split(states, STATES, "states"),
            results=kind.result_filter(results),
            ids=frozenset(id or ()),
            to_number=toNumber,
        )
        layer = kind.layer(request)
        page = items_page(kind, layer, who, campaignId, where, limit, offset, batchId)
        if kind.more_items is not None:  # after the broadcasts' items, paged as one list
            seen = page["totalCount"]
            more, n = kind.more_items.page(
                request.app.state.db,
                who.account,
                campaignId,
                batchId,
                where,
                limit - len(page["items"]),
                max(0, offset - seen),
            )
            page["items"].extend(more)
            page["totalCount"] = seen + n
        return json_response(page, fields)

    def get(request: Request, who: ReadKey, id: Id, fields: Fields = None) -> Response:
        if kind.more_items is not None:
            found = kind.more_items.one(request.app.state.db, who.account, id)
            if found is not None:
                return json_response(found, fields)
        layer = kind.layer(request)
        return json_response(kind.items_json(layer, [layer.call(who.account, id)])[0], fields)

    _add(
        to,
        "GET",
        f"/{kind.path}",
        find,
        f"find{kind.items}",
        f"Find {kind.path} (of the account's {kind.noun} broadcasts)",
        kind.item_page,
    )
    _add(
        to,
        "GET",
        f"/{kind.path}/{{id}}",
        get,
        f"get{kind.cap}",
        f"Find a specific {kind.noun}",
        kind.item,
    )
