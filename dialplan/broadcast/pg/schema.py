"""The PostgreSQL store's schema and its migrations, applied in order under an advisory lock.

The tables mirror the SQLite store (campaigns, zones, recipients, attempts, responses, DNC,
input fingerprints, the webhook outbox) plus what several workers need: ``workers`` (one lease
per worker process), ``dial_gates`` (the campaign-wide rate and line count every claim updates),
``clocks`` (the shared virtual clock), and claim columns on ``recipients`` and ``outbox``. The
dialling primitives are PL/pgSQL functions so that each is one round trip.

``schema_migrations`` records every applied version; :func:`migrate` applies the missing ones
in one transaction (DDL is transactional in PostgreSQL) while holding a transaction-scoped
advisory lock, so workers starting together upgrade the database exactly once, and refuses a
database whose schema is newer than this code knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from ...errors import CampaignError
from ..store.migrations import COUNTERS
from . import booking, counters
from .counters_v6 import DDL as _COUNTERS

__all__ = ["MIGRATIONS", "Migration", "SchemaTooNew", "migrate", "schema_version"]

#: ``pg_advisory_xact_lock`` key that serialises migrations (any fixed 64-bit number)
_LOCK_KEY = 0x6469616C706C616E  # "dialplan"


class SchemaTooNew(CampaignError):
    """The database was upgraded by a newer dialplan than this one (exit 2)."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


_TABLES = """
CREATE TABLE campaigns (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    broadcast_id text NOT NULL,
    config jsonb NOT NULL,
    state text NOT NULL DEFAULT 'loading',
    loaded_rows bigint NOT NULL DEFAULT 0,
    clock double precision,
    started_at double precision,
    finished_at double precision,
    dispatch jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE campaign_inputs (
    campaign_id bigint NOT NULL REFERENCES campaigns ON DELETE CASCADE,
    kind text NOT NULL,
    sha256 text NOT NULL,
    path text NOT NULL,
    recorded_at double precision NOT NULL,
    PRIMARY KEY (campaign_id, kind, sha256)
);
CREATE TABLE zones (id serial PRIMARY KEY, key text NOT NULL UNIQUE);
CREATE TABLE recipients (
    id bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaigns ON DELETE CASCADE,
    row_no bigint NOT NULL,
    phone text NOT NULL,
    e164 text,
    region text,
    zone_id integer REFERENCES zones,
    attributes text NOT NULL DEFAULT '{}',   -- the JSON text as loaded (key order kept)
    sim_result text,
    sim_inputs text,
    bucket text NOT NULL DEFAULT 'call_initiated',
    final_result text,
    attempts integer NOT NULL DEFAULT 0,
    next_at double precision NOT NULL DEFAULT 0,
    claimed_by text,                          -- the worker holding it (its lease is the worker's)
    claimed_at double precision
);
CREATE INDEX recipients_due ON recipients (campaign_id, next_at, id)
    WHERE final_result IS NULL AND claimed_by IS NULL;
CREATE INDEX recipients_claimed ON recipients (claimed_by) WHERE claimed_by IS NOT NULL;
CREATE TABLE attempts (
    recipient_id bigint NOT NULL REFERENCES recipients ON DELETE CASCADE,
    attempt_no integer NOT NULL,
    voice_id text NOT NULL,
    worker_id text NOT NULL,
    started_at double precision NOT NULL,
    answered_at double precision,
    ended_at double precision,
    result text,                              -- NULL while the call is in flight
    q850_cause integer,
    answered_by text,
    duration double precision,
    reason text,
    PRIMARY KEY (recipient_id, attempt_no)
);
CREATE INDEX attempts_in_flight ON attempts (worker_id) WHERE result IS NULL;
CREATE TABLE responses (
    id bigserial PRIMARY KEY,
    recipient_id bigint NOT NULL REFERENCES recipients ON DELETE CASCADE,
    attempt_no integer NOT NULL,
    question text NOT NULL,
    response text NOT NULL
);
CREATE INDEX responses_recipient ON responses (recipient_id);
CREATE TABLE dnc (
    campaign_id bigint NOT NULL REFERENCES campaigns ON DELETE CASCADE,
    number text NOT NULL,
    source text NOT NULL,
    PRIMARY KEY (campaign_id, number)
);
CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    event_id text NOT NULL UNIQUE,
    url text NOT NULL,
    body bytea NOT NULL,
    created_at double precision NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at double precision NOT NULL DEFAULT 0,
    delivered_at double precision,
    last_error text,
    claimed_by text,
    claim_expires_at double precision         -- server clock
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE delivered_at IS NULL;
CREATE TABLE workers (
    id text PRIMARY KEY,
    host text NOT NULL,
    pid integer NOT NULL,
    started_at double precision NOT NULL,     -- server clock, like every lease time
    heartbeat_at double precision NOT NULL,
    expires_at double precision NOT NULL,
    state text NOT NULL DEFAULT 'live' CHECK (state IN ('live', 'lost', 'stopped')),
    clock text,                               -- the virtual clock it runs on, if any
    idle_until double precision,              -- its next wake-up when it reported idle
    idle_generation bigint                    -- the clock generation of that report
);
CREATE TABLE dial_gates (
    campaign_id bigint PRIMARY KEY REFERENCES campaigns ON DELETE CASCADE,
    spacing_ms bigint NOT NULL CHECK (spacing_ms >= 1),
    max_active integer NOT NULL CHECK (max_active >= 1),
    next_start_ms bigint NOT NULL DEFAULT 0,
    active integer NOT NULL DEFAULT 0 CHECK (active >= 0),
    -- the latest end booked for a line given back: a claim's slot is never before it, so the
    -- booked times agree with the order the database saw (a claim made with a stale ``now``
    -- cannot start a call on a line before the call that freed it ended)
    lines_free_from_ms bigint NOT NULL DEFAULT 0
);
CREATE TABLE clocks (
    name text PRIMARY KEY,
    now double precision NOT NULL,
    generation bigint NOT NULL DEFAULT 0
);
"""

