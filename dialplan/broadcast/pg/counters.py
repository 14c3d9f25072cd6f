"""The stats counters on PostgreSQL (:mod:`..store.counters` has what they count): one table of
rules, and every piece of SQL that moves the counters generated from it.

Several workers book calls of one campaign at once, so a single counter row per campaign would
be a lock every booking transaction queues for. Each backend adds to its own rows, keyed by
``pg_backend_pid()`` as ``slot`` — two live backends never share a pid, so no two transactions
ever wait on a counter — and ``stats`` sums a campaign's rows (a few per kind and connection
that wrote: O(1) in the recipients).

No row trigger keeps them (migration 9): a row trigger on ``recipients`` costs every update of
the table, even when its ``WHEN`` is false, and simulated workers lost 30–40 % of their
attempts/s to them (docs/performance.md). Instead every writer counts what it changed, with one
upsert per statement or batch: it keeps the rows it changed *before* and *after* (their
"images": the columns :data:`IMAGES` names) and adds ``counters(after) − counters(before)``.
What one image counts is :data:`RULES`, from which this module generates the delta functions
(``dp_count_recipients``, ``dp_count_attempts``, ``dp_count_responses``), the counting in the
workers' functions (``dp_start``, ``dp_finish``, ``dp_skip``, ``dp_reap``: :mod:`.booking`),
the statement triggers kept for loading (``COPY``) and deleting, and ``dp_recount``. Only
finished attempts count (``result`` not NULL), as in the reporting queries.

A write to ``recipients``, ``attempts`` or ``responses`` outside these paths (plain SQL by
hand) is not counted, except inserting recipients and deleting rows; ``SELECT dp_recount(id)``
counts a campaign again from its rows (while no worker is writing to it).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from ..store.counters import StatCounts


@dataclass(frozen=True, slots=True)
class Rule:
    """One kind of counter: what one row of ``table`` adds to it. ``n`` and ``value`` are SQL
    over the row's image columns (:data:`IMAGES`); a ``per_recipient`` rule counts the
    recipients having at least one row whose ``n`` is not 0."""

    kind: str
    table: str
    n: str
    value: str = "''"
    per_recipient: bool = False

    @property
    def reads(self) -> frozenset[str]:
        """The image columns its SQL reads (a change to no other column moves it)."""
        return frozenset(
            c for c in columns(self.table) if re.search(rf"\b{c}\b", f"{self.n} {self.value}")
        )


_COUNTED = "result IS NOT NULL"  # an attempt counts once booked

#: what is counted: one source for the delta functions, the triggers and ``dp_recount``
RULES: tuple[Rule, ...] = (
    Rule("final", "recipients", "1", "coalesce(final_result, '')"),
    Rule("bucket", "recipients", "1", "bucket"),
    Rule("awaiting", "recipients", "(final_result IS NULL AND attempts > 0)::int"),
    Rule("placed", "attempts", f"({_COUNTED})::int"),
    Rule("duration", "attempts", f"CASE WHEN {_COUNTED} THEN coalesce(duration, 0) ELSE 0 END"),
    Rule(
        "billed",
        "attempts",
        f"CASE WHEN {_COUNTED} AND answered_at IS NOT NULL"
        " THEN ((trunc(duration)::bigint + 59) / 60) * 60 ELSE 0 END",
    ),
    Rule("attempted", "attempts", f"({_COUNTED})::int", per_recipient=True),
    Rule("responded", "responses", "1", per_recipient=True),
)

#: the columns of a row the rules read, with their SQL types: a row's image (``campaign_id``
#: is the recipient's campaign for attempts and responses)
IMAGES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "recipients": (
        ("campaign_id", "bigint"),
        ("final_result", "text"),
        ("bucket", "text"),
        ("attempts", "integer"),
    ),
    "attempts": (
        ("campaign_id", "bigint"),
        ("recipient_id", "bigint"),
        ("result", "text"),
        ("duration", "double precision"),
        ("answered_at", "double precision"),
    ),
    "responses": (("campaign_id", "bigint"), ("recipient_id", "bigint")),
}


def columns(table: str) -> list[str]:
    return [c for c, _ in IMAGES[table]]


def deltas(table: str, source: str, changed: Collection[str] | None = None) -> str:
    """``SELECT campaign_id, kind, value, n`` of what the images of ``source`` move: a FROM
    item with the columns ``sign`` (+1 an image after the change, −1 before) and the table's
    image columns. Run after the change (a per-recipient rule reads the rows as they are).
    ``changed``: the only columns the change can have changed (the rules reading none of
    them are left out: they cannot move); None: any."""
    rules = [r for r in RULES if r.table == table and (changed is None or r.reads & set(changed))]
    per_row = [r for r in rules if not r.per_recipient]
    parts = []
    if per_row:
        values = ", ".join(f"('{r.kind}', {r.value}, ({r.n})::float8)" for r in per_row)
        parts.append(
            "SELECT i.campaign_id, v.kind, v.value, i.sign * v.n AS n"
            f" FROM {source}, LATERAL (VALUES {values}) v(kind, value, n)"
        )
    for r in rules:
        if r.per_recipient:
            # recipients that gained their first or lost their last counted row:
            # before = now − what the change added
            parts.append(
                f"SELECT x.campaign_id, '{r.kind}' AS kind, {r.value} AS value,"
                " ((x.rows_now > 0)::int - ((x.rows_now - x.k) > 0)::int)::float8 AS n"
                f" FROM (SELECT ch.campaign_id, ch.k, (SELECT count(*) FROM {table}"
                f"  WHERE {table}.recipient_id = ch.rid AND ({r.n}) <> 0) AS rows_now"
                f"  FROM (SELECT i.campaign_id, i.recipient_id AS rid,"
                f"   sum(i.sign * ((({r.n}) <> 0)::int)) AS k FROM {source}"
                "   GROUP BY 1, 2) ch WHERE ch.k <> 0 OFFSET 0) x"  # OFFSET 0: one count each
            )
    return " UNION ALL ".join(parts)


def upsert(parts: Sequence[str]) -> str:
    """One statement adding the deltas of ``parts`` (see :func:`deltas`) to this backend's
    counter rows."""
    return (
        "INSERT INTO campaign_counts AS counts (campaign_id, kind, value, slot, n)"
        " SELECT d.campaign_id, d.kind, d.value, pg_backend_pid(), sum(d.n)"
        f" FROM ({' UNION ALL '.join(parts)}) d GROUP BY 1, 2, 3 HAVING sum(d.n) <> 0"
        " ON CONFLICT (campaign_id, kind, value, slot) DO UPDATE SET n = counts.n + excluded.n"
    )


def arrays(table: str, before: str | None, after: str | None) -> str:
    """A :func:`deltas` source of images held in arrays, one per column, named
    ``{before}{column}`` and ``{after}{column}`` (None: no such images)."""
    cols = columns(table)
    sides = [(p, s) for p, s in ((before, -1), (after, 1)) if p is not None]
    return (
        "("
        + " UNION ALL ".join(
            f"SELECT {sign} AS sign, u.* FROM unnest({', '.join(p + c for c in cols)})"
            f" u({', '.join(cols)})"
            for p, sign in sides
        )
        + ") i"
    )


def declare(table: str, prefix: str) -> str:
    """PL/pgSQL declarations of the arrays holding images (see :func:`arrays`)."""
    return "".join(f"\n    {prefix}{c} {t}[] := '{{}}';" for c, t in IMAGES[table])


def append(table: str, prefix: str, image: Mapping[str, str]) -> str:
    """PL/pgSQL statements adding one image (SQL per column) to the arrays of ``prefix``."""
    return "".join(f"\n        {prefix}{c} := {prefix}{c} || {image[c]};" for c in columns(table))


def _count_function(table: str) -> str:
    params = ", ".join(f"{p}{c} {t}[]" for p in ("b_", "a_") for c, t in IMAGES[table])
    body = upsert([deltas(table, arrays(table, "b_", "a_"))])
    return (
        f"CREATE FUNCTION dp_count_{table}({params}) RETURNS void\n"
        # plpgsql: its plan is kept per session, SQL's is not
        f"LANGUAGE plpgsql AS $$\nBEGIN\n    {body};\nEND $$;\n"
    )


def _transition(table: str, rows: str, sign: int) -> str:
    cols = ", ".join(f"o.{c}" for c in columns(table) if c != "campaign_id")
    if table == "recipients":
        return f"(SELECT {sign} AS sign, o.campaign_id, {cols} FROM {rows} o) i"
    # the rows of recipients deleted with theirs are not counted back (as in migration 6)
    return (
        f"(SELECT {sign} AS sign, r.campaign_id, {cols} FROM {rows} o"
        " JOIN recipients r ON r.id = o.recipient_id) i"
    )


def _trigger_function(name: str, table: str, rows: str, sign: int) -> str:
    body = upsert([deltas(table, _transition(table, rows, sign))])
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n    {body};\n    RETURN NULL;\nEND $$;\n"
    )


def _recount() -> str:
    parts = []
    for table in IMAGES:
        cols = ", ".join(f"o.{c}" for c in columns(table) if c != "campaign_id")
        if table == "recipients":
            source = f"(SELECT 1 AS sign, o.campaign_id, {cols} FROM recipients o"
            source += " WHERE o.campaign_id = p_campaign) i"
        else:
            source = f"(SELECT 1 AS sign, r.campaign_id, {cols} FROM {table} o"
            source += " JOIN recipients r ON r.id = o.recipient_id"
            source += " WHERE r.campaign_id = p_campaign) i"
        parts.append(deltas(table, source))
    return (
        "-- a campaign counted again from its rows (after writes by hand; see the module doc),\n"
        "-- while no worker writes to it (their uncommitted counts would be lost)\n"
        "CREATE FUNCTION dp_recount(p_campaign bigint) RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "    PERFORM 1 FROM campaigns WHERE id = p_campaign FOR UPDATE;\n"
        "    DELETE FROM campaign_counts WHERE campaign_id = p_campaign;\n"
        f"    {upsert(parts)};\n"
        "END $$;\n"
    )


_DROPPED = """
DROP TRIGGER dp_count_recipients_update ON recipients;
DROP TRIGGER dp_count_attempts_insert ON attempts;
DROP TRIGGER dp_count_attempts_update ON attempts;
DROP TRIGGER dp_count_responses_insert ON responses;
DROP FUNCTION dp_count_recipient_row();
DROP FUNCTION dp_count_attempt_row();
DROP FUNCTION dp_count_response_row();
DROP FUNCTION dp_count(bigint, text, text, double precision);
"""


def ddl(booking: str) -> str:
    """Migration 9: the row triggers dropped, the delta functions, the statement triggers'
    functions from the rules, and ``booking`` (the workers' functions counting their writes)."""
    out = [_DROPPED]
    out += [_count_function(t) for t in IMAGES]
    out.append(_trigger_function("dp_count_recipients_insert", "recipients", "new_rows", 1))
    out += [_trigger_function(f"dp_count_{t}_delete", t, "old_rows", -1) for t in IMAGES]
    out.append(_recount())
    out.append(booking)
    return "".join(out)


# -- counting from Python ---------------------------------------------------------------------
def update_recipients(
    db: psycopg.Connection | psycopg.Cursor[Any],
    assignments: str,
    where: str,
    params: Mapping[str, Any],
    *,
    using: str = "",
    on: str = "",
) -> int:
    """``UPDATE recipients r SET {assignments} WHERE {where}`` counted in the same statement
    (the rows are locked and read before, changed, and their images counted); ``using`` is a
    FROM item joined ``on`` a condition, for the assignments to read. Returns the rows changed."""
    cols = columns("recipients")
    image = ", ".join(f"r.{c}" for c in cols)
    extra = f" JOIN {using} ON {on}" if using else ""
    also = f", {using}" if using else ""
    cond = f" AND {on}" if using else ""
    args = ", ".join(f"array_agg({s}.{c})" for s in ("b", "a") for c in cols)
    sql = (
        f"WITH b AS (SELECT r.id, {image} FROM recipients r{extra} WHERE {where}"
        " FOR UPDATE OF r),"
        f" a AS (UPDATE recipients r SET {assignments} FROM b{also} WHERE r.id = b.id{cond}"
        f" RETURNING r.id, {image})"
        f" SELECT count(*), dp_count_recipients({args}) FROM b JOIN a USING (id)"
    )
    row = db.execute(sql.encode(), params).fetchone()
    return int(row[0]) if row else 0


def count_added(
    db: psycopg.Connection | psycopg.Cursor[Any], table: str, images: Sequence[Sequence[Any]]
) -> None:
    """Count rows just inserted into ``table`` (their images, in :data:`IMAGES` order)."""
    if not images:
        return
    cols = [list(c) for c in zip(*images, strict=True)]
    types = [t for _, t in IMAGES[table]]
    nulls = ", ".join(f"NULL::{t}[]" for t in types)
    given = ", ".join(f"%s::{t}[]" for t in types)
    db.execute(f"SELECT dp_count_{table}({nulls}, {given})".encode(), cols)


def read(db: psycopg.Connection, campaign_id: int) -> StatCounts:
    return StatCounts.fold(
        (kind, value, float(n))
        for kind, value, n in db.execute(
            "SELECT kind, value, sum(n) FROM campaign_counts WHERE campaign_id = %s GROUP BY 1, 2",
            (campaign_id,),
        )
    )
