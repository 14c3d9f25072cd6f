"""Per-key rate limits: the rule (GCRA), a bucket per key in this process, or one row per key in PostgreSQL.

The rule — ``rate`` requests per second, bursts of up to twice that (at least 1) — is a token
bucket, kept the GCRA way: instead of tokens, each key has a *theoretical arrival time* (``tat``),
the time its bucket would be full again. A request at ``now`` is admitted when
``tat - now <= tolerance`` (the burst minus one request, in seconds) and then moves ``tat`` one
request's interval on; otherwise it waits ``tat - now - tolerance`` seconds (``Retry-After``).
One number per key, so the state fits one row and one statement.

* :class:`LocalRateLimiter`: the state in this process's memory (SQLite: one server per
  database; or ``serve --rate-limit-per-server``). No database write per request.
* :class:`SharedRateLimiter`: on PostgreSQL, one row per key in ``dialplan_service.rate_limits``
  that every server shares, taken in one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on the
  database's clock (no lock held beyond that statement's row). When the database does not answer,
  requests are admitted (fail open), logged once per outage.

:func:`admit` is the rule; :data:`TAKE_SQL` is the same step in SQL (a test runs both on the same
times and compares).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .pgstorage import PgDatabase

__all__ = [
    "TAKE_SQL",
    "LocalRateLimiter",
    "Rate",
    "RateLimiter",
    "SharedRateLimiter",
    "Verdict",
    "admit",
]

log = logging.getLogger("dialplan.service")


@dataclass(frozen=True, slots=True)
class Rate:
    """A key's limit: ``per_s`` requests per second, bursts of ``max(1, 2 × per_s)``."""

    per_s: float

    @property
    def burst(self) -> float:
        return max(1.0, 2 * self.per_s)

    @property
    def interval(self) -> float:
        """Seconds one request uses up."""
        return 1 / self.per_s

    @property
    def tolerance(self) -> float:
        """How far ahead of now ``tat`` may be for a request to be admitted (burst − 1 requests)."""
        return (self.burst - 1) * self.interval


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one request: the key's new ``tat``, and 0 (admitted) or the seconds to wait."""

    tat: float
    wait: float


def admit(tat: float | None, now: float, rate: Rate) -> Verdict:
    """One request at ``now`` against a key whose theoretical arrival time is ``tat`` (None: a key
    not seen yet, whose bucket is full)."""
    if tat is None:
        tat = now
    wait = tat - now - rate.tolerance
    if wait > 0:
        return Verdict(tat, wait)
    return Verdict(max(tat, now) + rate.interval, 0.0)


class RateLimiter(Protocol):
    """What the authentication dependency asks (:func:`.auth.require`)."""

    def take(self, key_id: str, rate: float | None) -> float:
        """Count one request of ``key_id`` (at ``rate`` requests per second, None: the server's
        default); 0 when admitted, else the seconds until one would be."""
        ...


class LocalRateLimiter:
    """The rule with each key's ``tat`` in this process's memory (monotonic clock)."""

    def __init__(self, default_rate: float) -> None:
        self.default_rate = default_rate
        self._tats: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, key_id: str, rate: float | None) -> float:
        now = time.monotonic()
        with self._lock:
            verdict = admit(self._tats.get(key_id), now, Rate(rate or self.default_rate))
            self._tats[key_id] = verdict.tat
        return verdict.wait


#: The rule's step in SQL, on ``dialplan_service.rate_limits`` (PostgreSQL migration 5). Parameters:
#: key id, interval, tolerance. A new key's row starts admitted (``tat`` = now + interval); an
#: existing one is updated under its row lock, so servers taking the same key at once queue on
#: that row for the length of this statement only. ``wait_s`` is written with the verdict because
#: ``RETURNING`` sees only the new row. ``now`` is the database's clock (``statement_timestamp``),
#: so the servers' clocks need not agree. Returns the new ``tat``, the wait and that ``now``.
_NOW = "extract(epoch FROM statement_timestamp())::float8"
TAKE_SQL = f"""
INSERT INTO rate_limits AS r (key_id, tat, wait_s)
VALUES (?, {_NOW} + ?::float8, 0)
ON CONFLICT (key_id) DO UPDATE SET
    tat = CASE WHEN r.tat - {_NOW} - ?::float8 > 0 THEN r.tat
               ELSE GREATEST(r.tat, {_NOW}) + ?::float8 END,
    wait_s = GREATEST(r.tat - {_NOW} - ?::float8, 0)
RETURNING tat, wait_s, {_NOW} AS now
"""


def take_params(key_id: str, rate: Rate) -> tuple[object, ...]:
    """:data:`TAKE_SQL`'s parameters."""
    return (key_id, rate.interval, rate.tolerance, rate.interval, rate.tolerance)


class SharedRateLimiter:
    """The rule with each key's ``tat`` in a PostgreSQL row that every server shares."""

    #: seconds to wait for a pooled connection before admitting the request anyway
    CONNECT_TIMEOUT_S = 1.0
    #: after a failure, seconds during which requests are admitted without asking the database
    #: (so an outage does not cost every request the connect timeout)
    RETRY_AFTER_FAILURE_S = 1.0

    def __init__(self, db: PgDatabase, default_rate: float) -> None:
        self.default_rate = default_rate
        self._db = db
        self._lock = threading.Lock()
        self._down_until: float | None = None  # set while the database is failing

    def take(self, key_id: str, rate: float | None) -> float:
        import psycopg

        down_until = self._down_until
        if down_until is not None and time.monotonic() < down_until:
            return 0.0
        try:
            with self._db.connect(timeout=self.CONNECT_TIMEOUT_S) as conn:
                row = conn.execute(
                    TAKE_SQL, take_params(key_id, Rate(rate or self.default_rate))
                ).fetchone()
        except psycopg.Error as exc:
            self._failed(exc)
            return 0.0
        if down_until is not None:
            self._answered()
        return float(row["wait_s"])

    def _failed(self, exc: Exception) -> None:
        from ..broadcast.pg.connect import first_line

        with self._lock:
            first = self._down_until is None
            self._down_until = time.monotonic() + self.RETRY_AFTER_FAILURE_S
        if first:
            log.warning(
                "dialplan: rate limits: %s does not answer (%s); requests are admitted without"
                " a limit until it does",
                self._db.label,
                first_line(exc),
            )

    def _answered(self) -> None:
        with self._lock:
            was_down = self._down_until is not None
            self._down_until = None
        if was_down:
            log.warning("dialplan: rate limits: %s answers again; limits apply", self._db.label)
