"""A worker's job of a campaign whose settings or dialplan change while the job is read."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.pg import sources
from dialplan.broadcast.pg.jobs import changed_at, load_job
from dialplan.broadcast.pg.service import load
from dialplan.broadcast.pg.store import PgStore

from .campaigns import scripted


def test_a_change_committed_while_the_job_is_read_is_seen_at_the_next_look(
    pg_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker reloads a job when the campaign's stamp (``changed_at``) differs from the
    job's. A change that commits after the job's source was read must leave the job with an
    older stamp: stamped with the new one, the job would keep the old dialplan for good (the
    service's dialplan-change test saw every later call use the old one on a loaded machine)."""
    load(load_campaign(scripted(tmp_path / "c", 4, cps=5, max_active=2)), pg_db, "virtual")
    read = sources.stored_campaign

    def read_then_change(conn: psycopg.Connection, row: Any) -> Any:
        campaign = read(conn, row)
        with psycopg.connect(pg_db, autocommit=True) as other:  # another server's update
            other.execute(
                "INSERT INTO campaign_inputs (campaign_id, kind, sha256, path, recorded_at)"
                " VALUES (%s, 'dialplan', 'new', 'plan.xml', %s)",
                (row.id, time.time() + 1),
            )
        return campaign

    monkeypatch.setattr(sources, "stored_campaign", read_then_change)
    with psycopg.connect(pg_db, autocommit=True) as conn:
        (cid,) = conn.execute("SELECT id FROM campaigns").fetchone() or (0,)
        row = PgStore.on(conn, pg_db).campaign_by_id(cid)
        assert row is not None
        job = load_job(conn, row)
        assert job.changed_at is not None
        assert changed_at(conn, cid) != job.changed_at  # the next look loads it again
