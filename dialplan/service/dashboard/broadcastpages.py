"""Dashboard pages of call broadcasts: list, a broadcast with live progress (server-sent
events), charts, start/stop, export and report links, and a form that starts a demo broadcast."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response, StreamingResponse

from .. import flowstore
from ..broadcasts import BroadcastInput, Broadcasts
from ..problems import ProblemError
from .broadcastdata import (
    MAX_DEMO_ROWS,
    SHOWN_STATS,
    CsvProblem,
    percent,
    progress_event,
    read_recipients,
)
from .render import document, page
from .session import PREFIX, Operator, check_post, operator

router = APIRouter(prefix=PREFIX + "/broadcasts", include_in_schema=False)
Signed = Annotated[Operator, Depends(operator)]
#: seconds an event stream waits for a change before it looks again (at whether the server is
#: stopping, whether the browser is still there)
POLL_S = 1.0
#: seconds of silence after which an event stream sends a keep-alive comment
KEEPALIVE_S = 15.0
#: largest recipients CSV accepted by the demo form, in characters
MAX_CSV_CHARS = 2_000_000
DEMO_CSV = """phone_number,firstName,sim_result,sim_inputs
+12125550101,Maria,LA,1
+12125550102,James,AM,
+12125550103,Aisha,LA,2
+12125550104,Tom,BUSY,
+12125550105,Lena,NO_ANS,
"""


def _layer(request: Request) -> Broadcasts:
    layer: Broadcasts = request.app.state.broadcasts
    return layer


@router.get("")
def broadcasts(request: Request, who: Signed) -> Response:
    layer = _layer(request)
    found, total = layer.find(who.account, limit=200)
    rows = [{"b": b, "percent": percent(layer.progress(who.account, b.id))} for b in found]
    return page(request, "broadcasts.html", who=who, rows=rows, total=total)


def _demo_context(who: Operator, request: Request, **form: Any) -> dict[str, Any]:
    flows = flowstore.list_flows(request.app.state.db, who.account, 500, 0)
    defaults = {
        "name": "Demo broadcast",
        "flow_id": flows[0].flow_id if flows else "",
        "from_number": "+12125550100",
        "csv": DEMO_CSV,
        "start": True,
        "error": None,
    }
    return {"who": who, "flows": flows, "form": defaults | form, "max_rows": MAX_DEMO_ROWS}


@router.get("/new")
def demo_form(request: Request, who: Signed) -> Response:
    return page(request, "demo.html", **_demo_context(who, request))


@router.post("")
async def create_demo(
    request: Request,
    who: Signed,
    csrf: Annotated[str, Form()] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    flow_id: Annotated[str, Form(max_length=100)] = "",
    from_number: Annotated[str, Form(max_length=64)] = "",
    csv: Annotated[str, Form(max_length=MAX_CSV_CHARS)] = "",
    file: Annotated[UploadFile | None, File()] = None,
    start: Annotated[str, Form()] = "",
) -> Response:
    check_post(request, who, csrf)
    form = {
        "name": name,
        "flow_id": flow_id,
        "from_number": from_number,
        "csv": csv,
        "start": bool(start),
    }
    try:
        text = csv
        if file is not None and file.filename:
            data = await file.read(MAX_CSV_CHARS + 1)
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise CsvProblem(f"{file.filename}: not UTF-8 text (byte {exc.start})") from None
        if not flow_id:
            raise CsvProblem("choose a flow (upload one first)")
        recipients = read_recipients(text)
        spec = BroadcastInput(
            {"name": name.strip() or "Demo broadcast", "fromNumber": from_number.strip()},
            flow_id=flow_id,
            recipients=recipients,
        )
        b = await run_in_threadpool(_layer(request).create, who.account, spec, start=bool(start))
    except CsvProblem as exc:
        context = _demo_context(who, request, **form, error=str(exc))
        return page(request, "demo.html", 422, **context)
    except ProblemError as exc:
        if exc.status not in (404, 409, 422):
            raise
        context = _demo_context(who, request, **form, error=exc.detail)
        return page(request, "demo.html", exc.status, **context)
    return RedirectResponse(f"{PREFIX}/broadcasts/{b.id}", status_code=303)


@router.get("/{broadcast_id}")
def broadcast_page(request: Request, who: Signed, broadcast_id: int) -> Response:
    layer = _layer(request)
    b = layer.get(who.account, broadcast_id)
    snap = layer.progress(who.account, broadcast_id)
    return page(
        request,
        "broadcast.html",
        who=who,
        b=b,
        p=progress_event(layer, b, snap),
        shown_stats=SHOWN_STATS,
    )


@router.post("/{broadcast_id}/{action}")
def control(
    request: Request,
    who: Signed,
    broadcast_id: int,
    action: str,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_post(request, who, csrf)
    layer = _layer(request)
    if action == "start":
        layer.start(who.account, broadcast_id)
    elif action == "stop":
        layer.stop(who.account, broadcast_id)
    else:
        raise ProblemError(404, "not-found", f"no action {action!r}")
    return RedirectResponse(f"{PREFIX}/broadcasts/{broadcast_id}", status_code=303)


def _exiting(request: Request) -> bool:
    """True once the server was asked to stop (``dialplan serve`` sets ``app.state.exiting``)."""
    check = getattr(request.app.state, "exiting", None)
    return bool(check()) if callable(check) else False


@router.get("/{broadcast_id}/events")
async def events(request: Request, who: Signed, broadcast_id: int) -> Response:
    """Server-sent events: a ``progress`` event now and at every change, until the broadcast
    is no longer running (then one last event with ``final: true``) or the server stops."""
    layer = _layer(request)
    layer.get(who.account, broadcast_id)  # 404 before the stream starts

    async def stream() -> AsyncIterator[str]:
        after = -1
        quiet_since = time.monotonic()
        yield "retry: 2000\n\n"  # the browser reconnects after 2 s if the stream breaks
        while not _exiting(request):
            snap = await run_in_threadpool(
                layer.wait_progress, who.account, broadcast_id, after, POLL_S
            )
            if snap.version != after or snap.status != "RUNNING":
                b = layer.get(who.account, broadcast_id)
                data = await run_in_threadpool(progress_event, layer, b, snap)
                yield f"event: progress\nid: {snap.version}\ndata: {json.dumps(data)}\n\n"
                if data["final"]:
                    return
                after = snap.version
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= KEEPALIVE_S:
                yield ": keep-alive\n\n"
                quiet_since = time.monotonic()
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.2)  # at most 5 events a second, however fast calls finish

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/{broadcast_id}/export.{fmt}")
def export(request: Request, who: Signed, broadcast_id: int, fmt: str) -> Response:
    import io

    if fmt not in ("csv", "json"):
        raise ProblemError(404, "not-found", f"no export format {fmt!r} (csv or json)")
    out = io.StringIO()
    _layer(request).export(who.account, broadcast_id, fmt, out)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    filename = f"broadcast-{broadcast_id}.{fmt}"
    return Response(
        out.getvalue(),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/{broadcast_id}/report")
def report(request: Request, who: Signed, broadcast_id: int) -> Response:
    return document(_layer(request).report_html(who.account, broadcast_id), "text/html")
