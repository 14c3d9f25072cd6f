"""``/v1/dnc``: an account's do-not-call list (numbers in E.164), checked by EnableX's broadcast."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from .auth import ReadKey, WriteKey
from .problems import ProblemError, problem_responses
from .sql import ServiceDatabase as Database
from .storage import iso, now

router = APIRouter(prefix="/v1/dnc", tags=["do not call"])

E164 = r"^\+[1-9][0-9]{6,14}$"
_E164 = re.compile(E164)


class DncAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    numbers: list[Annotated[str, Field(pattern=E164)]] = Field(min_length=1, max_length=10_000)


class DncEntry(BaseModel):
    number: str
    created_at: str


class DncList(BaseModel):
    items: list[DncEntry]


class DncAdded(BaseModel):
    added: int


def blocked(db: Database, account: str, numbers: list[str]) -> set[str]:
    """The ``numbers`` (E.164) on the account's list."""
    found: set[str] = set()
    with db.connect() as conn:
        for i in range(0, len(numbers), 500):
            chunk = numbers[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT number FROM dnc WHERE account = ? AND number IN ({marks})",
                (account, *chunk),
            )
            found.update(r["number"] for r in rows)
    return found


def _add(db: Database, account: str, numbers: list[str]) -> int:
    with db.write() as conn:
        added = conn.executemany(
            "INSERT INTO dnc (account, number, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(account, n, now()) for n in numbers],
        ).rowcount
        return int(added)


@router.post(
    "",
    response_model=DncAdded,
    responses=problem_responses(400, 401, 403, 413, 422, 429),
    summary="Add numbers to the account's do-not-call list",
)
async def add(request: Request, who: WriteKey, body: DncAdd) -> dict[str, int]:
    added = await run_in_threadpool(_add, request.app.state.db, who.account, body.numbers)
    return {"added": added}


@router.get(
    "",
    response_model=DncList,
    responses=problem_responses(401, 403, 422, 429),
    summary="The account's do-not-call list",
)
def list_numbers(
    request: Request,
    who: ReadKey,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    with request.app.state.db.connect() as conn:
        rows = conn.execute(
            "SELECT number, created_at FROM dnc WHERE account = ? ORDER BY number LIMIT ? OFFSET ?",
            (who.account, limit, offset),
        ).fetchall()
    return {"items": [{"number": r["number"], "created_at": iso(r["created_at"])} for r in rows]}


@router.delete(
    "/{number}",
    status_code=204,
    responses=problem_responses(401, 403, 404, 422, 429),
    summary="Take a number off the account's do-not-call list",
)
def remove(request: Request, who: WriteKey, number: str) -> None:
    if not _E164.match(number):
        raise ProblemError(422, "invalid-request", f"{number!r} is not an E.164 number")
    with request.app.state.db.write() as conn:
        gone = conn.execute(
            "DELETE FROM dnc WHERE account = ? AND number = ?", (who.account, number)
        ).rowcount
    if not gone:
        raise ProblemError(404, "not-found", f"{number} is not on the list")