_FUNCTIONS = r"""
CREATE FUNCTION dp_server_now() RETURNS double precision LANGUAGE sql VOLATILE AS
$$ SELECT extract(epoch FROM clock_timestamp())::double precision $$;

-- The fence of every write a worker makes for its claims: its lease is live and unexpired.
-- FOR SHARE orders it against the reaper, which takes the worker row FOR UPDATE.
CREATE FUNCTION dp_fence(p_worker text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM workers
     WHERE id = p_worker AND state = 'live' AND expires_at > dp_server_now() FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'worker % lost its lease', p_worker USING ERRCODE = 'DPL01';
    END IF;
END $$;

-- Claim up to p_limit due recipients for p_worker: as many as the campaign-wide gate allows
-- (free lines under max_active; start slots at least spacing_ms apart, from now up to
-- now + p_horizon_ms). Returns each claim with its attempt number and its start time.
CREATE FUNCTION dp_claim(
    p_campaign bigint, p_worker text, p_now double precision, p_limit integer,
    p_horizon_ms bigint, p_zones integer[]
) RETURNS TABLE (
    o_recipient bigint, o_attempt integer, o_start double precision, o_e164 text,
    o_attributes text, o_sim_result text, o_sim_inputs text
) LANGUAGE plpgsql AS $$
DECLARE
    g dial_gates%ROWTYPE;
    now_ms bigint := ceil(p_now * 1000);  -- a slot is never before the claim
    first_ms bigint;
    n integer;
BEGIN
    PERFORM dp_fence(p_worker);
    SELECT * INTO g FROM dial_gates WHERE campaign_id = p_campaign FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'campaign % has no dial gate', p_campaign USING ERRCODE = 'DPL02';
    END IF;
    first_ms := greatest(now_ms, g.next_start_ms, g.lines_free_from_ms);
    IF first_ms > now_ms + p_horizon_ms THEN
        RETURN;
    END IF;
    n := least(p_limit, g.max_active - g.active, (now_ms + p_horizon_ms - first_ms) / g.spacing_ms + 1);
    IF n <= 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH picked AS (
        SELECT r.id FROM recipients r
         WHERE r.campaign_id = p_campaign AND r.final_result IS NULL AND r.claimed_by IS NULL
           AND r.next_at <= p_now AND (p_zones IS NULL OR r.zone_id = ANY (p_zones))
         ORDER BY r.next_at, r.id
         LIMIT n
           FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE recipients r SET claimed_by = p_worker, claimed_at = p_now
          FROM picked WHERE r.id = picked.id
        RETURNING r.id, r.attempts, r.next_at, r.e164, r.attributes, r.sim_result, r.sim_inputs
    ), numbered AS (
        SELECT c.*, row_number() OVER (ORDER BY c.next_at, c.id) - 1 AS k FROM claimed c
    )
    SELECT x.id, x.attempts + 1, (first_ms + x.k * g.spacing_ms) / 1000.0::double precision,
           x.e164, x.attributes, x.sim_result, x.sim_inputs
      FROM numbered x ORDER BY x.k;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        UPDATE dial_gates SET next_start_ms = first_ms + n * g.spacing_ms, active = active + n
         WHERE campaign_id = p_campaign;
    END IF;
END $$;

-- Book the attempts of claimed recipients as placed (in flight) before anything is dialled.
CREATE FUNCTION dp_start(
    p_worker text, p_ids bigint[], p_nos integer[], p_voice_ids text[], p_starts double precision[]
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    PERFORM dp_fence(p_worker);
    WITH todo AS (
        SELECT u.rid, u.no, u.vid, u.t FROM unnest(p_ids, p_nos, p_voice_ids, p_starts) AS u(rid, no, vid, t)
          JOIN recipients r ON r.id = u.rid AND r.claimed_by = p_worker AND r.attempts = u.no - 1
    ), booked AS (
        INSERT INTO attempts (recipient_id, attempt_no, voice_id, worker_id, started_at)
        SELECT rid, no, vid, p_worker, t FROM todo
        RETURNING recipient_id, attempt_no
    )
    UPDATE recipients r SET attempts = b.attempt_no FROM booked b WHERE r.id = b.recipient_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n <> cardinality(p_ids) THEN
        RAISE EXCEPTION 'worker % does not hold % of the % claims it starts', p_worker,
            cardinality(p_ids) - n, cardinality(p_ids) USING ERRCODE = 'DPL03';
    END IF;
    RETURN n;
END $$;

-- Give claims that were never started back (and their lines); in-flight ones stay claimed.
CREATE FUNCTION dp_unclaim(p_worker text, p_ids bigint[]) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer := 0;
    c record;
BEGIN
    FOR c IN
        WITH freed AS (
            UPDATE recipients r SET claimed_by = NULL, claimed_at = NULL
             WHERE r.id = ANY (p_ids) AND r.claimed_by = p_worker
               AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.recipient_id = r.id
                                  AND a.attempt_no = r.attempts AND a.result IS NULL)
            RETURNING r.campaign_id
        ) SELECT campaign_id, count(*) AS k FROM freed GROUP BY campaign_id ORDER BY campaign_id
    LOOP
        UPDATE dial_gates SET active = active - c.k WHERE campaign_id = c.campaign_id;
        n := n + c.k;
    END LOOP;
    RETURN n;
END $$;

-- Book finished attempts and hand their recipients back with the retry policy's decision
-- (next_at, final_result). Attempts the reaper already booked are left alone (exactly once).
-- The worker's row is held FOR SHARE first, so a reaper (FOR UPDATE SKIP LOCKED) passes this
-- worker by until the finish is committed: the two never interleave, never deadlock.
CREATE FUNCTION dp_finish(
    p_worker text, p_ids bigint[], p_nos integer[], p_results text[], p_q850 integer[],
    p_answered double precision[], p_ended double precision[], p_answered_by text[],
    p_duration double precision[], p_next_at double precision[], p_final text[]
) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM workers WHERE id = p_worker FOR SHARE;
    RETURN QUERY
    WITH u AS (
        SELECT * FROM unnest(p_ids, p_nos, p_results, p_q850, p_answered, p_ended, p_answered_by,
                             p_duration, p_next_at, p_final)
            AS u(rid, no, res, q850, answered, ended, answered_by, duration, next_at, final)
    ), booked AS (
        UPDATE attempts a SET result = u.res, q850_cause = u.q850, answered_at = u.answered,
               ended_at = u.ended, answered_by = u.answered_by, duration = u.duration
          FROM u
         WHERE a.recipient_id = u.rid AND a.attempt_no = u.no AND a.worker_id = p_worker
           AND a.result IS NULL
        RETURNING a.recipient_id
    ), freed AS (
        UPDATE recipients r SET claimed_by = NULL, claimed_at = NULL, next_at = u.next_at,
               final_result = u.final
          FROM u JOIN booked b ON b.recipient_id = u.rid
         WHERE r.id = u.rid AND r.claimed_by = p_worker
        RETURNING r.id, r.campaign_id, u.ended
    ), lines AS (
        UPDATE dial_gates g SET active = g.active - f.k,
               lines_free_from_ms = greatest(g.lines_free_from_ms, f.last_end_ms)
          FROM (SELECT campaign_id, count(*) AS k, max(ceil(ended * 1000))::bigint AS last_end_ms
                  FROM freed GROUP BY campaign_id) f
         WHERE g.campaign_id = f.campaign_id
    )
    SELECT f.id FROM freed f;
END $$;

-- Workers whose lease expired are lost: their in-flight attempts are booked INTERNAL_ERROR
-- ("worker lost") exactly once, their claims and lines are freed. Returns the booked attempts
-- (the caller applies the retry policy in the same transaction).
CREATE FUNCTION dp_reap(p_now double precision) RETURNS TABLE (
    o_worker text, o_campaign bigint, o_recipient bigint, o_attempt integer
) LANGUAGE plpgsql AS $$
DECLARE
    lost text[];
BEGIN
    SELECT array_agg(id) INTO lost FROM (
        SELECT id FROM workers WHERE state = 'live' AND expires_at <= dp_server_now()
         ORDER BY id FOR UPDATE SKIP LOCKED
    ) w;
    IF lost IS NULL THEN
        RETURN;
    END IF;
    UPDATE workers SET state = 'lost' WHERE id = ANY (lost);
    RETURN QUERY
    WITH booked AS (
        UPDATE attempts a SET result = 'INTERNAL_ERROR', reason = 'worker lost', ended_at = p_now
         WHERE a.worker_id = ANY (lost) AND a.result IS NULL
        RETURNING a.worker_id, a.recipient_id, a.attempt_no
    )
    SELECT b.worker_id, r.campaign_id, b.recipient_id, b.attempt_no
      FROM booked b JOIN recipients r ON r.id = b.recipient_id ORDER BY b.recipient_id;
    WITH freed AS (
        UPDATE recipients r SET claimed_by = NULL, claimed_at = NULL
         WHERE r.claimed_by = ANY (lost) RETURNING r.campaign_id
    )
    UPDATE dial_gates g SET active = g.active - f.k,
           lines_free_from_ms = greatest(g.lines_free_from_ms, ceil(p_now * 1000)::bigint)
      FROM (SELECT campaign_id, count(*) AS k FROM freed GROUP BY campaign_id) f
     WHERE g.campaign_id = f.campaign_id;
END $$;

-- The shared virtual clock. A worker reports idle with its next wake-up (NULL: nothing to do
-- ever); when every live worker on the clock has reported idle in this generation, the clock
-- moves to the earliest wake-up and a new generation starts (everyone busy again).
CREATE FUNCTION dp_clock_idle(p_worker text, p_clock text, p_wake double precision)
RETURNS TABLE (o_now double precision, o_generation bigint, o_advanced boolean)
LANGUAGE plpgsql AS $$
DECLARE
    c clocks%ROWTYPE;
    busy integer;
    wake double precision;
BEGIN
    PERFORM dp_fence(p_worker);
    SELECT * INTO c FROM clocks WHERE name = p_clock FOR UPDATE;
    UPDATE workers SET idle_until = coalesce(p_wake, 'infinity'), idle_generation = c.generation
     WHERE id = p_worker;
    SELECT count(*) INTO busy FROM workers
     WHERE clock = p_clock AND state = 'live' AND idle_generation IS DISTINCT FROM c.generation;
    IF busy = 0 THEN
        SELECT min(idle_until) INTO wake FROM workers WHERE clock = p_clock AND state = 'live';
        IF wake < 'infinity'::double precision THEN
            UPDATE clocks SET now = greatest(c.now, wake), generation = c.generation + 1
             WHERE name = p_clock RETURNING now, generation INTO c.now, c.generation;
            PERFORM pg_notify('dp_clock', p_clock);
            RETURN QUERY SELECT c.now, c.generation, true;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT c.now, c.generation, false;
END $$;

-- A worker that is about to work again is busy first, then reads the time (under the clock's
-- lock, so the clock cannot move between the two).
CREATE FUNCTION dp_clock_busy(p_worker text, p_clock text)
RETURNS TABLE (o_now double precision, o_generation bigint) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dp_fence(p_worker);
    PERFORM 1 FROM clocks WHERE name = p_clock FOR UPDATE;
    UPDATE workers SET idle_until = NULL, idle_generation = NULL WHERE id = p_worker;
    RETURN QUERY SELECT now, generation FROM clocks WHERE name = p_clock;
END $$;
"""

