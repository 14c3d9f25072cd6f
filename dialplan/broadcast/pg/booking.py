"""The workers' booking functions of migration 9 (``dp_start``, ``dp_finish``, ``dp_skip``,
``dp_reap``): those of migrations 1–2, each now counting what it changed with one upsert at
its end (the rows' images before and after, kept in arrays; :mod:`.counters`)."""

from __future__ import annotations

from .counters import append, arrays, declare, deltas, upsert


def _count(*tables: tuple[str, str | None, str | None, tuple[str, ...] | None]) -> str:
    """The upsert of a function's images: (table, before prefix, after prefix, the columns
    it changes or None) each."""
    return upsert([deltas(t, arrays(t, b, a), changed) for t, b, a, changed in tables])


_REC = {"campaign_id": "camp", "final_result": "fin", "bucket": "bkt", "attempts": "tries"}

_START = f"""
CREATE OR REPLACE FUNCTION dp_start(
    p_worker text, p_ids bigint[], p_nos integer[], p_voice_ids text[], p_starts double precision[]
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer := 0;
    mine boolean;
    camp bigint;
    fin text;
    bkt text;
    tries integer;{declare("recipients", "rb_")}{declare("recipients", "ra_")}
BEGIN
    PERFORM dp_fence(p_worker);
    FOR i IN 1 .. coalesce(cardinality(p_ids), 0) LOOP
        SELECT r.claimed_by = p_worker AND r.attempts = p_nos[i] - 1, r.campaign_id,
               r.final_result, r.bucket, r.attempts
          INTO mine, camp, fin, bkt, tries FROM recipients r WHERE r.id = p_ids[i] FOR UPDATE;
        CONTINUE WHEN mine IS NOT TRUE;
        INSERT INTO attempts (recipient_id, attempt_no, voice_id, worker_id, started_at)
        VALUES (p_ids[i], p_nos[i], p_voice_ids[i], p_worker, p_starts[i]);
        UPDATE recipients SET attempts = p_nos[i] WHERE id = p_ids[i];{
    append("recipients", "rb_", _REC)
}{append("recipients", "ra_", {**_REC, "attempts": "p_nos[i]"})}
        n := n + 1;
    END LOOP;
    IF n <> coalesce(cardinality(p_ids), 0) THEN
        RAISE EXCEPTION 'worker % does not hold % of the % claims it starts', p_worker,
            cardinality(p_ids) - n, cardinality(p_ids) USING ERRCODE = 'DPL03';
    END IF;
    -- the attempts it inserts are in flight (result NULL): no rule counts them (a test checks)
    {_count(("recipients", "rb_", "ra_", ("attempts",)))};
    RETURN n;
END $$;
"""

_FINISH = f"""
CREATE OR REPLACE FUNCTION dp_finish(
    p_worker text, p_ids bigint[], p_nos integer[], p_results text[], p_q850 integer[],
    p_answered double precision[], p_ended double precision[], p_answered_by text[],
    p_duration double precision[], p_next_at double precision[], p_final text[]
) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
DECLARE
    camp bigint;
    mine boolean;
    cur bigint := NULL;
    k integer := 0;
    last_end bigint := 0;
    was_result text;
    was_duration double precision;
    was_answered double precision;
    fin text;
    bkt text;
    tries integer;{declare("attempts", "ab_")}{declare("attempts", "aa_")}{
    declare("recipients", "rb_")
}{declare("recipients", "ra_")}
BEGIN
    PERFORM 1 FROM workers WHERE id = p_worker FOR SHARE;
    FOR i IN 1 .. coalesce(cardinality(p_ids), 0) LOOP
        -- rows are found by primary key only (no other condition the planner could prefer
        -- a partial index for), then checked
        SELECT a.worker_id = p_worker AND a.result IS NULL, a.result, a.duration, a.answered_at
          INTO mine, was_result, was_duration, was_answered FROM attempts a
         WHERE a.recipient_id = p_ids[i] AND a.attempt_no = p_nos[i] FOR UPDATE;
        CONTINUE WHEN mine IS NOT TRUE;  -- the reaper booked it already
        UPDATE attempts SET result = p_results[i], q850_cause = p_q850[i],
               answered_at = p_answered[i], ended_at = p_ended[i],
               answered_by = p_answered_by[i], duration = p_duration[i]
         WHERE recipient_id = p_ids[i] AND attempt_no = p_nos[i];
        SELECT r.campaign_id, r.claimed_by = p_worker, r.final_result, r.bucket, r.attempts
          INTO camp, mine, fin, bkt, tries FROM recipients r WHERE r.id = p_ids[i] FOR UPDATE;{
    append(
        "attempts",
        "ab_",
        {
            "campaign_id": "camp",
            "recipient_id": "p_ids[i]",
            "result": "was_result",
            "duration": "was_duration",
            "answered_at": "was_answered",
        },
    )
}{
    append(
        "attempts",
        "aa_",
        {
            "campaign_id": "camp",
            "recipient_id": "p_ids[i]",
            "result": "p_results[i]",
            "duration": "p_duration[i]",
            "answered_at": "p_answered[i]",
        },
    )
}
        CONTINUE WHEN mine IS NOT TRUE;
        UPDATE recipients SET claimed_by = NULL, claimed_at = NULL, next_at = p_next_at[i],
               final_result = p_final[i]
         WHERE id = p_ids[i];{append("recipients", "rb_", _REC)}{
    append("recipients", "ra_", {**_REC, "final_result": "p_final[i]"})
}
        IF cur IS DISTINCT FROM camp THEN
            IF cur IS NOT NULL THEN
                UPDATE dial_gates SET active = active - k,
                       lines_free_from_ms = greatest(lines_free_from_ms, last_end)
                 WHERE campaign_id = cur;
            END IF;
            cur := camp;
            k := 0;
            last_end := 0;
        END IF;
        k := k + 1;
        last_end := greatest(last_end, ceil(p_ended[i] * 1000)::bigint);
        RETURN NEXT p_ids[i];
    END LOOP;
    IF cur IS NOT NULL THEN
        UPDATE dial_gates SET active = active - k,
               lines_free_from_ms = greatest(lines_free_from_ms, last_end)
         WHERE campaign_id = cur;
    END IF;
    {_count(("attempts", "ab_", "aa_", None), ("recipients", "rb_", "ra_", ("final_result",)))};
END $$;
"""

