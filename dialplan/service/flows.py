"""``/v1/flows``: upload (linted), versions, findings, graph, routes and simulated calls."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.responses import JSONResponse, Response

from ..errors import DialplanError
from ..routes_doc import MAX_LOOPS
from . import flowstore
from .auth import ReadKey, WriteKey
from .idempotency import run_once
from .problems import ProblemError, problem_responses
from .sql import ServiceDatabase as Database
from .storage import iso

router = APIRouter(prefix="/v1/flows", tags=["flows"])

VersionParam = Annotated[
    int | None, Query(ge=1, le=1_000_000, description="A version number (default: the latest).")
]


class VersionUpload(BaseModel):
    """A new version of an existing flow: CallFire XML in ``xml``, or any format in ``source``."""

    model_config = ConfigDict(extra="forbid")

    xml: str | None = Field(
        default=None, min_length=1, description="The dialplan, CallFire XML (or give `source`)."
    )
    source: str | None = Field(
        default=None, min_length=1, description="The dialplan in `format` (instead of `xml`)."
    )
    format: Literal["xml", "yaml"] = Field(
        default="xml", description="`yaml`: a Callr Actions scenario (docs/callr-yaml.md)."
    )

    @model_validator(mode="after")
    def _one_source(self) -> VersionUpload:
        if (self.xml is None) == (self.source is None):
            raise ValueError("give the dialplan in exactly one of `xml` and `source`")
        if self.xml is not None and self.format != "xml":
            raise ValueError("`xml` holds CallFire XML: give a YAML scenario in `source`")
        return self

    @property
    def text(self) -> str:
        return self.xml if self.xml is not None else str(self.source)


class FlowUpload(VersionUpload):
    """A new flow: a name and its dialplan (CallFire XML or a Callr YAML scenario)."""

    name: str = Field(min_length=1, max_length=200, examples=["survey"])


#: raw upload bodies (``?name=`` names a new flow): media type → format
RAW_TYPES = {
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "text/x-yaml": "yaml",
    "application/xml": "xml",
    "text/xml": "xml",
}


def _upload_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of an upload: the JSON ``model`` or a raw XML/YAML document."""
    raw = {"schema": {"type": "string"}}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": model.model_json_schema()},
                "application/yaml": raw,
                "application/xml": raw,
            },
        }
    }


async def read_upload(request: Request, model: type[VersionUpload]) -> VersionUpload:
    """The upload in the request: JSON (``model``), or a raw body whose content type says
    its format (with the new flow's name in ``?name=``)."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    body = await request.body()
    fmt = RAW_TYPES.get(media)
    if fmt is None:
        if media != "application/json":
            raise ProblemError(
                415,
                "unsupported-media-type",
                f"Content-Type {media!r}: send application/json, an XML type or a YAML type",
            )
        try:
            return model.model_validate_json(body)
        except ValidationError as exc:
            raise _invalid(exc) from None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProblemError(422, "invalid-request", f"body: not UTF-8 ({exc.reason})") from None
    fields: dict[str, Any] = {"source": text, "format": fmt}
    if model is FlowUpload:
        fields["name"] = request.query_params.get("name", "")
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> RequestValidationError:
    """A body that does not validate, located as FastAPI locates body errors (``body.name``)."""
    errors = exc.errors(include_url=False)
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors])


class Finding(BaseModel):
    """One lint finding: the same 7 keys as ``dialplan lint --format json``."""

    file: str
    line: int
    column: int
    code: str
    severity: str
    message: str
    rule: str


class VersionInfo(BaseModel):
    version: int
    created_at: str


class FlowOut(BaseModel):
    """A flow at one version (its source included)."""

    id: str
    name: str
    version: int
    format: Literal["xml", "yaml"]
    created_at: str
    findings: list[Finding]
    source: str
    versions: list[VersionInfo]


class FlowSummary(BaseModel):
    id: str
    name: str
    version: int
    created_at: str
    warnings: int


class FlowList(BaseModel):
    items: list[FlowSummary]


class Findings(BaseModel):
    flow_id: str
    version: int
    findings: list[Finding]


class SimulateRequest(BaseModel):
    """One scripted call, as ``dialplan simulate`` takes it."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1, le=1_000_000)
    amd: Literal["live", "machine"] = "live"
    inputs: list[Annotated[str, Field(max_length=64)]] = Field(default=[], max_length=500)
    transfer: Literal["answered", "no_answer", "busy", "failed"] = "answered"
    variables: dict[str, Annotated[str, Field(max_length=10_000)]] = Field(
        default={}, max_length=200
    )
    contact: dict[str, Annotated[str, Field(max_length=10_000)]] = Field(default={}, max_length=200)
    http: dict[str, Annotated[str, Field(max_length=100_000)]] = Field(
        default={}, max_length=50, description="URL → body answered (status 200) to <get>/<post>."
    )
    callerid: str | None = Field(default=None, max_length=64)
    phonenumber: str | None = Field(default=None, max_length=64)
    now: str | None = Field(default=None, max_length=64, examples=["2026-01-05T15:30:00Z"])
    max_steps: int = Field(default=10_000, ge=1, le=10_000)


