"""``/v1/calls``: place one call through a stored flow in ``sync``, ``poll`` or ``webhook`` mode."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
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


def book_of(request: Request) -> CallBook:
    book: CallBook = request.app.state.calls
    return book


@dataclass(frozen=True, slots=True)
class CallSpec:
    """One call to start, from ``POST /v1/calls`` or a compatibility endpoint (checked there).

    ``style`` shapes the webhook events (``outbound``: this API's; ``enablex``: EnableX's);
    ``batch`` ties the call to the request that started several (stored with the call)."""

    flow_id: str
    to: str
    caller_id: str
    flow_version: int | None = None
    variables: dict[str, str] = field(default_factory=dict)
    detect_answering_machine: bool = False
    mode: str = "poll"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    simulation: Simulation = field(default_factory=Simulation)
    style: str = "outbound"
    batch: dict[str, Any] | None = None


def spec_of(body: CallCreate) -> CallSpec:
    return CallSpec(
        flow_id=body.flow_id,
        flow_version=body.flow_version,
        to=body.to,
        caller_id=body.caller_id,
        variables=dict(body.variables),
        detect_answering_machine=body.detect_answering_machine,
        mode=body.mode,
        webhook_url=body.webhook_url,
        webhook_secret=body.webhook_secret,
        simulation=body.simulation,
    )


def check_webhook_url(request: Request, url: str, field_name: str) -> None:
    """A 422 problem unless ``url`` passes the private-address guard (``serve --allow-private``)."""
    try:
        check_url(url, request.app.state.settings.allow_private)
    except UnsafeUrl as exc:
        raise ProblemError(422, "unsafe-url", f"{field_name}: {exc.reason}") from None


def prepare(request: Request, who: Principal, spec: CallSpec) -> tuple[str, CallOrder]:
    """Check the request, store the call and build the order (not placed yet)."""
    if spec.mode == "webhook":
        if not spec.webhook_url or not spec.webhook_secret:
            raise ProblemError(
                422, "invalid-request", "mode webhook needs webhook_url and webhook_secret"
            )
        check_webhook_url(request, spec.webhook_url, "webhook_url")
    try:
        inputs = tuple(check_input(i) for i in spec.simulation.inputs)
    except DialplanError as exc:
        raise ProblemError(422, "invalid-request", f"simulation.inputs: {exc}") from None
    version = flowstore.get_version(
        request.app.state.db, who.account, spec.flow_id, spec.flow_version
    )
    book = book_of(request)
    call_id = book.create(
        who.account,
        version.flow_id,
        version.version,
        CallRequest(
            to=spec.to,
            caller_id=spec.caller_id,
            variables=dict(spec.variables),
            detect_answering_machine=spec.detect_answering_machine,
            mode=spec.mode,
            webhook_url=spec.webhook_url if spec.mode == "webhook" else None,
            webhook_secret=spec.webhook_secret if spec.mode == "webhook" else None,
            simulation=spec.simulation.model_dump(),
            style=spec.style,
            batch=spec.batch,
        ),
    )
    order = CallOrder(
        call_id=call_id,
        plan=version.plan(),
        to=spec.to,
        caller_id=spec.caller_id,
        variables=dict(spec.variables),
        detect_answering_machine=spec.detect_answering_machine,
        script=SimScript(
            result=spec.simulation.result,
            amd=spec.simulation.amd,
            inputs=inputs,
            ring_s=spec.simulation.ring_s,
        ),
        prompts=spec.style == "enablex",
    )
    return call_id, order


def start(request: Request, who: Principal, spec: CallSpec) -> str:
    """Store and place one call (it runs in the background); its id."""
    call_id, order = prepare(request, who, spec)
    book_of(request).place(order)
    return call_id


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
    book = book_of(request)
    limit = request.app.state.settings.sync_limit_s

    async def produce() -> Response:
        call_id, order = await run_in_threadpool(prepare, request, who, spec_of(body))
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
    return {"items": book_of(request).list(who.account, limit, offset)}


@router.get(
    "/{call_id}",
    response_model=Call,
    responses=problem_responses(401, 403, 404, 422, 429),
    summary="A call's status and, once final, its outcome",
)
def get_call(request: Request, who: ReadKey, call_id: str) -> dict[str, Any]:
    return book_of(request).get(who.account, call_id)


@router.get(
    "/{call_id}/webhooks",
    response_model=Deliveries,
    responses=problem_responses(401, 403, 404, 422, 429),
    summary="The webhook events of a call and their delivery state",
)
def deliveries(request: Request, who: ReadKey, call_id: str) -> dict[str, Any]:
    book_of(request).get(who.account, call_id)  # 404 unless the call is the account's
    return {"call_id": call_id, "items": outbox.deliveries(request.app.state.db, call_id)}
