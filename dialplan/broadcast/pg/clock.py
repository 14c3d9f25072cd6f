"""The shared virtual clock: several workers simulate one campaign in the same virtual time.

A clock is a row of ``clocks`` (its time and a generation number). A worker does all the work
due at the clock's time, then reports itself idle with its next wake-up (the earliest of its own
calls' next events and the campaign's next due recipient). When every live worker on the clock
has reported idle in the current generation, the last one to report moves the clock to the
earliest wake-up and starts a new generation, in which every worker is busy again. A worker
about to work marks itself busy first (:meth:`SharedClock.busy`), under the same row lock, so
the clock never moves while anyone is working: a run with several workers is reproducible.
Rate windows count virtual seconds because the claims are made at the clock's time.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from .workers import fenced

__all__ = ["ClockReading", "SharedClock", "clock_listener"]


@dataclass(frozen=True, slots=True)
class ClockReading:
    now: float
    generation: int
    advanced: bool = False


class SharedClock:
    """One worker's handle on a named clock."""

    def __init__(self, conn: psycopg.Connection, name: str, worker: str) -> None:
        self.conn = conn
        self.name = name
        self.worker = worker

    @staticmethod
    def create(conn: psycopg.Connection, name: str, now: float) -> None:
        """The clock at ``now`` (kept as it is if it exists: workers that join share it)."""
        conn.execute(
            "INSERT INTO clocks (name, now) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
            (name, now),
        )

    def read(self) -> ClockReading:
        row = self.conn.execute(
            "SELECT now, generation FROM clocks WHERE name = %s", (self.name,)
        ).fetchone()
        assert row is not None, f"no clock {self.name!r}"
        return ClockReading(float(row[0]), int(row[1]))

    def busy(self) -> ClockReading:
        """Mark this worker busy and read the time (before doing any work)."""
        with fenced(self.worker):
            row = self.conn.execute(
                "SELECT * FROM dp_clock_busy(%s, %s)", (self.worker, self.name)
            ).fetchone()
        assert row is not None
        return ClockReading(float(row[0]), int(row[1]))

    def idle(self, wake_at: float | None) -> ClockReading:
        """Report idle until ``wake_at`` (``None``: nothing left to do). ``advanced`` says this
        report moved the clock; otherwise wait for the generation to change."""
        with fenced(self.worker):
            row = self.conn.execute(
                "SELECT * FROM dp_clock_idle(%s, %s, %s)", (self.worker, self.name, wake_at)
            ).fetchone()
        assert row is not None
        return ClockReading(float(row[0]), int(row[1]), bool(row[2]))


def clock_listener(dsn: str) -> psycopg.Connection:
    """A connection that hears every clock move (``NOTIFY dp_clock``): an idle worker waits
    on it instead of polling."""
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("LISTEN dp_clock")
    return conn
