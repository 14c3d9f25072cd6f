"""PostgreSQL migration 6 as shipped — the stats counters kept by row and statement triggers —
frozen here so the migration's SQL never changes; migration 9 (:mod:`.counters`) replaced its
row triggers by counting writers and its statement triggers' bodies by ones generated from
:data:`.counters.RULES`.

Several workers book calls of one campaign at once, so a single counter row per campaign would
be a lock every booking transaction queues for (and two transactions taking two counters in
opposite orders would deadlock). Each backend therefore adds to its own rows, keyed by
``pg_backend_pid()`` as ``slot``. Loading (``COPY``) and deletions have statement triggers with
transition tables (one aggregate per statement); the changes the workers made one row at a
time had row triggers.
"""

from __future__ import annotations

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


_ROWS = r"""
-- one backend's change of one counter (its own row: see the module doc)
CREATE FUNCTION dp_count(p_campaign bigint, p_kind text, p_value text, p_n double precision)
RETURNS void LANGUAGE plpgsql AS $$  -- plpgsql: its plan is kept per session, SQL's is not
BEGIN
    INSERT INTO campaign_counts AS c (campaign_id, kind, value, slot, n)
    VALUES (p_campaign, p_kind, p_value, pg_backend_pid(), p_n)
    ON CONFLICT (campaign_id, kind, value, slot) DO UPDATE SET n = c.n + excluded.n;
END $$;

-- Row triggers where the workers write one row per statement (a statement trigger's
-- transition tables cost ~0.6 ms a statement there). BEFORE, not AFTER: a row trigger
-- BEFORE sees the rows its statement changed before this one, so "the recipient's first
-- counted attempt / first answer" holds for a statement of several rows too.
CREATE FUNCTION dp_count_recipient_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- one statement for every counter the change moves (not one per counter: each statement
    -- is time the booking worker waits for)
    INSERT INTO campaign_counts AS c (campaign_id, kind, value, slot, n)
    SELECT NEW.campaign_id, v.kind, v.value, pg_backend_pid(), sum(v.n) FROM (VALUES
        ('final', coalesce(OLD.final_result, ''), -1),
        ('final', coalesce(NEW.final_result, ''), 1),
        ('bucket', OLD.bucket, -1),
        ('bucket', NEW.bucket, 1),
        ('awaiting', '', (NEW.final_result IS NULL AND NEW.attempts > 0)::int
                         - (OLD.final_result IS NULL AND OLD.attempts > 0)::int)
    ) v(kind, value, n) GROUP BY v.kind, v.value HAVING sum(v.n) <> 0
    ON CONFLICT (campaign_id, kind, value, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NEW;
END $$;
CREATE TRIGGER dp_count_recipients_update BEFORE UPDATE OF final_result, bucket, attempts
    ON recipients FOR EACH ROW
    WHEN (OLD.final_result IS DISTINCT FROM NEW.final_result OR OLD.bucket IS DISTINCT FROM NEW.bucket
          OR (OLD.final_result IS NULL AND OLD.attempts > 0)
             IS DISTINCT FROM (NEW.final_result IS NULL AND NEW.attempts > 0))
    EXECUTE FUNCTION dp_count_recipient_row();

-- an attempt counts once booked (result not NULL): placed, seconds, billed seconds, and the
-- recipient as attempted when it is the first of its attempts to count
CREATE FUNCTION dp_count_attempt_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    camp bigint;
    was boolean := TG_OP = 'UPDATE' AND OLD.result IS NOT NULL;
    now_counted boolean := NEW.result IS NOT NULL;
BEGIN
    SELECT r.campaign_id INTO camp FROM recipients r WHERE r.id = NEW.recipient_id;
    IF camp IS NULL THEN
        RETURN NEW;
    END IF;
    INSERT INTO campaign_counts AS c (campaign_id, kind, value, slot, n)
    SELECT camp, v.kind, '', pg_backend_pid(), v.n FROM (VALUES
        ('placed', now_counted::int - was::int),
        ('duration', CASE WHEN now_counted THEN coalesce(NEW.duration, 0) ELSE 0 END
                     - CASE WHEN was THEN coalesce(OLD.duration, 0) ELSE 0 END),
        ('billed', CASE WHEN now_counted AND NEW.answered_at IS NOT NULL
                        THEN ((trunc(NEW.duration)::bigint + 59) / 60) * 60 ELSE 0 END
                   - CASE WHEN was AND OLD.answered_at IS NOT NULL
                          THEN ((trunc(OLD.duration)::bigint + 59) / 60) * 60 ELSE 0 END),
        ('attempted', CASE WHEN was IS DISTINCT FROM now_counted AND NOT EXISTS (
            SELECT 1 FROM attempts a WHERE a.recipient_id = NEW.recipient_id
               AND a.attempt_no <> NEW.attempt_no AND a.result IS NOT NULL)
            THEN now_counted::int - was::int ELSE 0 END)
    ) v(kind, n) WHERE v.n <> 0
    ON CONFLICT (campaign_id, kind, value, slot) DO UPDATE SET n = c.n + excluded.n;
    RETURN NEW;
END $$;
CREATE TRIGGER dp_count_attempts_insert BEFORE INSERT ON attempts FOR EACH ROW
    WHEN (NEW.result IS NOT NULL) EXECUTE FUNCTION dp_count_attempt_row();
CREATE TRIGGER dp_count_attempts_update BEFORE UPDATE OF result, duration, answered_at
    ON attempts FOR EACH ROW
    WHEN (OLD.result IS DISTINCT FROM NEW.result OR OLD.duration IS DISTINCT FROM NEW.duration
          OR OLD.answered_at IS DISTINCT FROM NEW.answered_at)
    EXECUTE FUNCTION dp_count_attempt_row();

CREATE FUNCTION dp_count_response_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    camp bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM responses o WHERE o.recipient_id = NEW.recipient_id) THEN
        SELECT r.campaign_id INTO camp FROM recipients r WHERE r.id = NEW.recipient_id;
        IF camp IS NOT NULL THEN
            PERFORM dp_count(camp, 'responded', '', 1);
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER dp_count_responses_insert BEFORE INSERT ON responses FOR EACH ROW
    EXECUTE FUNCTION dp_count_response_row();
"""