#: the sound library (the SQLite store's migration 4; see dialplan.sounds.library)
_SOUNDS = """
CREATE TABLE sounds (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    kind text NOT NULL,
    source text NOT NULL,
    voice text,
    language text,
    audio bytea NOT NULL,
    sha256 text NOT NULL,
    length_ms integer NOT NULL,
    created_at double precision NOT NULL,
    status text NOT NULL DEFAULT 'ACTIVE'
);
"""

#: text campaigns (the SQLite store's migration 3): one row per text attempt (segments,
#: delivery), the do-not-text list of each sending number, the inbound texts received
_TEXTS = """
CREATE TABLE texts (
    recipient_id bigint NOT NULL,
    attempt_no integer NOT NULL,
    message text,
    encoding text,
    segments integer NOT NULL DEFAULT 0,
    message_ids text NOT NULL DEFAULT '[]',
    delivery text,
    delivered_segments integer NOT NULL DEFAULT 0,
    receipt_at double precision,
    PRIMARY KEY (recipient_id, attempt_no)
);
CREATE TABLE text_optouts (
    from_number text NOT NULL,
    number text NOT NULL,
    added_at double precision NOT NULL,
    PRIMARY KEY (from_number, number)
);
CREATE TABLE inbound_texts (
    id bigserial PRIMARY KEY,
    from_number text NOT NULL,
    to_number text NOT NULL,
    body text NOT NULL,
    keyword text,
    received_at double precision NOT NULL
);
CREATE INDEX inbound_texts_to ON inbound_texts (to_number);
-- a number put on the DNC list during a run (a STOP, a call's <dnc>) ends the recipients
-- still waiting with it at once (see CampaignJob.book)
CREATE INDEX recipients_waiting_number ON recipients (campaign_id, e164)
    WHERE final_result IS NULL;
"""

