"""``/v1/calls``: place one call through a stored flow in ``sync``, ``poll`` or ``webhook`` mode."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from ..drivers.sim import check_input
from ..errors import DialplanError
from ..netguard import UnsafeUrl, check_url
from . import flowstore, outbox
from .auth import Principal, ReadKey, WriteKey
from .callstore import CallBook, CallRequest
from .flows import SimulationResult
from .idempotency import run_once
from .problems import ProblemError, problem_responses
from .runner import CallOrder, SimScript

router = APIRouter(prefix="/v1/calls", tags=["calls"])

E164_OR_SIP = r"^(\+[1-9][0-9]{6,14}|sips?:[^\s@<>\"]+@[^\s<>\"]+)$"


class Simulation(BaseModel):
    """How the simulated driver plays the call (ignored by real telephony)."""

    model_config = ConfigDict(extra="forbid")

    result: Literal["answered", "busy", "no-answer", "failed"] = "answered"
    amd: Literal["live", "machine"] = Field(
        default="live", description="What answers: a person (live) or a machine."
    )
    inputs: list[Annotated[str, Field(max_length=64)]] = Field(default=[], max_length=500)
    ring_s: float = Field(
        default=0.0, ge=0, le=60, description="Real seconds before the call is answered or fails."
    )


class CallCreate(BaseModel):
    """One call to place."""

    model_config = ConfigDict(extra="forbid")

    flow_id: str = Field(max_length=64, examples=["flw_0123456789abcdef"])
    flow_version: int | None = Field(default=None, ge=1, le=1_000_000)
    to: str = Field(pattern=E164_OR_SIP, max_length=256, examples=["+15555550123"])
    caller_id: str = Field(pattern=E164_OR_SIP, max_length=256, examples=["+15555550100"])
    variables: dict[
        Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=10_000)]
    ] = Field(default={}, max_length=200)
    detect_answering_machine: bool = False
    mode: Literal["sync", "poll", "webhook"] = "poll"
    webhook_url: str | None = Field(default=None, max_length=2048)
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=256)
    simulation: Simulation = Simulation()


class Call(BaseModel):
    """A call and, once it ended, its outcome."""

    id: str
    flow_id: str
    flow_version: int
    to: str
    caller_id: str
    mode: Literal["sync", "poll", "webhook"]
    variables: dict[str, str]
    detect_answering_machine: bool
    webhook_url: str | None
    status: Literal["queued", "in-progress", "completed", "busy", "no-answer", "failed", "canceled"]
    final: bool
    answered_by: Literal["human", "machine"] | None
    failure_reason: str | None
    result: SimulationResult | None
    created_at: str | None
    answered_at: str | None
    ended_at: str | None


class CallList(BaseModel):
    items: list[Call]


class Delivery(BaseModel):
    event_id: str
    event: str
    attempts: int
    delivered: bool
    delivered_at: str | None
    last_error: str | None


class Deliveries(BaseModel):
    call_id: str
    items: list[Delivery]


def _book(request: Request) -> CallBook:
    book: CallBook = request.app.state.calls
    return book


def _prepare(request: Request, who: Principal, body: CallCreate) -> tuple[str, CallOrder]:
    """Check the request, store the call and build the order (not placed yet)."""
    settings = request.app.state.settings
    if body.mode == "webhook":
        if not body.webhook_url or not body.webhook_secret:
            raise ProblemError(
                422, "invalid-request", "mode webhook needs webhook_url and webhook_secret"
            )
        try:
            check_url(body.webhook_url, settings.allow_private)
        except UnsafeUrl as exc:
            raise ProblemError(422, "unsafe-url", f"webhook_url: {exc.reason}") from None
    try:
        inputs = tuple(check_input(i) for i in body.simulation.inputs)
    except DialplanError as exc:
        raise ProblemError(422, "invalid-request", f"simulation.inputs: {exc}") from None
    version = flowstore.get_version(
        request.app.state.db, who.account, body.flow_id, body.flow_version
    )
    book = _book(request)
    call_id = book.create(
        who.account,
        version.flow_id,
        version.version,
        CallRequest(
            to=body.to,
            caller_id=body.caller_id,
            variables=dict(body.variables),
            detect_answering_machine=body.detect_answering_machine,
            mode=body.mode,
            webhook_url=body.webhook_url if body.mode == "webhook" else None,
            webhook_secret=body.webhook_secret if body.mode == "webhook" else None,
            simulation=body.simulation.model_dump(),
        ),
    )
    order = CallOrder(
        call_id=call_id,
        plan=version.plan(),
        to=body.to,
        caller_id=body.caller_id,
        variables=dict(body.variables),
        detect_answering_machine=body.detect_answering_machine,
        script=SimScript(
            result=body.simulation.result,
            amd=body.simulation.amd,
            inputs=inputs,
            ring_s=body.simulation.ring_s,
        ),
    )
    return call_id, order


@router.post(
    "",
    status_code=202,
    response_model=Call,
    responses={
        200: {"model": Call, "description": "sync mode: the call ended within the limit"},
        202: {"model": Call, "description": "Accepted: poll the Location for the outcome"},
        **problem_responses(400, 401, 403, 404, 409, 413, 422, 429),
    },
    summary="Place a call through a stored flow (sync, poll or webhook mode)",
)
async def create_call(request: Request, who: WriteKey, body: CallCreate) -> Response:
    book = _book(request)
    limit = request.app.state.settings.sync_limit_s

    async def produce() -> Response:
        call_id, order = await run_in_threadpool(_prepare, request, who, body)
        location = {"Location": f"/v1/calls/{call_id}"}
        if body.mode != "sync":
            book.place(order)
            call = await run_in_threadpool(book.get, who.account, call_id)
            return JSONResponse(call, status_code=202, headers=location)
        done = book.waiter(call_id)
        try:
            book.place(order)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=limit)
        finally:
            book.forget(call_id, done)
        call = await run_in_threadpool(book.get, who.account, call_id)
        return JSONResponse(call, status_code=200 if call["final"] else 202, headers=location)

    return await run_once(request.app.state.db, who.account, request, produce)


@router.get(
    "",
    response_model=CallList,
    responses=problem_responses(401, 403, 422, 429),
    summary="List calls",
)
def list_calls(
    request: Request,
    who: ReadKey,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    return {"items": _book(request).list(who.account, limit, offset)}


@router.get(
    "/{call_id}",
    response_model=Call,
    responses=problem_responses(401, 403, 404, 422, 429),
    summary="A call's status and, once final, its outcome",
)
def get_call(request: Request, who: ReadKey, call_id: str) -> dict[str, Any]:
    return _book(request).get(who.account, call_id)


@router.get(
    "/{call_id}/webhooks",
    response_model=Deliveries,
    responses=problem_responses(401, 403, 404, 422, 429),
    summary="The webhook events of a call and their delivery state",
)
def deliveries(request: Request, who: ReadKey, call_id: str) -> dict[str, Any]:
    _book(request).get(who.account, call_id)  # 404 unless the call is the account's
    return {"call_id": call_id, "items": outbox.deliveries(request.app.state.db, call_id)}