def _ddl() -> str:
    out = [
        "CREATE TABLE campaign_counts (\n"
        "    campaign_id bigint NOT NULL REFERENCES campaigns ON DELETE CASCADE,\n"
        "    kind text NOT NULL,\n"
        "    value text NOT NULL,\n"
        "    slot integer NOT NULL,               -- the backend that added it (see module)\n"
        "    n double precision NOT NULL DEFAULT 0,\n"
        "    PRIMARY KEY (campaign_id, kind, value, slot)\n"
        ");\n",
        _ROWS,
    ]
    # statement triggers for the set-based writes: loading (COPY) and deleting
    out.append(_function("dp_count_recipients_insert", [_recipients("new_rows", "1")]))
    out.append(_trigger("recipients", "INSERT", "dp_count_recipients_insert"))
    signs = {"old_rows": "-1"}
    out.append(_function("dp_count_recipients_delete", [_recipients("old_rows", "-1")]))
    out.append(_trigger("recipients", "DELETE", "dp_count_recipients_delete"))
    finished = "result IS NOT NULL"
    parts = [_attempts("old_rows", "-1")]
    parts.append(
        _distinct("attempted", "attempts", f" AND o.{finished}", _changed(signs, finished))
    )
    out.append(_function("dp_count_attempts_delete", parts))
    out.append(_trigger("attempts", "DELETE", "dp_count_attempts_delete"))
    parts = [_distinct("responded", "responses", "", _changed(signs, ""))]
    out.append(_function("dp_count_responses_delete", parts))
    out.append(_trigger("responses", "DELETE", "dp_count_responses_delete"))
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

#: migration 6 (the SQLite store's number)
DDL = _ddl()