_WORKERS = r"""
-- Starting and booking attempts one key at a time. The set-based version of release 1 let the
-- planner join through the worker's in-flight index, whose statistics are stale while a
-- campaign starts (autovacuum has not analysed the new rows): measured 43 ms per finish of 70
-- calls with thousands in flight. Primary-key lookups cost the same whatever the statistics.
CREATE OR REPLACE FUNCTION dp_start(
    p_worker text, p_ids bigint[], p_nos integer[], p_voice_ids text[], p_starts double precision[]
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer := 0;
    mine boolean;
BEGIN
    PERFORM dp_fence(p_worker);
    FOR i IN 1 .. coalesce(cardinality(p_ids), 0) LOOP
        SELECT r.claimed_by = p_worker AND r.attempts = p_nos[i] - 1 INTO mine FROM recipients r
         WHERE r.id = p_ids[i] FOR UPDATE;
        CONTINUE WHEN mine IS NOT TRUE;
        INSERT INTO attempts (recipient_id, attempt_no, voice_id, worker_id, started_at)
        VALUES (p_ids[i], p_nos[i], p_voice_ids[i], p_worker, p_starts[i]);
        UPDATE recipients SET attempts = p_nos[i] WHERE id = p_ids[i];
        n := n + 1;
    END LOOP;
    IF n <> coalesce(cardinality(p_ids), 0) THEN
        RAISE EXCEPTION 'worker % does not hold % of the % claims it starts', p_worker,
            cardinality(p_ids) - n, cardinality(p_ids) USING ERRCODE = 'DPL03';
    END IF;
    RETURN n;
END $$;

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
BEGIN
    PERFORM 1 FROM workers WHERE id = p_worker FOR SHARE;
    FOR i IN 1 .. coalesce(cardinality(p_ids), 0) LOOP
        -- rows are found by primary key only (no other condition the planner could prefer
        -- a partial index for), then checked
        SELECT a.worker_id = p_worker AND a.result IS NULL INTO mine FROM attempts a
         WHERE a.recipient_id = p_ids[i] AND a.attempt_no = p_nos[i] FOR UPDATE;
        CONTINUE WHEN mine IS NOT TRUE;  -- the reaper booked it already
        UPDATE attempts SET result = p_results[i], q850_cause = p_q850[i],
               answered_at = p_answered[i], ended_at = p_ended[i],
               answered_by = p_answered_by[i], duration = p_duration[i]
         WHERE recipient_id = p_ids[i] AND attempt_no = p_nos[i];
        SELECT r.campaign_id, r.claimed_by = p_worker INTO camp, mine FROM recipients r
         WHERE r.id = p_ids[i] FOR UPDATE;
        CONTINUE WHEN mine IS NOT TRUE;
        UPDATE recipients SET claimed_by = NULL, claimed_at = NULL, next_at = p_next_at[i],
               final_result = p_final[i]
         WHERE id = p_ids[i];
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
END $$;
-- the next due recipient of each zone, read by an idle worker (and ``finished`` checks)
CREATE INDEX recipients_zone_due ON recipients (campaign_id, zone_id, next_at)
    WHERE final_result IS NULL AND claimed_by IS NULL;

-- Claims never dialled that end with a final result (a number put on the DNC list during the
-- campaign): booked, given back with their lines.
CREATE FUNCTION dp_skip(p_worker text, p_ids bigint[], p_final text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer := 0;
    c record;
BEGIN
    PERFORM dp_fence(p_worker);
    FOR c IN
        WITH done AS (
            UPDATE recipients r SET claimed_by = NULL, claimed_at = NULL, final_result = p_final
             WHERE r.id = ANY (p_ids) AND r.claimed_by = p_worker
            RETURNING r.campaign_id
        ) SELECT campaign_id, count(*) AS k FROM done GROUP BY campaign_id ORDER BY campaign_id
    LOOP
        UPDATE dial_gates SET active = active - c.k WHERE campaign_id = c.campaign_id;
        n := n + c.k;
    END LOOP;
    RETURN n;
END $$;
"""

