"""``/v2/texts/auto-replys``: CallFire's text auto-replies (find, create, get, delete), per account.

Names and types are those of CallFire's Swagger (``TextAutoReply``, ``TextAutoReplyPage``,
``ResourceId``); what a rule answers is :mod:`dialplan.messaging.autoreply`'s, where it is kept
:mod:`.autoreplies`'. Another account's rule is a 404 in the same words as a missing one.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from starlette.responses import JSONResponse, Response

from ..broadcast.telephony.texts import sending_number
from ..messaging.autoreply import (
    MAX_KEYWORD,
    RESERVED,
    AutoReply,
    MatchError,
    compile_match,
    first_word,
)
from . import autoreplies
from .auth import ReadKey, WriteKey
from .broadcast_routes import ERRORS, NO_CONTENT, Fields, Id, Limit, Offset, json_response, utf8
from .broadcasts.fields import invalid
from .callfire_models import Page, ResourceId, _Model, _Out
from .idempotency import run_once
from .problems import ProblemError

router = APIRouter(prefix="/v2/texts/auto-replys", tags=["callfire texts"])
#: longest reply message stored (a reply is sent as one segment: longer ones are cut there)
MAX_MESSAGE = 1600
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_SHORT_CODE = re.compile(r"^[0-9]{3,8}$")


class TextAutoReply(_Model):
    """CallFire's TextAutoReply (``id`` is read-only: accepted and ignored)."""

    id: int | None = None
    number: str | None = Field(None, max_length=64, description="E.164 number or short code")
    keyword: str | None = Field(None, max_length=MAX_KEYWORD, description="the first word")
    match: str | None = Field(None, description="case-insensitive RE2 pattern; empty: every text")
    message: str | None = Field(None, description="the reply (${text.message} is the text)")


class TextAutoReplyOut(_Out):
    id: int = 0
    number: str | None = None
    keyword: str | None = None
    match: str | None = None
    message: str = ""


class TextAutoReplyPage(Page):
    items: list[TextAutoReplyOut] = []


def number_of(text: str, where: str) -> str:
    """A number as inbound texts carry it (E.164, or a short code's digits); 422 otherwise."""
    found = sending_number(text, "US")
    if not (_E164.match(found) or _SHORT_CODE.match(found)):
        raise invalid(where, f"not an E.164 number or a short code: {text!r}")
    return found


def rule_of(body: TextAutoReply) -> AutoReply:
    """The rule a request body asks for, or a 422 naming the field."""
    utf8(body.model_dump())
    message = (body.message or "").strip()
    if not message:
        raise invalid("message", "is required")
    if len(message) > MAX_MESSAGE:
        raise invalid("message", f"at most {MAX_MESSAGE} characters")
    number = number_of(body.number, "number") if body.number and body.number.strip() else None
    keyword = (body.keyword or "").strip() or None
    if keyword is not None:
        word = first_word(keyword)
        if len(keyword.split()) > 1 or not word:
            raise invalid("keyword", "one word (the first word of a text)")
        if word in RESERVED:
            raise invalid("keyword", f"{word} is answered by the opt-out/help rules")
    match = body.match or None
    if match is not None:
        try:
            compile_match(match)
        except MatchError as exc:
            raise invalid("match", str(exc)) from None
    return AutoReply(0, message, number, keyword, match)


def rule_json(rule: AutoReply) -> dict[str, Any]:
    out = {
        "id": rule.id,
        "number": rule.number,
        "keyword": rule.keyword,
        "match": rule.match,
        "message": rule.message,
    }
    return {k: v for k, v in out.items() if v is not None}


def _missing(rule_id: int) -> ProblemError:
    return ProblemError(404, "not-found", f"no text auto reply {rule_id}")


@router.get(
    "",
    response_model=TextAutoReplyPage,
    responses=ERRORS,
    operation_id="findTextAutoReplys",
    summary="Find auto replies (number: those for that number), oldest first",
)
def find_auto_replies(
    request: Request,
    who: ReadKey,
    fields: Fields = None,
    limit: Limit = 100,
    offset: Offset = 0,
    number: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    wanted = number_of(number, "number") if number else None
    found, total = autoreplies.find(request.app.state.db, who.account, wanted, limit, offset)
    page = {
        "items": [rule_json(r) for r in found],
        "limit": limit,
        "offset": offset,
        "totalCount": total,
    }
    return json_response(page, fields)


@router.post(
    "",
    response_model=ResourceId,
    responses=ERRORS,
    operation_id="createTextAutoReply",
    summary="Create an auto reply",
    description="Answers the replies to the account's text broadcasts that it matches "
    "(docs/api.md: number, keyword, match). STOP, START and HELP keep their own replies.",
)
async def create_auto_reply(request: Request, who: WriteKey, body: TextAutoReply) -> Response:
    async def produce() -> Response:
        rule = rule_of(body)
        rule_id = await run_in_threadpool(
            autoreplies.create, request.app.state.db, who.account, rule
        )
        return JSONResponse(
            {"id": rule_id}, headers={"Location": f"/v2/texts/auto-replys/{rule_id}"}
        )

    return await run_once(request.app.state.db, who.account, request, produce)


@router.get(
    "/{id}",
    response_model=TextAutoReplyOut,
    responses=ERRORS,
    operation_id="getTextAutoReply",
    summary="Find a specific auto reply",
)
def get_auto_reply(request: Request, who: ReadKey, id: Id, fields: Fields = None) -> Response:
    rule = autoreplies.get(request.app.state.db, who.account, id)
    if rule is None:
        raise _missing(id)
    return json_response(rule_json(rule), fields)


@router.delete(
    "/{id}",
    status_code=204,
    responses=NO_CONTENT,
    operation_id="deleteTextAutoReply",
    summary="Delete an auto reply (the texts it sent stay)",
)
def delete_auto_reply(request: Request, who: WriteKey, id: Id) -> Response:
    if not autoreplies.delete(request.app.state.db, who.account, id):
        raise _missing(id)
    return Response(status_code=204)