_REC_COLS = "r.id, r.campaign_id, r.final_result, r.bucket, r.attempts"

_SKIP = f"""
CREATE OR REPLACE FUNCTION dp_skip(p_worker text, p_ids bigint[], p_final text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer := 0;
    c record;{declare("recipients", "rb_")}{declare("recipients", "ra_")}
BEGIN
    PERFORM dp_fence(p_worker);
    WITH b AS (
        SELECT {_REC_COLS} FROM recipients r
         WHERE r.id = ANY (p_ids) AND r.claimed_by = p_worker FOR UPDATE
    ), a AS (
        UPDATE recipients r SET claimed_by = NULL, claimed_at = NULL, final_result = p_final
          FROM b WHERE r.id = b.id
        RETURNING {_REC_COLS}
    )
    SELECT {", ".join(f"coalesce(array_agg(b.{c}), '{{}}')" for c in _REC)},
           {", ".join(f"coalesce(array_agg(a.{c}), '{{}}')" for c in _REC)}
      INTO {", ".join(f"rb_{c}" for c in _REC)}, {", ".join(f"ra_{c}" for c in _REC)}
      FROM b JOIN a USING (id);
    {_count(("recipients", "rb_", "ra_", ("final_result",)))};
    FOR c IN
        SELECT campaign_id, count(*) AS k FROM unnest(ra_campaign_id) AS u(campaign_id)
         GROUP BY campaign_id ORDER BY campaign_id
    LOOP
        UPDATE dial_gates SET active = active - c.k WHERE campaign_id = c.campaign_id;
        n := n + c.k;
    END LOOP;
    RETURN n;
END $$;
"""

_ATT = ("campaign_id", "recipient_id", "result", "duration", "answered_at")

_REAP = f"""
CREATE OR REPLACE FUNCTION dp_reap(p_now double precision) RETURNS TABLE (
    o_worker text, o_campaign bigint, o_recipient bigint, o_attempt integer
) LANGUAGE plpgsql AS $$
DECLARE
    lost text[];
    workers_of text[];
    nos integer[];{declare("attempts", "ab_")}{declare("attempts", "aa_")}
BEGIN
    SELECT array_agg(id) INTO lost FROM (
        SELECT id FROM workers WHERE state = 'live' AND expires_at <= dp_server_now()
         ORDER BY id FOR UPDATE SKIP LOCKED
    ) w;
    IF lost IS NULL THEN
        RETURN;
    END IF;
    UPDATE workers SET state = 'lost' WHERE id = ANY (lost);
    -- the booked attempts were in flight (result NULL); the rest of their image is unchanged
    WITH booked AS (
        UPDATE attempts a SET result = 'INTERNAL_ERROR', reason = 'worker lost', ended_at = p_now
         WHERE a.worker_id = ANY (lost) AND a.result IS NULL
        RETURNING a.worker_id, a.recipient_id, a.attempt_no, a.result, a.duration, a.answered_at
    )
    SELECT coalesce(array_agg(b.worker_id ORDER BY b.recipient_id), '{{}}'),
           coalesce(array_agg(b.attempt_no ORDER BY b.recipient_id), '{{}}'),
           coalesce(array_agg(r.campaign_id ORDER BY b.recipient_id), '{{}}'),
           coalesce(array_agg(b.recipient_id ORDER BY b.recipient_id), '{{}}'),
           coalesce(array_agg(NULL::text ORDER BY b.recipient_id), '{{}}'),
           coalesce(array_agg(b.duration ORDER BY b.recipient_id), '{{}}'),
           coalesce(array_agg(b.answered_at ORDER BY b.recipient_id), '{{}}'),
           coalesce(array_agg(b.result ORDER BY b.recipient_id), '{{}}')
      INTO workers_of, nos, {", ".join(f"ab_{c}" for c in _ATT)}, aa_result
      FROM booked b JOIN recipients r ON r.id = b.recipient_id;
    aa_campaign_id := ab_campaign_id;
    aa_recipient_id := ab_recipient_id;
    aa_duration := ab_duration;
    aa_answered_at := ab_answered_at;
    {_count(("attempts", "ab_", "aa_", ("result",)))};
    RETURN QUERY SELECT * FROM unnest(workers_of, ab_campaign_id, ab_recipient_id, nos);
    WITH freed AS (
        UPDATE recipients r SET claimed_by = NULL, claimed_at = NULL
         WHERE r.claimed_by = ANY (lost) RETURNING r.campaign_id
    )
    UPDATE dial_gates g SET active = g.active - f.k,
           lines_free_from_ms = greatest(g.lines_free_from_ms, ceil(p_now * 1000)::bigint)
      FROM (SELECT campaign_id, count(*) AS k FROM freed GROUP BY campaign_id) f
     WHERE g.campaign_id = f.campaign_id;
END $$;
"""

#: what migration 9 installs beside the delta functions
SQL = _START + _FINISH + _SKIP + _REAP