#: the DNC scope of a campaign: add_account_dnc copies runtime DNC numbers only between
#: campaigns of one scope (one per account in the service; '' for every CLI campaign)
_DNC_SCOPE = "ALTER TABLE campaigns ADD COLUMN dnc_scope text NOT NULL DEFAULT ''"

#: a campaign's definition as loaded, once per fingerprint: workers build their jobs from it
#: (see :mod:`.sources`), so no worker machine needs the campaign's files
_SOURCES = """
CREATE TABLE campaign_sources (
    campaign_id bigint NOT NULL REFERENCES campaigns ON DELETE CASCADE,
    sha256 text NOT NULL,
    path text NOT NULL,
    settings bytea NOT NULL,
    dialplan text,
    recorded_at double precision NOT NULL,
    PRIMARY KEY (campaign_id, sha256)
);
"""

#: the service's sound libraries (``/v2/campaigns/sounds``) in the same table: ``account`` is the
#: owning account, NULL for the campaign store's own library (``dialplan sounds``, the copies
#: sound broadcasts play); a name is unique within one account's library
_ACCOUNT_SOUNDS = """
ALTER TABLE sounds ADD COLUMN account text;
ALTER TABLE sounds DROP CONSTRAINT sounds_name_key;
CREATE UNIQUE INDEX sounds_account_name ON sounds (coalesce(account, ''), name);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "campaign store, worker leases, dial gates, shared clock", _TABLES + _FUNCTIONS),
    Migration(2, "campaign workers: zone queue index, skipping claims, finish by key", _WORKERS),
    Migration(3, "texts: segments and delivery per text; text_optouts; inbound_texts", _TEXTS),
    Migration(4, "sounds: the account's sound library (μ-law audio, shared by campaigns)", _SOUNDS),
    Migration(5, "campaigns.dnc_scope: account DNC lists copied within one scope only", _DNC_SCOPE),
    Migration(COUNTERS, "campaign_counts: the stats counters, kept by triggers", _COUNTERS),
    Migration(7, "campaign_sources: campaign file and dialplan in the database", _SOURCES),
    Migration(8, "sounds.account: the service's per-account sound libraries", _ACCOUNT_SOUNDS),
    Migration(
        9,
        "campaign_counts kept by the writers (one set of delta functions), no row triggers",
        counters.ddl(booking.SQL),
    ),
)

_BOOKKEEPING = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


def schema_version(conn: psycopg.Connection) -> int:
    """The highest applied migration (0 for an empty database)."""
    row = conn.execute(
        "SELECT CASE WHEN to_regclass('schema_migrations') IS NULL THEN 0"
        " ELSE (SELECT coalesce(max(version), 0) FROM schema_migrations) END"
    ).fetchone()
    return int(row[0]) if row else 0


def migrate(conn: psycopg.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Bring the database up to the last of ``migrations``; returns the versions applied now.

    Raises :class:`SchemaTooNew` (and changes nothing) when the database has a version this
    code does not know.
    """
    known = {m.version for m in migrations}
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(_BOOKKEEPING)
        applied = {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations")}
        unknown = sorted(applied - known)
        if unknown and unknown[-1] > max(known, default=0):
            info = conn.info
            raise SchemaTooNew(
                f"postgresql://{info.host}:{info.port}/{info.dbname}: database schema version"
                f" {unknown[-1]} is newer than this dialplan knows ({max(known)});"
                " upgrade dialplan to use it"
            )
        done: list[int] = []
        for m in sorted(migrations, key=lambda m: m.version):
            if m.version in applied:
                continue
            conn.execute(m.sql.encode())  # bytes: a script of several statements, no params
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (m.version, m.name)
            )
            done.append(m.version)
        return done
