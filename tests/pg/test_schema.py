"""Migrations: applied once, in order, concurrently safe; a newer schema is refused."""

from __future__ import annotations

import multiprocessing

import psycopg
import pytest

from dialplan.broadcast.pg.schema import (
    MIGRATIONS,
    Migration,
    SchemaTooNew,
    migrate,
    schema_version,
)


def _migrate(dsn: str) -> list[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return migrate(conn)


def test_empty_database_is_migrated_once_even_by_concurrent_workers(pg_dsn: str) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_migrate, [pg_dsn] * 4)
    assert sorted(results) == [[], [], [], [m.version for m in MIGRATIONS]]
    with psycopg.connect(pg_dsn) as conn:
        assert schema_version(conn) == MIGRATIONS[-1].version
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    assert {
        "campaigns",
        "recipients",
        "attempts",
        "outbox",
        "workers",
        "dial_gates",
        "clocks",
    } <= tables


def test_a_new_migration_upgrades_an_existing_database_and_keeps_its_rows(pg_db: str) -> None:
    extra = Migration(
        MIGRATIONS[-1].version + 1, "test column", "ALTER TABLE campaigns ADD note text"
    )
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("INSERT INTO campaigns (name, broadcast_id, config) VALUES ('c', 'b', '{}')")
        assert migrate(conn, (*MIGRATIONS, extra)) == [extra.version]
        assert conn.execute("SELECT name, note FROM campaigns").fetchall() == [("c", None)]
        assert schema_version(conn) == extra.version


def test_a_newer_schema_than_the_code_knows_is_refused_and_left_alone(pg_db: str) -> None:
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
        with pytest.raises(
            SchemaTooNew, match=r"schema version 999 is newer than this dialplan knows"
        ):
            migrate(conn)
        assert schema_version(conn) == 999
