"""Opening the store: a migrated pool, or one line naming the server (never the password)."""

from __future__ import annotations

import socket

import pytest

from dialplan.broadcast.pg.connect import describe, open_pool
from dialplan.broadcast.pg.schema import MIGRATIONS, schema_version
from dialplan.errors import CampaignError


def test_a_pool_opens_on_a_migrated_database(pg_dsn: str) -> None:
    pool = open_pool(pg_dsn)
    try:
        with pool.connection() as conn:
            assert conn.autocommit
            assert schema_version(conn) == MIGRATIONS[-1].version
    finally:
        pool.close()


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dsn = f"postgresql://dialer:s3cret@127.0.0.1:{port}/campaigns"
    with pytest.raises(CampaignError) as info:
        open_pool(dsn, timeout=2)
    message = str(info.value)
    assert message.startswith(f"postgresql://dialer@127.0.0.1:{port}/campaigns: cannot open")
    assert "\n" not in message and "s3cret" not in message
    assert info.value.exit_code == 2


def test_a_missing_database_and_a_bad_address_are_named(pg_server: object, pg_dsn: str) -> None:
    missing = pg_dsn.rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(
        CampaignError, match=r'/no_such_db: cannot open .*"no_such_db" does not exist'
    ):
        open_pool(missing, timeout=2)
    with pytest.raises(
        CampaignError,
        match=r'^postgresql://\(unparsable address\): invalid database address: missing "=" after "campaigns"',
    ):
        open_pool("campaigns on db1", timeout=2)
    assert describe("host=db.internal port=5433 dbname=c user=u password=p") == (
        "postgresql://u@db.internal:5433/c"
    )
