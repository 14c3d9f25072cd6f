"""The PostgreSQL backend: a campaign shared by any number of worker processes.

psycopg 3 (with psycopg-pool for long-running workers) rather than a job-queue library: the
queue here is the recipients table itself — claims must be ordered by each recipient's
``next_at`` and calling window, paced by a campaign-wide rate and line count, and tied to the
attempt rows in the same transaction — which a generic queue (procrastinate, pgqueuer …) would
duplicate in a table of its own, with a second source of truth for what is due.

Modules: ``connect`` (a worker's connection pool, one-line errors), ``schema`` (tables,
PL/pgSQL primitives, migrations), ``workers`` (leases, reaping lost workers), ``dialing``
(claim, start, finish under the dial gate), ``clock`` (the shared virtual clock), ``outbox``
(webhook events). The throwaway server that tests and benchmarks start is ``tools/pg_server.py``
(not shipped).
"""

from __future__ import annotations

from .clock import SharedClock
from .connect import open_pool
from .dialing import Claim, Outcome, claim, finish, open_gate, start, unclaim
from .outbox import PgOutbox
from .schema import MIGRATIONS, Migration, SchemaTooNew, migrate, schema_version
from .workers import Booking, LostAttempt, WorkerLost, heartbeat, reap, register, stop

__all__ = [
    "MIGRATIONS",
    "Booking",
    "Claim",
    "LostAttempt",
    "Migration",
    "Outcome",
    "PgOutbox",
    "SchemaTooNew",
    "SharedClock",
    "WorkerLost",
    "claim",
    "finish",
    "heartbeat",
    "migrate",
    "open_gate",
    "open_pool",
    "reap",
    "register",
    "schema_version",
    "start",
    "stop",
    "unclaim",
]
