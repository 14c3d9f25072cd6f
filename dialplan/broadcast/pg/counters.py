"""The stats counters on PostgreSQL (:mod:`..store.counters` has what they count): statement
triggers on ``recipients``, ``attempts`` and ``responses``.

Several workers book calls of one campaign at once, so a single counter row per campaign would
be a lock every booking transaction queues for (and two transactions taking two counters in
opposite orders would deadlock). Each backend therefore adds to its own rows, keyed by
``pg_backend_pid()`` as ``slot`` — two live backends never share a pid, so no two transactions
ever wait on a counter — and ``stats`` sums a campaign's rows (a few per kind and connection
that wrote: O(1) in the recipients). The triggers are statement-level with transition tables:
``COPY`` of a million recipients, a set-based ``UPDATE`` and the workers' one-row statements
each cost one aggregate of the rows they changed. Only finished attempts count (``result`` not
NULL), as in the reporting queries: a worker's attempt counts when ``dp_finish`` or the reaper
books it.
"""

from __future__ import annotations

import psycopg

from ..store.counters import StatCounts

_ADD = """INSERT INTO campaign_counts AS c (campaign_id, kind, value, slot, n)
    SELECT d.campaign_id, d.kind, d.value, pg_backend_pid(), sum(d.n)
      FROM ({parts}) d GROUP BY 1, 2, 3 HAVING sum(d.n) <> 0
    ON CONFLICT (campaign_id, kind, value, slot) DO UPDATE SET n = c.n + excluded.n"""

_BILLED = (
    "CASE WHEN {t}.answered_at IS NOT NULL"
    " THEN ((trunc({t}.duration)::bigint + 59) / 60) * 60 ELSE 0 END"
)


def _recipients(table: str, sign: str) -> str:
    return (
        f"SELECT campaign_id, 'final' AS kind, coalesce(final_result, '') AS value,"
        f" {sign}::float8 AS n FROM {table}"
        f" UNION ALL SELECT campaign_id, 'bucket', bucket, {sign} FROM {table}"
        f" UNION ALL SELECT campaign_id, 'awaiting', '', {sign} FROM {table}"
        " WHERE final_result IS NULL AND attempts > 0"
    )


def _attempts(table: str, sign: str) -> str:
    t = "t"
    return (
        f"SELECT r.campaign_id, k.kind, '' AS value, {sign} * CASE k.kind WHEN 'placed' THEN 1"
        f" WHEN 'duration' THEN coalesce({t}.duration, 0) ELSE {_BILLED.format(t=t)} END"
        f" AS n FROM {table} {t} JOIN recipients r ON r.id = {t}.recipient_id"
        " CROSS JOIN (VALUES ('placed'), ('duration'), ('billed')) k(kind)"
        f" WHERE {t}.result IS NOT NULL"
    )


def _distinct(kind: str, table: str, counted: str, changes: str) -> str:
    """Recipients that gained their first or lost their last counted row of ``table``:
    after = counted rows now; before = now − rows the statement added + rows it removed."""
    return (
        f"SELECT r.campaign_id, '{kind}' AS kind, '' AS value,"
        f" ((x.after > 0)::int - ((x.after - x.k) > 0)::int)::float8 AS n FROM"
        f" (SELECT ch.recipient_id, ch.k, (SELECT count(*) FROM {table} o"
        f"   WHERE o.recipient_id = ch.recipient_id{counted}) AS after"
        f"  FROM (SELECT recipient_id, sum(k) AS k FROM ({changes}) y GROUP BY 1"
        "        HAVING sum(k) <> 0) ch) x"
        " JOIN recipients r ON r.id = x.recipient_id"
    )


def _changed(tables: dict[str, str], counted: str) -> str:
    where = f" WHERE {counted}" if counted else ""
    return " UNION ALL ".join(
        f"SELECT recipient_id, {sign} AS k FROM {t}{where}" for t, sign in tables.items()
    )


def _function(name: str, parts: list[str]) -> str:
    body = _ADD.format(parts=" UNION ALL ".join(parts))
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n    {body};\n    RETURN NULL;\nEND $$;\n"
    )


