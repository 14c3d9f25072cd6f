"""``Idempotency-Key`` on POST: the same key and body replay the first response.

Per account and key one row is claimed with an ``INSERT … ON CONFLICT DO NOTHING`` (the primary
key makes the claim atomic, in SQLite and in PostgreSQL shared by several servers, so two
identical requests at once run the operation once). Then:

* same key, same method + path + body, finished → the stored response, with ``Idempotent-Replayed: true``;
* same key, another request → 422;
* same key while the first request still runs → 409 (retry later).

Responses with a 5xx status (or a crash) release the key, so a retry runs again; the others are
kept for :data:`TTL_S`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from .problems import ProblemError, problem_response
from .sql import ServiceDatabase as Database
from .storage import now

HEADER = "Idempotency-Key"
TTL_S = 24 * 3600
MAX_KEY_LENGTH = 255
_KEPT_HEADERS = ("location", "content-type")


def _fingerprint(request: Request, body: bytes) -> str:
    h = hashlib.sha256()
    h.update(request.method.encode() + b" " + request.url.path.encode() + b"\n")
    h.update(request.url.query.encode() + b"\n")
    h.update(body)
    return h.hexdigest()


async def run_once(
    db: Database,
    account: str,
    request: Request,
    produce: Callable[[], Awaitable[Response]],
    secret_fields: tuple[str, ...] = (),
) -> Response:
    """Run ``produce`` unless this request's Idempotency-Key already ran; see the module docstring.

    ``secret_fields`` of a JSON response are stored as ``null`` (a replay never shows a secret
    that is not kept anywhere else either).
    """
    key = request.headers.get(HEADER)
    if key is None:
        return await produce()
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ProblemError(
            400, "bad-request", f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable characters"
        )
    fingerprint = _fingerprint(request, await request.body())
    # SQLite waits for its write lock: do that on a worker thread, never on the event loop
    claimed = await run_in_threadpool(_claim, db, account, key, fingerprint)
    if claimed is not None:
        return claimed
    try:
        response = await produce()
    except ProblemError as exc:
        response = problem_response(
            exc.status, exc.kind, exc.detail, request.url.path, exc.headers, **exc.extensions
        )
    except BaseException:
        _release(db, account, key)  # not awaited: this also runs when the task is cancelled
        raise
    if response.status_code >= 500:
        await run_in_threadpool(_release, db, account, key)
        return response
    headers = {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS}
    stored = bytes(response.body)
    if secret_fields and response.status_code < 300:
        document = json.loads(stored)
        document.update(dict.fromkeys(secret_fields))
        stored = json.dumps(document).encode("utf-8")
    await run_in_threadpool(_store, db, account, key, response.status_code, headers, stored)
    return response


def _claim(db: Database, account: str, key: str, fingerprint: str) -> Response | None:
    """None when this request now owns the key; otherwise the response to give instead."""
    with db.write() as conn:
        conn.execute("DELETE FROM idempotency WHERE created_at < ?", (now() - TTL_S,))
        claimed = conn.execute(
            "INSERT INTO idempotency (account, key, fingerprint, state, created_at)"
            " VALUES (?, ?, ?, 'running', ?) ON CONFLICT DO NOTHING",
            (account, key, fingerprint, now()),
        ).rowcount
        if claimed:
            return None
        row = conn.execute(
            "SELECT * FROM idempotency WHERE account = ? AND key = ?", (account, key)
        ).fetchone()
    if row["fingerprint"] != fingerprint:
        raise ProblemError(
            422,
            "idempotency-key-reused",
            f"{HEADER} {key!r} was already used with a different request",
        )
    if row["state"] != "done":
        raise ProblemError(
            409,
            "idempotency-key-in-use",
            f"a request with {HEADER} {key!r} is still running; retry later",
            headers={"Retry-After": "1"},
        )
    headers = json.loads(row["headers"])
    headers["Idempotent-Replayed"] = "true"
    media_type = headers.pop("content-type", None)
    return Response(row["body"], status_code=row["status"], headers=headers, media_type=media_type)


def _store(
    db: Database, account: str, key: str, status: int, headers: dict[str, str], body: bytes
) -> None:
    with db.write() as conn:
        conn.execute(
            "UPDATE idempotency SET state = 'done', status = ?, headers = ?, body = ?"
            " WHERE account = ? AND key = ?",
            (status, json.dumps(headers), body, account, key),
        )


def _release(db: Database, account: str, key: str) -> None:
    with db.write() as conn:
        conn.execute("DELETE FROM idempotency WHERE account = ? AND key = ?", (account, key))
