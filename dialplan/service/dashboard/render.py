"""The dashboard's templates, static files and HTML error pages."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from .. import problems
from ..storage import iso
from .session import PREFIX, Forbidden, SignInRequired, current, signin_url

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["isotime"] = iso


def page(request: Request, template: str, status_code: int = 200, /, **context: Any) -> Response:
    """Render ``template`` with the signed-in operator (if any) in the context."""
    context.setdefault("who", current(request))
    context["prefix"] = PREFIX
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def error_page(request: Request, status: int, message: str) -> Response:
    return page(request, "error.html", status, code=status, message=message)


def install(app: FastAPI) -> None:
    """Static files, and HTML answers (instead of problem JSON) for errors on dashboard pages."""
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="dashboard-static")
    api_problem = app.exception_handlers[problems.ProblemError]

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, problems.ProblemError)
        if request.url.path.startswith(PREFIX + "/") or request.url.path == PREFIX:
            return error_page(request, exc.status, exc.detail)
        answer = api_problem(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    async def on_signin(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return RedirectResponse(signin_url(exc.next_path), status_code=303)

    async def on_forbidden(request: Request, exc: Exception) -> Response:
        return error_page(request, 403, str(exc))

    app.add_exception_handler(problems.ProblemError, on_problem)
    app.add_exception_handler(SignInRequired, on_signin)
    app.add_exception_handler(Forbidden, on_forbidden)
