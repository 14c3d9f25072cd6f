"""EnableX's Broadcast API: ``POST /voice/v1/broadcast`` and the per-call controls (play, hang up).

Each recipient's ``play`` becomes a small stored flow (the audio, then the line held
``hold_s`` seconds for the per-call controls, then hang up — EnableX leaves an idle call open
until told), and each recipient one single call of it (:func:`.calls.start`): webhook mode
towards ``event_url`` with EnableX's event shapes (:mod:`.enablex_events`), poll mode without
one. The reply sorts the recipients into EnableX's buckets: ``call_initiated`` (with each
leg's ``voice_id``, the call's id), ``call_blacklisted`` (on the account's do-not-call list,
``/v1/dnc``) and ``country_not_allowed`` (outside the request's ``allowed_countries``).

``PUT /voice/v1/call/{voice_id}/play`` and ``DELETE /voice/v1/call/{voice_id}`` act on a live
call of the SIP runner; a simulated call (virtual time) answers 409, as does a call that is not
answered yet or has ended. On PostgreSQL any server takes them: the server that runs the call
carries them out (:mod:`.controls`). Both accept an ``Idempotency-Key``, as every POST does.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from typing import Annotated, Any, Literal

import phonenumbers
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import JSONResponse, Response

from ..callr.compile import voice_for
from . import calls, controls, dnc, flowstore, servers
from .auth import WriteKey
from .idempotency import run_once
from .problems import ProblemError, problem_responses
from .runner import Control, HangUp, PlayAudio
from .storage import iso, now

router = APIRouter(tags=["compatibility: EnableX"])

MAX_RECIPIENTS = 1000
_NUMBER = re.compile(r"^\+?[1-9][0-9]{6,14}$")
_VOICES = {"female": "female1", "male": "male1"}


class Play(BaseModel):
    """What a call plays: a URL (``url``, or ``file`` with ``url``), a stored prompt (``file``
    with ``prompt_name``: the SIP driver's ``sounds_dir``), text-to-speech or SSML."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["url", "file", "tts", "ssml"]
    url: str | None = Field(default=None, max_length=2048)
    prompt_name: str | None = Field(default=None, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")
    text: str | None = Field(default=None, max_length=10_000)
    voice: Literal["Female", "Male", "female", "male"] | None = None
    language: str | None = Field(default=None, max_length=35)
    ssml: str | None = Field(default=None, max_length=100_000)
    prompt_ref: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _needs(self) -> Play:
        need = {
            "url": self.url is not None,
            "file": self.url is not None or self.prompt_name is not None,
            "tts": bool(self.text),
            "ssml": bool(self.ssml),
        }[self.type]
        if not need:
            wanted = {"url": "url", "file": "url or prompt_name", "tts": "text", "ssml": "ssml"}
            raise ValueError(f"play.type {self.type} needs {wanted[self.type]}")
        return self


class Recipient(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(max_length=20, examples=["918088394833"])
    play: Play


class BroadcastCreate(BaseModel):
    """EnableX's broadcast request (``flow_id``, ``hold_s``, ``allowed_countries`` and
    ``webhook_secret`` are this service's extensions)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    owner_ref: str = Field(default="", max_length=200)
    from_: str = Field(alias="from", max_length=20, examples=["12012774877"])
    answering_machine_detection: bool = False
    recipients: list[Recipient] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    custom_data: dict[str, Any] = Field(default={}, max_length=100)
    event_url: str | None = Field(default=None, max_length=2048)
    call_handler_url: str | None = Field(
        default=None, max_length=2048, description="Accepted; controls come over the API."
    )
    hold_s: int = Field(
        default=30,
        ge=0,
        le=3600,
        description="Extension: seconds the line stays open after the audio for per-call"
        " controls (EnableX holds it until told).",
    )
    allowed_countries: list[Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]] | None = Field(
        default=None, max_length=300, description="Extension: ISO codes of the countries to call."
    )
    webhook_secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=256,
        description="Extension: signs the events (X-Dialplan-Signature).",
    )


class Buckets(BaseModel):
    call_initiated: list[dict[str, Any]]
    call_blacklisted: list[dict[str, Any]]
    country_not_allowed: list[dict[str, Any]]


class BroadcastInitiated(BaseModel):
    broadcast_id: str
    state: Literal["broadcastcall_initiated"]
    from_: str = Field(alias="from")
    to: Buckets
    custom_data: dict[str, Any]
    timestamp: str


class ControlPlay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    play: Play
    custom_data: dict[str, Any] = Field(default={}, max_length=100)


class ControlDone(BaseModel):
    model_config = ConfigDict(extra="allow")

    broadcast_id: str | None
    voice_id: str
    timestamp: str


def number(raw: str, field_name: str) -> str:
    text = raw.strip()
    if not _NUMBER.match(text):
        raise ProblemError(422, "invalid-request", f"{field_name}: {text!r} is not an E.164 number")
    return text if text.startswith("+") else "+" + text


def region(e164: str) -> str | None:
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.region_code_for_number(parsed)


def _ssml_text(ssml: str) -> str:
    """The words of an SSML document (spoken with the TTS voice: no SSML engine here)."""
    try:
        root = etree.fromstring(
            ssml.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True)
        )
    except etree.XMLSyntaxError as exc:
        raise ProblemError(422, "invalid-request", f"play.ssml: not XML ({exc})") from None
    return " ".join(" ".join(root.itertext()).split())


def _voice(play: Play) -> str | None:
    return voice_for(play.language or "") or _VOICES.get((play.voice or "").lower())


def play_xml(play: Play, hold_s: int) -> str:
    """The flow of one recipient: its audio, the held line, hang up."""
    root = etree.Element("dialplan", name="Root")
    el = etree.SubElement(root, "play")
    if play.type in ("tts", "ssml"):
        el.set("type", "tts")
        el.text = play.text if play.type == "tts" else _ssml_text(str(play.ssml))
        voice = _voice(play)
        if voice:
            el.set("voice", voice)
    elif play.url is not None:
        el.set("type", "url")
        el.text = play.url
    else:
        el.set("type", "callfireid")
        el.text = play.prompt_name
    if hold_s:
        etree.SubElement(root, "wait").text = str(hold_s * 1000)  # ≥ 1000: milliseconds
    etree.SubElement(root, "hangup")
    return etree.tostring(root, encoding="unicode")


def control_of(play: Play) -> Control:
    if play.type in ("tts", "ssml"):
        text = play.text if play.type == "tts" else _ssml_text(str(play.ssml))
        return PlayAudio("tts", str(text), _voice(play), play.prompt_ref)
    if play.url is None:
        raise ProblemError(
            422, "invalid-request", "play.prompt_name: stored prompts play only inside a broadcast"
        )
    return PlayAudio("url", play.url, prompt_ref=play.prompt_ref)


def _echo(to: str, play: Play) -> dict[str, Any]:
    return {"to": to, "play": play.model_dump(exclude_none=True)}


@router.post(
    "/voice/v1/broadcast",
    response_model=BroadcastInitiated,
    responses=problem_responses(400, 401, 403, 409, 413, 422, 429),
    summary="EnableX: call a list of recipients, each hearing its own audio",
)
async def broadcast(request: Request, who: WriteKey, body: BroadcastCreate) -> Response:
    caller = number(body.from_, "from")
    if body.event_url is not None:
        calls.check_webhook_url(request, body.event_url, "event_url")
    allowed = {c.upper() for c in body.allowed_countries} if body.allowed_countries else None
    destinations = [number(r.to, f"recipients[{i}].to") for i, r in enumerate(body.recipients)]
    db = request.app.state.db

    def work() -> Response:
        on_list = dnc.blocked(db, who.account, destinations)
        buckets: dict[str, list[dict[str, Any]]] = {
            "call_initiated": [],
            "call_blacklisted": [],
            "country_not_allowed": [],
        }
        chosen: list[tuple[str, Recipient]] = []
        for e164, recipient in zip(destinations, body.recipients, strict=True):
            if e164 in on_list:
                buckets["call_blacklisted"].append(_echo(recipient.to, recipient.play))
            elif allowed is not None and region(e164) not in allowed:
                buckets["country_not_allowed"].append(_echo(recipient.to, recipient.play))
            else:
                chosen.append((e164, recipient))
        broadcast_id = str(uuid.uuid4())
        batch = {
            "broadcast_id": broadcast_id,
            "from": body.from_,
            "custom_data": body.custom_data,
            "blocked": {
                "call_blacklisted": [b["to"] for b in buckets["call_blacklisted"]],
                "country_not_allowed": [b["to"] for b in buckets["country_not_allowed"]],
            },
        }
        secret = body.webhook_secret or secrets.token_urlsafe(24)
        flows: dict[str, str] = {}  # flow XML → its stored id (one flow per distinct audio)
        for e164, recipient in chosen:
            xml = play_xml(recipient.play, body.hold_s)
            if xml not in flows:
                stored = flowstore.create_flow(db, who.account, f"enablex {body.name}", xml)
                flows[xml] = stored.flow_id
            spec = calls.CallSpec(
                flow_id=flows[xml],
                to=e164,
                caller_id=caller,
                detect_answering_machine=body.answering_machine_detection,
                mode="webhook" if body.event_url else "poll",
                webhook_url=body.event_url,
                webhook_secret=secret if body.event_url else None,
                style="enablex",
                batch={**batch, "prompt_ref": recipient.play.prompt_ref},
            )
            voice_id = calls.start(request, who, spec)
            buckets["call_initiated"].append(
                {**_echo(recipient.to, recipient.play), "voice_id": voice_id}
            )
        return JSONResponse(
            {
                "broadcast_id": broadcast_id,
                "state": "broadcastcall_initiated",
                "from": body.from_,
                "to": buckets,
                "custom_data": body.custom_data,
                "timestamp": iso(now()),
            }
        )

    async def produce() -> Response:
        return await run_in_threadpool(work)

    return await run_once(db, who.account, request, produce)


def _control(request: Request, account: str, voice_id: str, command: Control) -> dict[str, Any]:
    """Run ``command`` on one of the account's calls, here or on the server that runs it
    (:mod:`.controls`); 404/409/422/503 problems when it cannot."""
    book = calls.book_of(request)
    call = book.get(account, voice_id)
    if call["final"]:
        raise ProblemError(409, "call-ended", f"call {voice_id} has ended ({call['status']})")
    db = request.app.state.db
    with db.connect() as conn:
        row = conn.execute("SELECT request, owner FROM calls WHERE id = ?", (voice_id,)).fetchone()
    owner = row["owner"]
    if owner is None or owner == book.owner:
        outcome = controls.run_here(book.runner, voice_id, command)
    else:  # servers sharing PostgreSQL: the call's own server runs the control
        desk: controls.ControlDesk | None = getattr(request.app.state, "controls", None)
        if desk is None or not servers.is_alive(db, owner, book.peer_timeout_s):
            raise ProblemError(
                409,
                "not-controllable",
                f"call {voice_id} ran on a server that has stopped; it is booked as interrupted",
            )
        outcome = desk.forward(voice_id, owner, command)
    if outcome.status != 200:
        retry = {"Retry-After": str(outcome.retry_after_s)} if outcome.retry_after_s else None
        raise ProblemError(outcome.status, outcome.kind, outcome.detail, headers=retry)
    batch = json.loads(row["request"]).get("batch") or {}
    return {
        "broadcast_id": batch.get("broadcast_id"),
        "voice_id": voice_id,
        "to": call["to"].lstrip("+"),
        "timestamp": iso(now()),
    }


_CONTROL_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 422, 429, 503)
_CONTROL_NOTE = (
    "Any server of a PostgreSQL service takes it: the server running the call carries it out."
    " 503 with Retry-After when that server does not take it within `serve --control-wait`"
    " (the control is then cancelled and never runs). Accepts an `Idempotency-Key`."
)


@router.put(
    "/voice/v1/call/{voice_id}/play",
    response_model=ControlDone,
    responses=_CONTROL_ERRORS,
    summary="EnableX: play audio on a live call (409 on a simulated one)",
    description=_CONTROL_NOTE,
)
async def play(request: Request, who: WriteKey, voice_id: str, body: ControlPlay) -> Response:
    async def produce() -> Response:
        command = control_of(body.play)
        done = await run_in_threadpool(_control, request, who.account, voice_id, command)
        return JSONResponse({**done, "playstate": "initiated", "statusCode": 200})

    return await run_once(request.app.state.db, who.account, request, produce)


@router.delete(
    "/voice/v1/call/{voice_id}",
    response_model=ControlDone,
    responses=_CONTROL_ERRORS,
    summary="EnableX: hang up a live call (409 on a simulated one)",
    description=_CONTROL_NOTE,
)
async def hang_up(request: Request, who: WriteKey, voice_id: str) -> Response:
    async def produce() -> Response:
        done = await run_in_threadpool(_control, request, who.account, voice_id, HangUp())
        done.pop("to")
        return JSONResponse({**done, "state": "success"})

    return await run_once(request.app.state.db, who.account, request, produce)
