"""Dashboard pages: sign in and out, the flows list, a flow (graph, findings, simulate), upload."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from ...errors import DialplanError
from .. import flows, flowstore
from ..auth import Principal
from ..keys import find_key
from ..problems import ProblemError
from .render import document, page
from .session import (
    PREFIX,
    Operator,
    check_origin,
    check_post,
    clear_cookie,
    operator,
    safe_next,
    set_cookie,
)
from .views import lint_status, source_lines

router = APIRouter(prefix=PREFIX, include_in_schema=False)
Signed = Annotated[Operator, Depends(operator)]
#: largest flow accepted by the upload form, in characters (the API's body limit still applies)
MAX_FLOW_CHARS = 2_000_000


@router.get("")
def root() -> Response:
    return RedirectResponse(PREFIX + "/", status_code=307)


@router.get("/signin")
def signin_form(request: Request, next: str = "") -> Response:
    return page(request, "signin.html", next=safe_next(next), error=None)


@router.post("/signin")
def signin(
    request: Request, key: Annotated[str, Form()] = "", next: Annotated[str, Form()] = ""
) -> Response:
    check_origin(request)
    secret = key.strip()
    found = find_key(request.app.state.db, secret) if secret else None
    if found is None:
        error = "That API key is unknown or revoked." if secret else "Enter an API key."
        return page(request, "signin.html", 401, next=safe_next(next), error=error, who=None)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(response, request, secret)
    return response


@router.post("/signout")
def signout(request: Request, who: Signed, csrf: Annotated[str, Form()] = "") -> Response:
    check_post(request, who, csrf, scope="read")
    response = RedirectResponse(PREFIX + "/signin", status_code=303)
    clear_cookie(response, request)
    return response


@router.get("/")
def home(request: Request, who: Signed) -> Response:
    items = flowstore.list_flows(request.app.state.db, who.account, 500, 0)
    rows = [{"flow": v, "status": lint_status(v.findings)} for v in items]
    return page(request, "flows.html", who=who, rows=rows)


@router.get("/flows")
def flows_list() -> Response:
    return RedirectResponse(PREFIX + "/", status_code=307)


@router.get("/flows/new")
def upload_form(request: Request, who: Signed) -> Response:
    return page(request, "upload.html", who=who, name="", xml="", error=None, lines=None)


class _UploadError(Exception):
    """An upload the form refuses before the linter sees it (the message says why)."""


async def _uploaded_text(xml: str, file: UploadFile | None) -> str:
    """The chosen file's text (UTF-8, a BOM allowed) when there is one, else the pasted XML."""
    if file is not None and file.filename:
        data = await file.read(MAX_FLOW_CHARS + 1)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _UploadError(f"{file.filename}: not UTF-8 text (byte {exc.start})") from None
    return xml


@router.post("/flows")
async def upload(
    request: Request,
    who: Signed,
    csrf: Annotated[str, Form()] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    xml: Annotated[str, Form(max_length=MAX_FLOW_CHARS)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    check_post(request, who, csrf)
    db = request.app.state.db
    try:
        text = await _uploaded_text(xml, file)
        if not name.strip():
            raise _UploadError("Give the flow a name.")
        if not text.strip():
            raise _UploadError("Paste the dialplan XML or choose a file.")
        if len(text) > MAX_FLOW_CHARS:
            raise _UploadError(f"The flow is larger than {MAX_FLOW_CHARS:,} characters.")
        v = await run_in_threadpool(flowstore.create_flow, db, who.account, name.strip(), text)
    except _UploadError as exc:
        return page(
            request, "upload.html", 422, who=who, name=name, xml=xml, error=str(exc), lines=None
        )
    except ProblemError as exc:
        found = exc.extensions.get("diagnostics", [])
        lines, elsewhere = source_lines(text, found)
        return page(
            request,
            "upload.html",
            exc.status,
            who=who,
            name=name,
            xml=text,
            error=exc.detail,
            findings=found,
            lines=lines,
            elsewhere=elsewhere,
        )
    return RedirectResponse(f"{PREFIX}/flows/{v.flow_id}", status_code=303)


def _flow_context(request: Request, who: Operator, flow_id: str, version: int | None) -> Any:
    v = flowstore.get_version(request.app.state.db, who.account, flow_id, version)
    lines, elsewhere = source_lines(v.source, v.findings)
    return {
        "who": who,
        "flow": v,
        "versions": flowstore.list_versions(request.app.state.db, v.flow_id),
        "status": lint_status(v.findings),
        "lines": lines,
        "elsewhere": elsewhere,
        "form": {"inputs": "", "amd": "live", "transfer": "answered", "contact": ""},
        "result": None,
        "sim_error": None,
    }


@router.get("/flows/{flow_id}")
def flow_page(request: Request, who: Signed, flow_id: str, version: int | None = None) -> Response:
    return page(request, "flow.html", **_flow_context(request, who, flow_id, version))


@router.get("/flows/{flow_id}/graph.svg")
def flow_graph(request: Request, who: Signed, flow_id: str, version: int | None = None) -> Response:
    drawn = flows.graph(request, Principal(who.key), flow_id, "svg", version)
    return document(bytes(drawn.body), "image/svg+xml")


_PAIR = re.compile(r"^\s*([^=\s]+)\s*=(.*)$")


def _pairs(text: str) -> dict[str, str]:
    """``name=value`` lines (blank lines ignored); a line without ``=`` is an error."""
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        found = _PAIR.match(line)
        if found is None:
            raise DialplanError(f"contact line {n}: write name=value")
        out[found.group(1)] = found.group(2).strip()
    return out


@router.post("/flows/{flow_id}/simulate")
def simulate(
    request: Request,
    who: Signed,
    flow_id: str,
    csrf: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
    inputs: Annotated[str, Form(max_length=4000)] = "",
    amd: Annotated[str, Form()] = "live",
    transfer: Annotated[str, Form()] = "answered",
    contact: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    from ...drivers.simulate import simulate as run

    check_post(request, who, csrf)
    context = _flow_context(request, who, flow_id, version)
    context["form"] = {"inputs": inputs, "amd": amd, "transfer": transfer, "contact": contact}
    status = 200
    try:
        body = flows.SimulateRequest(
            version=version,
            amd=amd,  # type: ignore[arg-type]
            inputs=inputs.replace(",", " ").split(),
            transfer=transfer,  # type: ignore[arg-type]
            contact=_pairs(contact),
        )
        context["result"] = run(
            context["flow"].plan(),
            amd=body.amd,
            inputs=list(body.inputs),
            transfer=body.transfer,
            contact=body.contact,
            max_steps=body.max_steps,
            trace=True,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        context["sim_error"] = f"{where}: {first.get('msg', 'invalid')}"
        status = 422
    except DialplanError as exc:
        context["sim_error"] = str(exc)
        status = 422
    return page(request, "flow.html", status, **context)
