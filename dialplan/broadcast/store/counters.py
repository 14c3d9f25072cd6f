"""A campaign's statistics counters: what ``stats`` reads in O(1), kept by the database itself.

``campaign_counts`` holds one row per ``(campaign, kind, value)``: ``final`` (recipients by
final result, ``''`` for none yet), ``bucket`` (recipients by bucket), ``awaiting`` (no final
result, dialled at least once), ``placed`` (attempts booked), ``attempted`` (recipients with a
booked attempt), ``duration`` (seconds, summed), ``billed`` (answered seconds rounded up to
minutes) and ``responded`` (recipients with an answer). Triggers on ``recipients``,
``attempts`` and ``responses`` change them in the same transaction as the rows, whoever writes
(the runner, ``broadcast add``, a PostgreSQL worker's functions), so they cannot drift from the
rows; each is the answer of one ``COUNT``/``SUM`` query of :mod:`.sqlite_reporting`, and
``tests/broadcast/test_counters.py`` checks that they agree over whole campaigns. Recipients
are only ever deleted before they are dialled (``broadcast add`` drops known numbers), so an
attempt never outlives its recipient.

This module holds the SQLite triggers (migration 6) and :class:`StatCounts`, the typed answer
both backends fold their rows into; the PostgreSQL triggers are in :mod:`..pg.counters`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

#: the kinds whose value is always ``''``
SINGLE_KINDS = ("awaiting", "placed", "attempted", "duration", "billed", "responded")


@dataclass(frozen=True, slots=True)
class StatCounts:
    """One campaign's counters (the answers of ``counts_by("final_result")`` and of
    ``attempt_stats`` but the first and last times)."""

    finals: dict[str | None, int]
    buckets: dict[str, int]
    awaiting: int
    placed: int
    attempted: int
    duration: float
    billed: int
    responded: int

    @classmethod
    def fold(cls, rows: Iterable[tuple[str, str, float]]) -> StatCounts:
        """From ``(kind, value, n)`` rows (a kind's value may come in several rows: added up)."""
        finals: dict[str | None, int] = {}
        buckets: dict[str, int] = {}
        single = dict.fromkeys(SINGLE_KINDS, 0.0)
        for kind, value, n in rows:
            if kind == "final":
                key = value or None
                finals[key] = finals.get(key, 0) + round(n)
            elif kind == "bucket":
                buckets[value] = buckets.get(value, 0) + round(n)
            else:
                single[kind] += n
        return cls(
            finals={k: v for k, v in finals.items() if v},
            buckets={k: v for k, v in buckets.items() if v},
            awaiting=round(single["awaiting"]),
            placed=round(single["placed"]),
            attempted=round(single["attempted"]),
            duration=float(single["duration"]),
            billed=round(single["billed"]),
            responded=round(single["responded"]),
        )

    @classmethod
    def counted(cls, store: Counted, campaign_id: int) -> StatCounts:
        """The same numbers counted from the rows (a store older than the counters, and the
        reference the tests hold the counters to)."""
        a = store.attempt_stats(campaign_id)
        buckets = store.counts_by(campaign_id, "bucket")
        return cls(
            finals=store.counts_by(campaign_id, "final_result"),
            buckets={str(k): v for k, v in buckets.items()},
            awaiting=int(a["awaiting"]),
            placed=int(a["placed"]),
            attempted=int(a["attempted"]),
            duration=float(a["duration"]),
            billed=int(a["billed"]),
            responded=int(a["responded"]),
        )


class Counted(Protocol):
    def counts_by(self, campaign_id: int, column: str) -> dict[str | None, int]: ...
    def attempt_stats(self, campaign_id: int) -> dict[str, Any]: ...


TABLE = """CREATE TABLE campaign_counts (
    campaign_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    n NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, kind, value)
) WITHOUT ROWID"""

BILLED = "((CAST({r}.duration AS INTEGER) + 59) / 60) * 60"


def _add(campaign: str, kind: str, value: str, n: str, where: str = "") -> str:
    """One counter change (an upsert); ``campaign`` may name ``r.campaign_id`` of a
    ``FROM recipients r`` given in ``where``."""
    source = f" {where}" if where else " WHERE true"
    return (
        f"INSERT INTO campaign_counts (campaign_id, kind, value, n)"
        f" SELECT {campaign}, '{kind}', {value}, {n}{source}"
        " ON CONFLICT (campaign_id, kind, value) DO UPDATE SET n = n + excluded.n;"
    )


def _recipient_side(row: str, sign: str) -> str:
    return (
        _add(f"{row}.campaign_id", "final", f"COALESCE({row}.final_result, '')", sign)
        + _add(f"{row}.campaign_id", "bucket", f"{row}.bucket", sign)
        + _add(
            f"{row}.campaign_id",
            "awaiting",
            "''",
            sign,
            f"WHERE {row}.final_result IS NULL AND {row}.attempts > 0",
        )
    )


def _attempt_side(row: str, sign: str) -> str:
    mine = f"FROM recipients r WHERE r.id = {row}.recipient_id"
    others = (
        f"NOT EXISTS (SELECT 1 FROM attempts o WHERE o.recipient_id = {row}.recipient_id"
        f" AND o.attempt_no != {row}.attempt_no)"
    )
    return (
        _add("r.campaign_id", "placed", "''", sign, mine)
        + _add("r.campaign_id", "duration", "''", f"{sign} * {row}.duration", mine)
        + _add(
            "r.campaign_id",
            "billed",
            "''",
            f"{sign} * {BILLED.format(r=row)}",
            f"{mine} AND {row}.answered_at IS NOT NULL",
        )
        + _add("r.campaign_id", "attempted", "''", sign, f"{mine} AND {others}")
    )


def _response_side(row: str, sign: str) -> str:
    others = (
        f"NOT EXISTS (SELECT 1 FROM responses o WHERE o.recipient_id = {row}.recipient_id"
        f" AND o.id != {row}.id)"
    )
    return _add(
        "r.campaign_id",
        "responded",
        "''",
        sign,
        f"FROM recipients r WHERE r.id = {row}.recipient_id AND {others}",
    )


def _billed_change() -> str:
    new = f"CASE WHEN NEW.answered_at IS NOT NULL THEN {BILLED.format(r='NEW')} ELSE 0 END"
    old = f"CASE WHEN OLD.answered_at IS NOT NULL THEN {BILLED.format(r='OLD')} ELSE 0 END"
    mine = "FROM recipients r WHERE r.id = NEW.recipient_id"
    return _add("r.campaign_id", "duration", "''", "NEW.duration - OLD.duration", mine) + _add(
        "r.campaign_id", "billed", "''", f"({new}) - ({old})", mine
    )


_WAITS = "({r}.final_result IS NULL AND {r}.attempts > 0)"
_FINAL = "COALESCE({r}.final_result, '')"


def _moved(kind: str, value: str) -> str:
    """A recipient that changed ``kind`` (``value`` a template of the row): from old to new."""
    old, new = value.format(r="OLD"), value.format(r="NEW")
    return _add("OLD.campaign_id", kind, old, "-1") + _add("NEW.campaign_id", kind, new, "1")


_AWAITING = _add(
    "NEW.campaign_id", "awaiting", "''", f"{_WAITS.format(r='NEW')} - {_WAITS.format(r='OLD')}"
)

TRIGGERS = (
    f"CREATE TRIGGER counts_recipients_insert AFTER INSERT ON recipients BEGIN"
    f" {_recipient_side('NEW', '1')} END",
    f"CREATE TRIGGER counts_recipients_delete AFTER DELETE ON recipients BEGIN"
    f" {_recipient_side('OLD', '-1')} END",
    "CREATE TRIGGER counts_recipients_final AFTER UPDATE OF final_result ON recipients"
    " WHEN OLD.final_result IS NOT NEW.final_result BEGIN"
    f" {_moved('final', _FINAL)} END",
    "CREATE TRIGGER counts_recipients_bucket AFTER UPDATE OF bucket ON recipients"
    f" WHEN OLD.bucket IS NOT NEW.bucket BEGIN {_moved('bucket', '{r}.bucket')} END",
    "CREATE TRIGGER counts_recipients_awaiting AFTER UPDATE OF final_result, attempts"
    f" ON recipients WHEN {_WAITS.format(r='OLD')} IS NOT {_WAITS.format(r='NEW')}"
    f" BEGIN {_AWAITING} END",
    f"CREATE TRIGGER counts_attempts_insert AFTER INSERT ON attempts BEGIN"
    f" {_attempt_side('NEW', '1')} END",
    f"CREATE TRIGGER counts_attempts_delete AFTER DELETE ON attempts BEGIN"
    f" {_attempt_side('OLD', '-1')} END",
    "CREATE TRIGGER counts_attempts_update AFTER UPDATE OF duration, answered_at ON attempts"
    f" BEGIN {_billed_change()} END",
    f"CREATE TRIGGER counts_responses_insert AFTER INSERT ON responses BEGIN"
    f" {_response_side('NEW', '1')} END",
    f"CREATE TRIGGER counts_responses_delete AFTER DELETE ON responses BEGIN"
    f" {_response_side('OLD', '-1')} END",
)

#: the counters of the rows already there (a store written before migration 6)
BACKFILL = (
    "INSERT INTO campaign_counts SELECT campaign_id, 'final', COALESCE(final_result, ''),"
    " COUNT(*) FROM recipients GROUP BY 1, 3",
    "INSERT INTO campaign_counts SELECT campaign_id, 'bucket', bucket, COUNT(*) FROM recipients"
    " GROUP BY 1, 3",
    "INSERT INTO campaign_counts SELECT campaign_id, 'awaiting', '', COUNT(*) FROM recipients"
    " WHERE final_result IS NULL AND attempts > 0 GROUP BY 1",
    "INSERT INTO campaign_counts SELECT r.campaign_id, k.kind, '', CASE k.kind"
    " WHEN 'placed' THEN COUNT(*) WHEN 'attempted' THEN COUNT(DISTINCT a.recipient_id)"
    " WHEN 'duration' THEN COALESCE(SUM(a.duration), 0)"
    f" ELSE COALESCE(SUM(CASE WHEN a.answered_at IS NOT NULL THEN {BILLED.format(r='a')}"
    " ELSE 0 END), 0) END"
    " FROM attempts a JOIN recipients r ON r.id = a.recipient_id"
    " JOIN (SELECT 'placed' AS kind UNION ALL SELECT 'attempted' UNION ALL SELECT 'duration'"
    " UNION ALL SELECT 'billed') k GROUP BY r.campaign_id, k.kind",
    "INSERT INTO campaign_counts SELECT r.campaign_id, 'responded', '',"
    " COUNT(DISTINCT p.recipient_id) FROM responses p JOIN recipients r ON r.id = p.recipient_id"
    " GROUP BY 1",
)


def create(db: sqlite3.Connection) -> None:
    """Migration 6: the table, its triggers, and the counters of the rows already stored."""
    db.execute(TABLE)
    for statement in BACKFILL:
        db.execute(statement)
    for trigger in TRIGGERS:
        db.execute(trigger)


def read(db: sqlite3.Connection, campaign_id: int) -> StatCounts:
    return StatCounts.fold(
        db.execute(
            "SELECT kind, value, n FROM campaign_counts WHERE campaign_id = ?", (campaign_id,)
        )
    )
