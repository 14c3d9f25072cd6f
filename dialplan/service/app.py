"""The ASGI app factory: routers, problem handlers, limits, and the background workers' lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel

from .. import __version__
from . import (
    accountkeys,
    autoreply_api,
    callfire,
    callr_api,
    calls,
    dashboard,
    dnc,
    enablex,
    flows,
    kaleyra,
    problems,
    sounds_api,
    texts_api,
)
from .broadcasts import Broadcasts, BroadcastSettings
from .callstore import CallBook
from .controls import ACK_WAIT_S, ControlDesk
from .limits import BodyLimit
from .outbox import Deliverer
from .pgstorage import PgDatabase
from .ratelimit import LocalRateLimiter, RateLimiter, SharedRateLimiter
from .runner import CallRunner, SimulatedCallRunner
from .servers import PEER_TIMEOUT_S, Presence, new_server_id
from .sounds_api import open_account_library
from .sql import ServiceDatabase, is_postgres, open_database


@dataclass(frozen=True, slots=True)
class Settings:
    """What ``dialplan serve`` configures."""

    #: a SQLite file, or a ``postgresql://`` address several servers share
    db_path: str | Path = "service.sqlite"
    allow_private: bool = False
    #: seconds a sync-mode call request is held before it answers 202
    sync_limit_s: float = 30.0
    #: largest request body accepted, in bytes
    max_body_bytes: int = 5 * 1024 * 1024
    #: requests per second per key, unless the key has its own rate
    rate_per_s: float = 50.0
    #: PostgreSQL: keep each key's limit in this server's memory (no database write per request;
    #: N servers then let a key through N × its rate) instead of one limit shared by all servers
    rate_limit_per_server: bool = False
    #: call broadcasts: where they live (default: the database's name with ``.broadcasts`` in
    #: place of its suffix, ``service.sqlite`` → ``service.broadcasts/``), their clock and
    #: driver (as ``broadcast run --clock/--driver``), and the ``[sip]`` table of ``sip``
    broadcasts_home: str | Path | None = None
    broadcast_clock: Literal["virtual", "real"] = "virtual"
    broadcast_driver: Literal["sim", "sip"] = "sim"
    sip: dict[str, Any] = field(default_factory=dict)
    #: the ``[smpp]`` table text broadcasts send through (``None``: the simulated driver)
    smpp: dict[str, Any] | None = None
    #: seconds without a heartbeat after which another server sharing a PostgreSQL database counts
    #: as gone (its unfinished calls are then booked as interrupted)
    peer_timeout_s: float = PEER_TIMEOUT_S
    #: PostgreSQL: seconds a control for a call that another server runs waits for that server
    #: to take it (then 503, and the control is cancelled)
    control_wait_s: float = ACK_WAIT_S

    @property
    def local_path(self) -> Path:
        """What local files (sound libraries, SQLite broadcast stores) are named after: the
        SQLite database, or ``service.sqlite`` in the working folder beside a PostgreSQL one."""
        return Path("service.sqlite") if is_postgres(self.db_path) else Path(self.db_path)

    #: real clock: seconds a stopped broadcast's calls in flight may go on before they are
    #: hung up (the stop drains; so does the server's shutdown)
    drain_s: float = 30.0


def _limiter(db: ServiceDatabase, settings: Settings) -> RateLimiter:
    """One limit per key for every server sharing a PostgreSQL database; else this process's."""
    if isinstance(db, PgDatabase) and not settings.rate_limit_per_server:
        return SharedRateLimiter(db, settings.rate_per_s)
    return LocalRateLimiter(settings.rate_per_s)


class Health(BaseModel):
    status: str
    version: str


def create_app(settings: Settings | None = None, runner: CallRunner | None = None) -> FastAPI:
    """A ready app; the database is opened (and migrated) now, workers start with the lifespan."""
    settings = settings or Settings()
    db = open_database(settings.db_path)
    local = settings.local_path
    home = settings.broadcasts_home or local.with_suffix(".broadcasts")
    if Path(home) == local:  # a database named *.broadcasts
        home = Path(f"{local}.d")
    broadcasts = Broadcasts(
        db,
        BroadcastSettings(
            home=Path(home),
            clock=settings.broadcast_clock,
            driver=settings.broadcast_driver,
            sip=settings.sip,
            smpp=settings.smpp,
            allow_private=settings.allow_private,
            sound_library=partial(open_account_library, settings.db_path, local, readonly=True),
            store_dsn=str(settings.db_path) if is_postgres(settings.db_path) else None,
            drain_s=settings.drain_s,
        ),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server_id = new_server_id()
        deliverer = Deliverer(db, allow_private=settings.allow_private, owner=server_id)
        book = CallBook(
            db, runner or SimulatedCallRunner(), deliverer, server_id, settings.peer_timeout_s
        )
        presence = Presence(db, server_id, book.recover, settings.peer_timeout_s)
        presence.start()
        book.recover()
        app.state.calls = book
        desk = None
        if isinstance(db, PgDatabase):  # controls for calls that another server runs
            desk = ControlDesk(db, db.dsn, server_id, book.runner, settings.control_wait_s)
            desk.start()
        app.state.controls = desk
        deliverer.start()
        broadcasts.recover()  # what was RUNNING when the server stopped (or was killed)
        try:
            yield
        finally:
            broadcasts.close()
            if desk is not None:
                desk.close()
            book.runner.close()
            deliverer.close()
            presence.close()
            db.close()

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
    app.state.broadcasts = broadcasts
    app.state.limiter = _limiter(db, settings)
    problems.install(app)
    app.include_router(flows.router)
    app.include_router(calls.router)
    app.include_router(accountkeys.router)
    app.include_router(sounds_api.router)
    app.include_router(callfire.router)
    app.include_router(autoreply_api.router)  # before /v2/texts/{id} would take its path
    app.include_router(texts_api.router)
    app.include_router(kaleyra.router)
    app.include_router(callr_api.router)
    app.include_router(enablex.router)
    app.include_router(dnc.router)
    dashboard.install(app)

    @app.get("/v1/health", response_model=Health, tags=["service"], summary="Liveness")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
