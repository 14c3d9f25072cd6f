"""Errors as RFC 9457 ``application/problem+json``, for ours and the framework's (404, 405, 422 …)."""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "https://dialplan.dev/problems/"
log = logging.getLogger("dialplan.service")


class Problem(BaseModel):
    """The body of every error response (RFC 9457); extension members depend on ``type``."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str = ""
    instance: str = ""


class ProblemError(Exception):
    """Raise to answer with a problem; ``kind`` becomes the ``type`` URI's last segment."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


def problem_body(
    status: int, kind: str, detail: str, instance: str = "", **extensions: Any
) -> dict[str, Any]:
    """The problem document as plain data."""
    return {
        "type": _TYPE_BASE + kind if kind != "about:blank" else kind,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extensions,
    }


def problem_response(
    status: int,
    kind: str,
    detail: str,
    instance: str = "",
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A complete ``application/problem+json`` response."""
    body = problem_body(status, kind, detail, instance, **extensions)
    return Response(
        json.dumps(body, ensure_ascii=False).encode("utf-8"),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


#: OpenAPI ``responses`` entry for a problem status (use with ``responses={...}``).
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def _allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document lists for the request's path (one source: the routes)."""
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {m.upper() for m in item if m in _HTTP_METHODS}
    return sorted(methods)


_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

_KINDS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-request",
    429: "rate-limited",
}


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem response."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return problem_response(
            exc.status, exc.kind, exc.detail, request.url.path, exc.headers, **exc.extensions
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        kind = _KINDS.get(exc.status_code, "about:blank")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; list every route's
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem_response(exc.status_code, kind, detail, request.url.path, headers)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "location": ".".join(str(p) for p in err.get("loc", ())),
                "message": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
            for err in exc.errors()
        ]
        first = errors[0] if errors else {"location": "", "message": "invalid request"}
        detail = (
            f"{first['location']}: {first['message']}" if first["location"] else first["message"]
        )
        return problem_response(422, "invalid-request", detail, request.url.path, errors=errors)

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return problem_response(
            500, "server-error", "internal server error (logged)", request.url.path
        )

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_crash)
