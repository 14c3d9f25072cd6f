"""Claiming due recipients and booking their attempts, with campaign-wide rate and line limits.

The life of one attempt, each step one round trip (a PL/pgSQL function, see ``schema.py``):

1. :func:`claim` — ``SELECT … FOR UPDATE SKIP LOCKED`` on the due recipients, after locking the
   campaign's *dial gate* row: the gate hands out start slots at least ``1000 / calls_per_second``
   ms apart (the SQLite dispatcher's rule, so no one-second window ever holds more than
   ``calls_per_second`` starts, across all workers) and never more claims than ``max_active``
   free lines. Each claim carries its attempt number and its start time.
2. :func:`start` — the attempt row, with its deterministic ``voice_id``, is committed *before*
   the call is placed (fenced: a worker whose lease is gone cannot book it).
3. :func:`finish` — the outcome and the retry policy's decision are booked and the claim and its
   line are given back; an attempt the reaper already booked ``INTERNAL_ERROR`` is left alone.

A claim never started (the window closed, the worker stops) goes back with :func:`unclaim`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from ..telephony.port import voice_id_for
from .workers import fenced

__all__ = ["Claim", "Outcome", "claim", "finish", "open_gate", "skip", "start", "unclaim"]


@dataclass(frozen=True, slots=True)
class Claim:
    """A recipient claimed by this worker for its next attempt, to start at ``start_at``."""

    recipient_id: int
    attempt_no: int
    start_at: float
    e164: str | None
    attributes: str
    sim_result: str | None
    sim_inputs: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished attempt and the retry policy's decision for its recipient."""

    recipient_id: int
    attempt_no: int
    result: str
    q850_cause: int | None
    answered_at: float | None
    ended_at: float
    answered_by: str | None
    duration: float
    next_at: float
    final_result: str | None


def spacing_ms(calls_per_second: float) -> int:
    """Milliseconds between two starts (the SQLite dispatcher's rounding: never faster)."""
    return max(1, math.ceil(1000 / calls_per_second))


def open_gate(
    conn: psycopg.Connection, campaign_id: int, calls_per_second: float, max_active: int
) -> None:
    """Create (or retune) the campaign's dial gate; lines in use and the next slot are kept."""
    conn.execute(
        "INSERT INTO dial_gates (campaign_id, spacing_ms, max_active) VALUES (%s, %s, %s)"
        " ON CONFLICT (campaign_id) DO UPDATE"
        " SET spacing_ms = excluded.spacing_ms, max_active = excluded.max_active",
        (campaign_id, spacing_ms(calls_per_second), max_active),
    )


def claim(
    conn: psycopg.Connection,
    campaign_id: int,
    worker: str,
    now: float,
    limit: int,
    *,
    horizon: float = 0.0,
    zones: Sequence[int] | None = None,
) -> list[Claim]:
    """Up to ``limit`` due recipients (``next_at <= now``; only in ``zones`` when given, i.e.
    the zones whose calling window is open), each with a start slot in ``[now, now +
    horizon]``. Empty when no line or slot is free or nothing is due."""
    with fenced(worker):
        rows = conn.execute(
            "SELECT * FROM dp_claim(%s, %s, %s, %s, %s, %s)",
            (
                campaign_id,
                worker,
                now,
                limit,
                round(horizon * 1000),
                list(zones) if zones is not None else None,
            ),
        ).fetchall()
    return [Claim(*r) for r in rows]


def start(
    conn: psycopg.Connection, broadcast_id: str, worker: str, claims: Sequence[Claim]
) -> list[str]:
    """Commit the attempt rows (in flight, with their voice ids) before any call is placed;
    returns the voice ids. :class:`~.workers.WorkerLost` if this worker no longer holds them."""
    voice_ids = [voice_id_for(broadcast_id, c.recipient_id, c.attempt_no) for c in claims]
    if not claims:
        return voice_ids
    with fenced(worker):
        conn.execute(
            "SELECT dp_start(%s, %s, %s, %s, %s)",
            (
                worker,
                [c.recipient_id for c in claims],
                [c.attempt_no for c in claims],
                voice_ids,
                [c.start_at for c in claims],
            ),
        )
    return voice_ids


def finish(conn: psycopg.Connection, worker: str, outcomes: Sequence[Outcome]) -> set[int]:
    """Book outcomes; returns the recipients booked. One missing from the answer had already
    been booked ``INTERNAL_ERROR`` by the reaper (this worker was taken for lost)."""
    if not outcomes:
        return set()
    columns = list(zip(*((
        o.recipient_id, o.attempt_no, o.result, o.q850_cause, o.answered_at, o.ended_at,
        o.answered_by, o.duration, o.next_at, o.final_result,
    ) for o in outcomes), strict=True))  # fmt: skip
    rows = conn.execute(
        "SELECT * FROM dp_finish(%s, %s::bigint[], %s::int[], %s::text[], %s::int[],"
        " %s::float8[], %s::float8[], %s::text[], %s::float8[], %s::float8[], %s::text[])",
        (worker, *(list(c) for c in columns)),
    ).fetchall()
    return {int(r[0]) for r in rows}


def unclaim(conn: psycopg.Connection, worker: str, recipient_ids: Sequence[int]) -> int:
    """Give back claims that were never started; returns how many."""
    row = conn.execute("SELECT dp_unclaim(%s, %s)", (worker, list(recipient_ids))).fetchone()
    return int(row[0]) if row else 0


def skip(conn: psycopg.Connection, worker: str, recipient_ids: Sequence[int], final: str) -> int:
    """Claims never dialled that end with ``final`` (a number put on the DNC list during the
    campaign); their lines are given back. Returns how many."""
    if not recipient_ids:
        return 0
    with fenced(worker):
        row = conn.execute(
            "SELECT dp_skip(%s, %s, %s)", (worker, list(recipient_ids), final)
        ).fetchone()
    return int(row[0]) if row else 0
