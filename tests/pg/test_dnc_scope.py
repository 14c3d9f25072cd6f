"""Per-account DNC on PostgreSQL: the same contract as the SQLite store's."""

from __future__ import annotations

from dialplan.broadcast.pg.store import PgStore
from tests.broadcast.dnc_scope_cases import check_account_dnc_stays_in_its_scope


def test_the_store_copies_runtime_dnc_within_a_scope(pg_db: str) -> None:
    store = PgStore(pg_db)
    try:
        check_account_dnc_stays_in_its_scope(store)
    finally:
        store.close()
