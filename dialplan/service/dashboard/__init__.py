"""The operator dashboard under ``/dashboard``: server-rendered pages (jinja2), one stylesheet and
a little JavaScript for live progress; signed in with an API key kept in an HttpOnly cookie.

Modules: ``session`` (cookie, CSRF), ``render`` (templates, HTML errors), ``views`` (listing,
charts), ``flowpages`` (sign-in, flows, upload, simulate), ``broadcastdata`` and
``broadcastpages`` (broadcasts: progress over server-sent events, charts, demo form).
"""

from __future__ import annotations

from fastapi import FastAPI

from . import broadcastpages, flowpages, render


def install(app: FastAPI) -> None:
    """Add the dashboard's pages, static files and HTML error handlers to the service app."""
    render.install(app)
    app.include_router(flowpages.router)
    app.include_router(broadcastpages.router)


__all__ = ["install"]
