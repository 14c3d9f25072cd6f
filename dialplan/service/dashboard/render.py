"""The dashboard's templates, static files, security headers and HTML error pages."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from .. import problems
from ..storage import iso
from .session import PREFIX, Forbidden, SignInRequired, current, signin_url

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["isotime"] = iso

#: pages load only this server's script, stylesheet and images, post only to it, and may not be
#: framed (no clickjacking of the Start/Stop buttons)
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'"
)
#: documents shown as they are (the graph's SVG, the report): no script at all
DOCUMENT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
)


def page(request: Request, template: str, status_code: int = 200, /, **context: Any) -> Response:
    """Render ``template`` with the signed-in operator (if any) in the context."""
    context.setdefault("who", current(request))
    context["prefix"] = PREFIX
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def document(body: str | bytes, media_type: str) -> Response:
    """A document served as is, under :data:`DOCUMENT_POLICY`."""
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Security-Policy": DOCUMENT_POLICY, "Cache-Control": "no-store"},
    )


def error_page(request: Request, status: int, message: str) -> Response:
    return page(request, "error.html", status, code=status, message=message)


def _on_dashboard(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


def install(app: FastAPI) -> None:
    """Static files, and HTML answers (instead of problem JSON) for errors on dashboard pages."""
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="dashboard-static")

    def html_on_dashboard(
        kind: type[Exception], describe: Callable[[Any], tuple[int, str]]
    ) -> None:
        api_handler: Handler = app.exception_handlers[kind]

        async def handler(request: Request, exc: Exception) -> Response:
            if _on_dashboard(request):
                return error_page(request, *describe(exc))
            answer = api_handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer

        app.add_exception_handler(kind, handler)

    html_on_dashboard(problems.ProblemError, lambda e: (e.status, e.detail))
    html_on_dashboard(
        StarletteHTTPException,
        lambda e: (e.status_code, "No such page." if e.status_code == 404 else str(e.detail)),
    )
    html_on_dashboard(RequestValidationError, _invalid)

    async def on_signin(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return RedirectResponse(signin_url(exc.next_path), status_code=303)

    async def on_forbidden(request: Request, exc: Exception) -> Response:
        return error_page(request, 403, str(exc))

    app.add_exception_handler(SignInRequired, on_signin)
    app.add_exception_handler(Forbidden, on_forbidden)


def _invalid(exc: RequestValidationError) -> tuple[int, str]:
    """A path that does not name anything is a 404 page; a bad form field a 422 naming it."""
    errors = exc.errors()
    first = errors[0] if errors else {}
    where = [str(p) for p in first.get("loc", ())]
    if where and where[0] == "path":
        return 404, "No such page."
    field = where[-1] if where else "request"
    return 422, f"{field}: {first.get('msg', 'invalid')}"
