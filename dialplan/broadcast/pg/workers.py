"""Worker leases: every worker process holds one row of ``workers``, renewed by a heartbeat.

A claim on a recipient names its worker, and the worker's row carries the lease's expiry, so one
heartbeat renews every claim the worker holds. Lease times are read on the database server's
clock (``dp_server_now()``), so clock skew between worker machines does not matter. A worker
whose lease expired is *lost*: :func:`reap` (run by any other worker) books its in-flight
attempts ``INTERNAL_ERROR`` with the reason "worker lost" — exactly once, in the same
transaction as the retry policy's decision — and frees its claims; the lost worker's own writes
are refused from then on (the fence in every claim, start and clock call), so nothing is ever
dialled twice.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import psycopg

from ...errors import CampaignError
from . import counters

__all__ = [
    "Booking",
    "LostAttempt",
    "WorkerLost",
    "fenced",
    "heartbeat",
    "reap",
    "register",
    "stop",
]

#: SQLSTATEs raised by the PL/pgSQL primitives (see ``schema.py``)
LEASE_LOST = "DPL01"
NOT_CLAIMED = "DPL03"


class WorkerLost(CampaignError):
    """This worker's lease expired or was reaped: it must stop writing (exit 2)."""


@contextlib.contextmanager
def fenced(worker: str) -> Iterator[None]:
    """Turn the primitives' lease errors into :class:`WorkerLost`."""
    try:
        yield
    except psycopg.Error as exc:
        if exc.sqlstate in (LEASE_LOST, NOT_CLAIMED):
            raise WorkerLost(f"worker {worker}: {exc.diag.message_primary}") from None
        raise


def register(conn: psycopg.Connection, ttl: float, clock: str | None = None) -> str:
    """A new live worker (a fresh id every time: a restarted process is a new worker)."""
    worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    conn.execute(
        "INSERT INTO workers (id, host, pid, started_at, heartbeat_at, expires_at, clock)"
        " SELECT %(id)s, %(host)s, %(pid)s, t, t, t + %(ttl)s, %(clock)s FROM dp_server_now() t",
        {
            "id": worker,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "ttl": ttl,
            "clock": clock,
        },
    )
    return worker


def heartbeat(conn: psycopg.Connection, worker: str, ttl: float) -> None:
    """Push the lease's expiry ``ttl`` seconds past now; :class:`WorkerLost` if it already
    expired (an expired lease is never revived: the reaper may be booking it)."""
    row = conn.execute(
        "UPDATE workers SET heartbeat_at = t, expires_at = t + %s FROM dp_server_now() t"
        " WHERE id = %s AND state = 'live' AND expires_at > t RETURNING id",
        (ttl, worker),
    ).fetchone()
    if row is None:
        raise WorkerLost(f"worker {worker}: lease expired before its heartbeat")


def stop(conn: psycopg.Connection, worker: str) -> None:
    """Leave cleanly: give back the claims never started and end the lease. Calls still in
    flight stay booked on this worker and are reaped as lost — finish them first."""
    with conn.transaction():
        ids = [
            r[0] for r in conn.execute("SELECT id FROM recipients WHERE claimed_by = %s", (worker,))
        ]
        conn.execute("SELECT dp_unclaim(%s, %s)", (worker, ids))
        conn.execute(
            "UPDATE workers SET state = 'stopped' WHERE id = %s AND state = 'live'"
            " AND NOT EXISTS (SELECT 1 FROM attempts WHERE worker_id = %s AND result IS NULL)",
            (worker, worker),
        )


@dataclass(frozen=True, slots=True)
class LostAttempt:
    """An attempt that was in flight on a lost worker, now booked ``INTERNAL_ERROR``."""

    worker: str
    campaign_id: int
    recipient_id: int
    attempt_no: int


@dataclass(frozen=True, slots=True)
class Booking:
    """What the retry policy decides for a recipient after an attempt: when it is due again,
    or its final result (``next_at`` is then irrelevant)."""

    next_at: float
    final_result: str | None


def reap(
    conn: psycopg.Connection, now: float, decide: Callable[[LostAttempt], Booking]
) -> list[LostAttempt]:
    """Reap every expired worker (any worker may call this; concurrent reapers skip each
    other's rows): book their in-flight attempts, ask ``decide`` (the retry policy) what
    becomes of each recipient, and commit both together."""
    with conn.transaction():
        lost = [LostAttempt(*r) for r in conn.execute("SELECT * FROM dp_reap(%s)", (now,))]
        _apply(conn, lost, decide)
    return lost


def _apply(
    conn: psycopg.Connection, lost: Sequence[LostAttempt], decide: Callable[[LostAttempt], Booking]
) -> None:
    if not lost:
        return
    bookings = [decide(a) for a in lost]
    with conn.cursor() as cur:
        counters.update_recipients(
            cur,
            "next_at = u.next_at, final_result = u.final",
            "r.id = ANY (%(ids)s)",
            {
                "ids": [a.recipient_id for a in lost],
                "next": [b.next_at for b in bookings],
                "final": [b.final_result for b in bookings],
            },
            using="unnest(%(ids)s::bigint[], %(next)s::float8[], %(final)s::text[])"
            " AS u(id, next_at, final)",
            on="u.id = r.id",
        )