class SimulationResult(BaseModel):
    """The call result: the JSON of ``dialplan simulate --format json``."""

    model_config = ConfigDict(extra="allow")

    outcome: str
    error: str | None
    answered_by: str | None
    prompts: list[Any]
    responses: list[Any]
    variables: dict[str, Any]
    transfer: dict[str, Any] | None
    steps: int
    duration_s: float
    decisions: list[Any]
    effects: list[dict[str, Any]]
    warnings: list[str] = Field(default_factory=list)


class Route(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    ending: str
    inputs: list[str]
    assumptions: list[str]
    simulate: list[str]


class Routes(BaseModel):
    """The JSON of ``dialplan paths --format json``."""

    model_config = ConfigDict(extra="allow")

    file: str
    max_loops: int
    truncated: bool
    routes: list[Route]


def _flow_out(db: Database, v: flowstore.FlowVersion) -> dict[str, Any]:
    return {
        "id": v.flow_id,
        "name": v.name,
        "version": v.version,
        "format": v.format,
        "created_at": iso(v.created_at),
        "findings": v.findings,
        "source": v.source,
        "versions": [
            {"version": n, "created_at": iso(t)} for n, t in flowstore.list_versions(db, v.flow_id)
        ],
    }


_WRITE_ERRORS = problem_responses(400, 401, 403, 409, 413, 422, 429)
_UPLOAD_ERRORS = {**_WRITE_ERRORS, **problem_responses(415)}
_READ_ERRORS = problem_responses(401, 403, 404, 422, 429)


@router.post(
    "",
    status_code=201,
    response_model=FlowOut,
    responses=_UPLOAD_ERRORS,
    openapi_extra=_upload_body(FlowUpload),
    summary="Upload a flow, CallFire XML or Callr YAML (linted; refused with its diagnostics"
    " when it has errors)",
)
async def create_flow(
    request: Request,
    who: WriteKey,
    name: Annotated[
        str | None,
        Query(max_length=200, description="The flow's name, for a raw XML or YAML body."),
    ] = None,
) -> Response:
    db = request.app.state.db
    body = await read_upload(request, FlowUpload)
    assert isinstance(body, FlowUpload)

    async def produce() -> Response:
        v = await run_in_threadpool(
            flowstore.create_flow, db, who.account, body.name, body.text, body.format
        )
        return JSONResponse(
            _flow_out(db, v), status_code=201, headers={"Location": f"/v1/flows/{v.flow_id}"}
        )

    return await run_once(db, who.account, request, produce)


@router.get("", response_model=FlowList, responses=_READ_ERRORS, summary="List flows")
def list_flows(
    request: Request,
    who: ReadKey,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    items = flowstore.list_flows(request.app.state.db, who.account, limit, offset)
    return {
        "items": [
            {
                "id": v.flow_id,
                "name": v.name,
                "version": v.version,
                "created_at": iso(v.created_at),
                "warnings": len(v.findings),
            }
            for v in items
        ]
    }


@router.get("/{flow_id}", response_model=FlowOut, responses=_READ_ERRORS, summary="Get a flow")
def get_flow(
    request: Request, who: ReadKey, flow_id: str, version: VersionParam = None
) -> dict[str, Any]:
    db = request.app.state.db
    return _flow_out(db, flowstore.get_version(db, who.account, flow_id, version))


@router.post(
    "/{flow_id}/versions",
    status_code=201,
    response_model=FlowOut,
    responses={**_UPLOAD_ERRORS, **problem_responses(404)},
    openapi_extra=_upload_body(VersionUpload),
    summary="Upload a new version of a flow (XML or YAML)",
)
async def add_version(request: Request, who: WriteKey, flow_id: str) -> Response:
    db = request.app.state.db
    body = await read_upload(request, VersionUpload)

    async def produce() -> Response:
        v = await run_in_threadpool(
            flowstore.add_version, db, who.account, flow_id, body.text, body.format
        )
        return JSONResponse(
            _flow_out(db, v),
            status_code=201,
            headers={"Location": f"/v1/flows/{v.flow_id}?version={v.version}"},
        )

    return await run_once(db, who.account, request, produce)


@router.get(
    "/{flow_id}/versions/{version}",
    response_model=FlowOut,
    responses=_READ_ERRORS,
    summary="Get one version of a flow",
)
def get_version(
    request: Request,
    who: ReadKey,
    flow_id: str,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
) -> dict[str, Any]:
    db = request.app.state.db
    return _flow_out(db, flowstore.get_version(db, who.account, flow_id, version))


@router.get(
    "/{flow_id}/findings",
    response_model=Findings,
    responses=_READ_ERRORS,
    summary="The lint findings of a flow version (warnings and infos; errors are refused at upload)",
)
def findings(
    request: Request, who: ReadKey, flow_id: str, version: VersionParam = None
) -> dict[str, Any]:
    v = flowstore.get_version(request.app.state.db, who.account, flow_id, version)
    return {"flow_id": v.flow_id, "version": v.version, "findings": v.findings}


_GRAPH_TYPES = {
    "svg": "image/svg+xml",
    "mermaid": "text/plain; charset=utf-8",
    "dot": "text/vnd.graphviz; charset=utf-8",
}


@router.get(
    "/{flow_id}/graph",
    response_class=Response,
    responses={
        200: {
            "description": "The picture: SVG, Mermaid flowchart text or DOT text",
            "content": {
                "image/svg+xml": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
                "text/vnd.graphviz": {"schema": {"type": "string"}},
            },
        },
        **_READ_ERRORS,
        **problem_responses(503),
    },
    summary="Draw a flow (SVG through Graphviz, Mermaid or DOT)",
)
def graph(
    request: Request,
    who: ReadKey,
    flow_id: str,
    format: Literal["svg", "mermaid", "dot"] = "svg",
    version: VersionParam = None,
) -> Response:
    from ..pictures import SVG_MAX_ELEMENTS, picture, render_svg, to_dot, to_mermaid

    v = flowstore.get_version(request.app.state.db, who.account, flow_id, version)
    pic = picture(v.plan())
    if format == "mermaid":
        body: str | bytes = to_mermaid(pic)
    elif format == "dot":
        body = to_dot(pic)
    else:
        size = len(pic.boxes) + len(pic.arrows)
        if size > SVG_MAX_ELEMENTS:
            raise ProblemError(
                422,
                "flow-too-big-for-svg",
                f"the flow has {size:,} shapes and arrows; SVG is drawn up to {SVG_MAX_ELEMENTS}"
                " (Graphviz's layout needs minutes and gigabytes beyond): use format=mermaid or"
                " format=dot",
            )
        try:
            body = render_svg(to_dot(pic))
        except DialplanError as exc:
            raise ProblemError(503, "graphviz-unavailable", str(exc)) from None
    return Response(body, media_type=_GRAPH_TYPES[format])


@router.get(
    "/{flow_id}/routes",
    response_model=Routes,
    responses=_READ_ERRORS,
    summary="The distinct routes through a flow and the inputs that drive each",
)
def routes(
    request: Request,
    who: ReadKey,
    flow_id: str,
    version: VersionParam = None,
    max_loops: Annotated[int, Query(ge=0, le=MAX_LOOPS)] = 1,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    from ..replay import taken_routes
    from ..routes_doc import routes_document

    v = flowstore.get_version(request.app.state.db, who.account, flow_id, version)
    found = taken_routes(v.plan(), max_loops=max_loops, limit=limit)
    return routes_document(found, v.name)


def simulate_flow(v: flowstore.FlowVersion, body: SimulateRequest) -> dict[str, Any]:
    """Run ``dialplan.simulate`` on a stored version; bad script values are a 422 problem."""
    from ..drivers.simulate import simulate
    from ..drivers.simwarnings import simulate_warnings

    extra: dict[str, Any] = {}
    if body.callerid is not None:
        extra["callerid"] = body.callerid
    if body.phonenumber is not None:
        extra["phonenumber"] = body.phonenumber
    try:
        result = simulate(
            v.plan(),
            amd=body.amd,
            inputs=list(body.inputs),
            transfer=body.transfer,
            variables=body.variables,
            contact=body.contact,
            http=body.http or None,
            now=body.now,
            max_steps=body.max_steps,
            **extra,
        )
    except DialplanError as exc:
        raise ProblemError(422, "invalid-request", str(exc)) from None
    doc = result.to_dict()
    doc["warnings"] = simulate_warnings(v.plan(), result, list(body.inputs), body.contact)
    return doc


@router.post(
    "/{flow_id}/simulate",
    response_model=SimulationResult,
    responses={**_WRITE_ERRORS, **problem_responses(404)},
    summary="Simulate one scripted call through a flow (like `dialplan simulate --format json`)",
)
async def simulate(
    request: Request, who: WriteKey, flow_id: str, body: SimulateRequest
) -> Response:
    db = request.app.state.db

    async def produce() -> Response:
        def work() -> dict[str, Any]:
            v = flowstore.get_version(db, who.account, flow_id, body.version)
            return simulate_flow(v, body)

        return JSONResponse(await run_in_threadpool(work))

    return await run_once(db, who.account, request, produce)
