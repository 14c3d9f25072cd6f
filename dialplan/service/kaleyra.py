"""Kaleyra's ``POST /v1/{sid}/voice/outbound``: a stored flow (its "IVR") called for up to 100 numbers.

Form-encoded ``to`` (comma-separated numbers), ``bridge`` (the caller ID) and ``target``
(``[{"ivr":["<flow id>"]}]``, or the bare flow id as in Kaleyra's sample request). Each number is
one single call in poll mode (:func:`.calls.start`); the reply is Kaleyra's ``RBC3007``
"Submitted Successfully" document, with the ids of the calls added (``data.calls``), or
``RBC3115`` "IVR not found" (404) when the flow is not the account's. The ``sid`` is the account.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import JSONResponse, Response

from . import calls, flowstore
from .auth import WriteKey
from .idempotency import run_once
from .problems import ProblemError, problem_responses

router = APIRouter(tags=["compatibility: Kaleyra"])

MAX_NUMBERS = 100
#: E.164 with or without its "+" (Kaleyra's samples write both)
_NUMBER = re.compile(r"^\+?[1-9][0-9]{6,14}$")


class KaleyraData(BaseModel):
    to: str
    target: list[dict[str, list[str]]]
    bridge: str
    calls: list[dict[str, str]] = []


class KaleyraReply(BaseModel):
    """Kaleyra's reply document (``code``, ``message``, ``data``, ``error``)."""

    code: str
    message: str
    data: KaleyraData | list[KaleyraData]
    error: dict[str, str]


def e164(raw: str, field_name: str) -> str:
    """``raw`` as ``+digits``; a 422 problem naming the field when it is not an E.164 number."""
    number = raw.strip()
    if not _NUMBER.match(number):
        raise ProblemError(
            422, "invalid-request", f"{field_name}: {number!r} is not an E.164 number"
        )
    return number if number.startswith("+") else "+" + number


def flow_of(target: str) -> str:
    """The one flow id of ``target``; a 422 problem when it names none or several."""
    text = target.strip()
    if not text.startswith("["):
        ivr: Any = [text]
    else:
        try:
            parsed = json.loads(text)
            ivr = [i for t in parsed for i in t["ivr"]]
        except (ValueError, TypeError, KeyError) as exc:
            raise ProblemError(
                422,
                "invalid-request",
                f'target: expected [{{"ivr":["<flow id>"]}}] ({type(exc).__name__})',
            ) from None
    if len(ivr) != 1 or not isinstance(ivr[0], str) or not ivr[0]:
        raise ProblemError(422, "invalid-request", "target: exactly one IVR (flow id) per request")
    return str(ivr[0])


class OutboundForm(BaseModel):
    """The form fields (``application/x-www-form-urlencoded``)."""

    model_config = ConfigDict(extra="ignore")

    to: str = Field(max_length=2000, description="Up to 100 comma-separated numbers.")
    bridge: str = Field(max_length=32, description="The caller ID (E.164).")
    target: str = Field(max_length=1000, examples=['[{"ivr":["flw_0123456789abcdef"]}]'])


async def _form(request: Request) -> OutboundForm:
    """The form, read from the raw body (which the Idempotency-Key check reads again)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise ProblemError(415, "unsupported-media-type", "send application/x-www-form-urlencoded")
    try:
        fields = parse_qs((await request.body()).decode("utf-8"), max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProblemError(400, "bad-request", f"form: {exc}") from None
    try:
        return OutboundForm.model_validate({k: v[-1] for k, v in fields.items()})
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


@router.post(
    "/v1/{sid}/voice/outbound",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": OutboundForm.model_json_schema()}
            },
        }
    },
    response_model=KaleyraReply,
    responses={
        404: {"model": KaleyraReply, "description": "RBC3115: IVR not found"},
        **problem_responses(400, 401, 403, 409, 413, 415, 422, 429),
    },
    summary="Kaleyra: call up to 100 numbers through a stored flow (its IVR)",
)
async def outbound(request: Request, who: WriteKey, sid: str) -> Response:
    form = await _form(request)
    to, bridge, target = form.to, form.bridge, form.target
    if sid != who.account:
        raise ProblemError(404, "not-found", f"no account {sid!r} for this API key")
    numbers = [n for n in to.split(",") if n.strip()]
    if not numbers or len(numbers) > MAX_NUMBERS:
        raise ProblemError(
            422, "invalid-request", f"to: 1 to {MAX_NUMBERS} comma-separated numbers"
        )
    destinations = [e164(n, "to") for n in numbers]
    caller = e164(bridge, "bridge")
    flow_id = flow_of(target)
    echo: dict[str, Any] = {"to": to, "target": [{"ivr": [flow_id]}], "bridge": bridge}
    db = request.app.state.db

    async def produce() -> Response:
        def work() -> Response:
            try:
                flowstore.get_version(db, who.account, flow_id, None)
            except ProblemError as exc:
                if exc.status != 404:
                    raise
                missing: dict[str, Any] = {
                    "code": "RBC3115",
                    "message": "IVR not found",
                    "data": [echo],
                    "error": {"scalar": "IVR not found"},
                }
                return JSONResponse(missing, status_code=404)
            started = [
                {
                    "to": number,
                    "id": calls.start(
                        request, who, calls.CallSpec(flow_id=flow_id, to=number, caller_id=caller)
                    ),
                }
                for number in destinations
            ]
            body: dict[str, Any] = {
                "code": "RBC3007",
                "message": "Submitted Successfully",
                "data": {**echo, "calls": started},
                "error": {},
            }
            return JSONResponse(body)

        return await run_in_threadpool(work)

    return await run_once(db, who.account, request, produce)
