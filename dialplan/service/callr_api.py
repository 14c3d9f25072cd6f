"""Callr's ``POST /v2.0/actions/{scenario}/runs``: start a stored flow's broadcast leg with variables.

The scenario is a stored flow (YAML or XML); ``variables`` are the run's (``$name``: value);
``$target`` is the number to call, as the document's scenario dials it (``dial@v1`` with
``number: ${{ $target }}``), for XML flows too. The run is one single call in poll mode
(:func:`.calls.start`): the reply is the run (its ``sid`` is the call's id), and
``GET /v2.0/actions/{scenario}/runs/{sid}`` reads it back with the call's status and result.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from . import calls, flowstore
from .auth import ReadKey, WriteKey
from .idempotency import run_once
from .problems import ProblemError, problem_responses

router = APIRouter(prefix="/v2.0/actions", tags=["compatibility: Callr"])

_TARGET = re.compile(calls.E164_OR_SIP)
_NAME = re.compile(r"^\$?[A-Za-z_][A-Za-z0-9_]*$")

VarName = Annotated[str, Field(max_length=100, pattern=_NAME.pattern)]


class RunCreate(BaseModel):
    """A run of a scenario: its variables (``$target`` is the number to call)."""

    model_config = ConfigDict(extra="forbid")

    variables: dict[VarName, str | int | float | bool | None] = Field(
        max_length=200, examples=[{"$target": "+33639980042", "$userID": "1234"}]
    )
    from_: str | None = Field(
        default=None,
        alias="from",
        pattern=calls.E164_OR_SIP,
        max_length=256,
        description="Extension: the caller ID (default: the SIP trunk's `from_user`).",
    )


class Run(BaseModel):
    """A run: ``sid`` (the call's id), its scenario, status, variables and, once over, result."""

    sid: str
    scenario: str
    status: str
    target: str
    variables: dict[str, Any]
    created: str | None
    ended: str | None
    result: dict[str, Any] | None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _run_out(call: dict[str, Any]) -> dict[str, Any]:
    return {
        "sid": call["id"],
        "scenario": call["flow_id"],
        "status": call["status"],
        "target": call["to"],
        "variables": {f"${k}": v for k, v in call["variables"].items()},
        "created": call["created_at"],
        "ended": call["ended_at"],
        "result": call["result"],
    }


@router.post(
    "/{scenario}/runs",
    response_model=Run,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429),
    summary="Callr: run a scenario (a stored flow) for `$target`",
)
async def create_run(request: Request, who: WriteKey, scenario: str, body: RunCreate) -> Response:
    variables = {name.lstrip("$"): _text(v) for name, v in body.variables.items()}
    target = variables.get("target", "").strip()
    if not target:
        raise ProblemError(422, "invalid-request", "variables: `$target` (the number to call)")
    if not _TARGET.match(target):
        raise ProblemError(
            422, "invalid-request", f"variables.$target: {target!r} is not E.164 or a sip: URI"
        )
    spec = calls.CallSpec(
        flow_id=scenario, to=target, caller_id=body.from_ or "", variables=variables
    )
    book = calls.book_of(request)
    db = request.app.state.db

    async def produce() -> Response:
        def work() -> Response:
            call_id = calls.start(request, who, spec)
            return JSONResponse(_run_out(book.get(who.account, call_id)))

        return await run_in_threadpool(work)

    return await run_once(db, who.account, request, produce)


@router.get(
    "/{scenario}/runs/{sid}",
    response_model=Run,
    responses=problem_responses(401, 403, 404, 422, 429),
    summary="Callr: a run's status and, once over, its result",
)
def get_run(request: Request, who: ReadKey, scenario: str, sid: str) -> dict[str, Any]:
    flowstore.flow_name(request.app.state.db, who.account, scenario)  # 404 for another's
    call = calls.book_of(request).get(who.account, sid)
    if call["flow_id"] != scenario:
        raise ProblemError(404, "not-found", f"scenario {scenario!r} has no run {sid!r}")
    return _run_out(call)
