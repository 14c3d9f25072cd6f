"""The ASGI app factory: routers, problem handlers, limits, and the background workers' lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from pydantic import BaseModel

from .. import __version__
from . import accountkeys, callr_api, calls, dnc, enablex, flows, kaleyra, problems
from .auth import RateLimiter
from .callstore import CallBook
from .limits import BodyLimit
from .outbox import Deliverer
from .runner import CallRunner, SimulatedCallRunner
from .storage import Database


@dataclass(frozen=True, slots=True)
class Settings:
    """What ``dialplan serve`` configures."""

    db_path: str | Path = "service.sqlite"
    allow_private: bool = False
    #: seconds a sync-mode call request is held before it answers 202
    sync_limit_s: float = 30.0
    #: largest request body accepted, in bytes
    max_body_bytes: int = 5 * 1024 * 1024
    #: requests per second per key, unless the key has its own rate
    rate_per_s: float = 50.0


class Health(BaseModel):
    status: str
    version: str


def create_app(settings: Settings | None = None, runner: CallRunner | None = None) -> FastAPI:
    """A ready app; the database is opened (and migrated) now, workers start with the lifespan."""
    settings = settings or Settings()
    db = Database(settings.db_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        deliverer = Deliverer(db, allow_private=settings.allow_private)
        book = CallBook(db, runner or SimulatedCallRunner(), deliverer)
        book.recover()
        app.state.calls = book
        deliverer.start()
        try:
            yield
        finally:
            book.runner.close()
            deliverer.close()

    app = FastAPI(
        title="dialplan",
        version=__version__,
        summary="Stored CallFire-style dialplans (flows), simulated calls and single calls.",
        description="Every error is `application/problem+json` (RFC 9457). Authenticate with an "
        "API key (`dialplan keys create`): `Authorization: Bearer <key>`, HTTP Basic with the key "
        "as the password, `X-API-Key` or `api-key`. Every POST accepts an `Idempotency-Key`.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.limiter = RateLimiter(settings.rate_per_s)
    problems.install(app)
    app.include_router(flows.router)
    app.include_router(calls.router)
    app.include_router(accountkeys.router)
    app.include_router(kaleyra.router)
    app.include_router(callr_api.router)
    app.include_router(enablex.router)
    app.include_router(dnc.router)

    @app.get("/v1/health", response_model=Health, tags=["service"], summary="Liveness")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
