"""PostgreSQL migration 4: the sound library's table (the SQLite store's migration 4)."""

from __future__ import annotations

import psycopg

from dialplan.broadcast.pg.schema import MIGRATIONS, migrate, schema_version


def test_migration_4_creates_the_sound_library(pg_db: str) -> None:
    with psycopg.connect(pg_db, autocommit=True) as conn:
        migrate(conn)
        assert schema_version(conn) == MIGRATIONS[-1].version >= 4
        conn.execute(
            "INSERT INTO sounds (name, kind, source, audio, sha256, length_ms, created_at)"
            " VALUES ('welcome', 'file', 'welcome.wav', %s, 'x', 1, 0)",
            (b"\xff\x7f\x00",),
        )
        row = conn.execute("SELECT audio, status FROM sounds WHERE name = 'welcome'").fetchone()
    assert row is not None and bytes(row[0]) == b"\xff\x7f\x00" and row[1] == "ACTIVE"