def _trigger(table: str, event: str, function: str) -> str:
    transition = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows"}.get(
        event, "OLD TABLE AS old_rows NEW TABLE AS new_rows"
    )
    return (
        f"CREATE TRIGGER {function} AFTER {event} ON {table} REFERENCING {transition}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {function}();\n"
    )


_SIGNS = {"INSERT": {"new_rows": "1"}, "DELETE": {"old_rows": "-1"}}
_SIGNS["UPDATE"] = {**_SIGNS["INSERT"], **_SIGNS["DELETE"]}


def _ddl() -> str:
    out = [
        "CREATE TABLE campaign_counts (\n"
        "    campaign_id bigint NOT NULL REFERENCES campaigns ON DELETE CASCADE,\n"
        "    kind text NOT NULL,\n"
        "    value text NOT NULL,\n"
        "    slot integer NOT NULL,               -- the backend that added it (see module)\n"
        "    n double precision NOT NULL DEFAULT 0,\n"
        "    PRIMARY KEY (campaign_id, kind, value, slot)\n"
        ");\n"
    ]
    for event, signs in _SIGNS.items():
        low = event.lower()
        name = f"dp_count_recipients_{low}"
        out.append(_function(name, [_recipients(t, s) for t, s in signs.items()]))
        out.append(_trigger("recipients", event, name))
        finished = "result IS NOT NULL"
        name = f"dp_count_attempts_{low}"
        parts = [_attempts(t, s) for t, s in signs.items()]
        parts.append(
            _distinct("attempted", "attempts", f" AND o.{finished}", _changed(signs, finished))
        )
        out.append(_function(name, parts))
        out.append(_trigger("attempts", event, name))
        if event != "UPDATE":  # an answer is added or removed, never changed
            name = f"dp_count_responses_{low}"
            out.append(
                _function(name, [_distinct("responded", "responses", "", _changed(signs, ""))])
            )
            out.append(_trigger("responses", event, name))
    out.append(BACKFILL)
    return "".join(out)


BACKFILL = """
INSERT INTO campaign_counts (campaign_id, kind, value, slot, n)
SELECT campaign_id, 'final', coalesce(final_result, ''), 0, count(*) FROM recipients GROUP BY 1, 3
UNION ALL
SELECT campaign_id, 'bucket', bucket, 0, count(*) FROM recipients GROUP BY 1, 3
UNION ALL
SELECT campaign_id, 'awaiting', '', 0, count(*) FROM recipients
 WHERE final_result IS NULL AND attempts > 0 GROUP BY 1
UNION ALL
SELECT r.campaign_id, k.kind, '', 0, CASE k.kind WHEN 'placed' THEN count(*)
       WHEN 'attempted' THEN count(DISTINCT a.recipient_id)
       WHEN 'duration' THEN coalesce(sum(a.duration), 0)
       ELSE coalesce(sum(CASE WHEN a.answered_at IS NOT NULL
                          THEN ((trunc(a.duration)::bigint + 59) / 60) * 60 ELSE 0 END), 0) END
  FROM attempts a JOIN recipients r ON r.id = a.recipient_id
 CROSS JOIN (VALUES ('placed'), ('attempted'), ('duration'), ('billed')) k(kind)
 WHERE a.result IS NOT NULL GROUP BY r.campaign_id, k.kind
UNION ALL
SELECT r.campaign_id, 'responded', '', 0, count(DISTINCT p.recipient_id)
  FROM responses p JOIN recipients r ON r.id = p.recipient_id GROUP BY 1;
"""

#: migration 5 (the SQLite store's number)
DDL = _ddl()


def read(db: psycopg.Connection, campaign_id: int) -> StatCounts:
    return StatCounts.fold(
        (kind, value, float(n))
        for kind, value, n in db.execute(
            "SELECT kind, value, sum(n) FROM campaign_counts WHERE campaign_id = %s GROUP BY 1, 2",
            (campaign_id,),
        )
    )
