"""``/v1/keys``: an admin key manages the API keys of its own account."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from ..errors import DialplanError
from . import keys
from .auth import AdminKey
from .idempotency import run_once
from .problems import ProblemError, problem_responses
from .storage import iso

router = APIRouter(prefix="/v1/keys", tags=["keys"])


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scopes: list[Literal["read", "write", "admin"]] = Field(min_length=1, max_length=3)
    label: str = Field(default="", max_length=200)
    rate_per_s: float | None = Field(default=None, gt=0, le=100_000)


class KeyInfo(BaseModel):
    id: str
    account: str
    scopes: list[str]
    label: str
    rate_per_s: float | None
    created_at: str | None
    revoked: bool


class NewKey(KeyInfo):
    key: str | None = Field(
        description="The secret: shown once, never again (null in a replay of the same "
        "Idempotency-Key: the secret is not stored)."
    )


class KeyList(BaseModel):
    items: list[KeyInfo]


def _out(k: keys.ApiKey) -> dict[str, Any]:
    return {**k.to_dict(), "created_at": iso(k.created_at)}


_ERRORS = problem_responses(400, 401, 403, 409, 413, 422, 429)


@router.post("", status_code=201, response_model=NewKey, responses=_ERRORS, summary="Create a key")
async def create(request: Request, who: AdminKey, body: KeyCreate) -> Response:
    db = request.app.state.db

    async def produce() -> Response:
        try:
            made, secret = await run_in_threadpool(
                keys.create_key, db, who.account, body.scopes, body.label, body.rate_per_s
            )
        except DialplanError as exc:
            raise ProblemError(422, "invalid-request", str(exc)) from None
        return JSONResponse({**_out(made), "key": secret}, status_code=201)

    return await run_once(db, who.account, request, produce, secret_fields=("key",))


@router.get(
    "", response_model=KeyList, responses=problem_responses(401, 403, 429), summary="List keys"
)
def list_keys(request: Request, who: AdminKey) -> dict[str, Any]:
    return {"items": [_out(k) for k in keys.list_keys(request.app.state.db, who.account)]}


@router.delete(
    "/{key_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404, 422, 429),
    summary="Revoke a key",
)
def revoke(request: Request, who: AdminKey, key_id: str) -> Response:
    if not keys.revoke_key(request.app.state.db, key_id, who.account):
        raise ProblemError(404, "not-found", f"no live key {key_id!r}")
    return Response(status_code=204)
