"""The campaign store on PostgreSQL: what loading and the reading commands need, on psycopg.

:class:`PgStore` offers the surface of the SQLite :class:`~..store.sqlite.Store` that
``broadcast run`` (loading, bucketing, finishing), ``stats``, ``export``, ``report`` and ``list``
use — :class:`~..store.interfaces.Campaigns`, the loading half of
:class:`~..store.interfaces.RecipientQueue`, the outbox counts and every
:class:`~..store.interfaces.Reporting` query (in :mod:`.reporting`). Dialling does not go through
it: workers claim, start and finish attempts with the one-round-trip primitives of
:mod:`.dialing`. One connection, one transaction at a time (:meth:`begin` … :meth:`commit`).
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ..store.rows import OutboxRow, RecipientRow
from ..store.sqlite import CampaignRow, InputRow
from . import counters
from .connect import connect, describe
from .reporting import PgReporting
from .texts import PgTexts

__all__ = ["PgStore"]


class PgStore(PgTexts, PgReporting):
    """A campaign database on PostgreSQL (see the module doc)."""

    def __init__(self, dsn: str, *, readonly: bool = False) -> None:
        self.dsn = dsn
        #: shown in messages (the address without its password)
        self.path = describe(dsn)
        self.readonly = readonly
        self.db: psycopg.Connection = connect(dsn, autocommit=False)

    @classmethod
    def on(cls, conn: psycopg.Connection, dsn: str = "") -> PgStore:
        """The store's queries on a connection the caller owns (a worker's)."""
        store = cls.__new__(cls)
        store.dsn, store.path, store.readonly, store.db = dsn, describe(dsn), False, conn
        return store

    # -- transactions -------------------------------------------------------------------
    def begin(self) -> None:
        """Statements open a transaction themselves (psycopg's default)."""

    def commit(self) -> None:
        self.db.commit()

    def rollback(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.db.rollback()

    def close(self) -> None:
        if not self.readonly:
            self.db.commit()
        self.db.close()

    # -- campaigns ----------------------------------------------------------------------
    def campaign(self, name: str) -> CampaignRow | None:
        row = self.db.execute(
            "SELECT id, name, broadcast_id, config, state, loaded_rows, clock, started_at,"
            " finished_at, dispatch FROM campaigns WHERE name = %s",
            (name,),
        ).fetchone()
        return None if row is None else CampaignRow(*row)

    def campaign_by_id(self, campaign_id: int) -> CampaignRow | None:
        row = self.db.execute(
            "SELECT id, name, broadcast_id, config, state, loaded_rows, clock, started_at,"
            " finished_at, dispatch FROM campaigns WHERE id = %s",
            (campaign_id,),
        ).fetchone()
        return None if row is None else CampaignRow(*row)

    def campaign_names(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM campaigns ORDER BY id")]

    def webhook_secret(self, broadcast_id: str) -> str | None:
        """The ``[webhook] secret`` of the campaign whose events carry ``broadcast_id``."""
        row = self.db.execute(
            "SELECT config #>> '{raw,webhook,secret}' FROM campaigns WHERE broadcast_id = %s",
            (broadcast_id,),
        ).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def create_campaign(
        self,
        name: str,
        broadcast_id: str,
        config: dict[str, Any],
        inputs: Sequence[InputRow] = (),
        *,
        dnc_scope: str = "",
    ) -> int:
        """A new campaign and its input fingerprints (a campaign created meanwhile by another
        process wins: its id is returned)."""
        row = self.db.execute(
            "INSERT INTO campaigns (name, broadcast_id, config, dnc_scope)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO NOTHING RETURNING id",
            (name, broadcast_id, Jsonb(config, dumps=_dumps), dnc_scope),
        ).fetchone()
        if row is None:
            self.db.commit()
            existing = self.campaign(name)
            assert existing is not None
            return existing.id
        self.record_inputs(int(row[0]), inputs)
        self.db.commit()
        return int(row[0])

    def record_inputs(self, campaign_id: int, inputs: Sequence[InputRow]) -> None:
        with self.db.cursor() as cur:
            cur.executemany(
                "INSERT INTO campaign_inputs (campaign_id, kind, sha256, path, recorded_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [(campaign_id, i.kind, i.sha256, i.path, i.recorded_at) for i in inputs],
            )

    def inputs(self, campaign_id: int) -> list[InputRow]:
        return [
            InputRow(*r)
            for r in self.db.execute(
                "SELECT kind, sha256, path, recorded_at FROM campaign_inputs"
                " WHERE campaign_id = %s ORDER BY recorded_at, kind",
                (campaign_id,),
            )
        ]

    def update_campaign(self, campaign_id: int, **fields: Any) -> None:
        values = {k: Jsonb(v) if k in ("dispatch", "config") else v for k, v in fields.items()}
        cols = ", ".join(f"{k} = %s" for k in values)
        self.db.execute(
            f"UPDATE campaigns SET {cols} WHERE id = %s", (*values.values(), campaign_id)
        )

    def drop_queue_index(self) -> None:
        """The partial queue indexes stay: several workers may be claiming already."""

    def build_queue_index(self) -> None:
        """See :meth:`drop_queue_index`."""

    # -- zones --------------------------------------------------------------------------
    def zone_ids(self) -> dict[str, int]:
        return {k: i for i, k in self.db.execute("SELECT id, key FROM zones")}

    def add_zone(self, key: str) -> int:
        self.db.execute("INSERT INTO zones (key) VALUES (%s) ON CONFLICT DO NOTHING", (key,))
        row = self.db.execute("SELECT id FROM zones WHERE key = %s", (key,)).fetchone()
        assert row is not None
        return int(row[0])

    def campaign_zones(self, campaign_id: int) -> list[tuple[int, str]]:
        return [
            (int(i), str(k))
            for i, k in self.db.execute(
                "SELECT z.id, z.key FROM zones z WHERE EXISTS (SELECT 1 FROM recipients r"
                " WHERE r.campaign_id = %s AND r.zone_id = z.id) ORDER BY z.id",
                (campaign_id,),
            )
        ]

    # -- recipients ---------------------------------------------------------------------
    def add_recipients(self, rows: Sequence[RecipientRow]) -> None:
        """``COPY`` (several times faster than row inserts on a big load)."""
        with (
            self.db.cursor() as cur,
            cur.copy(
                "COPY recipients (campaign_id, row_no, phone, e164, region, zone_id, attributes,"
                " sim_result, sim_inputs, bucket, final_result, next_at) FROM STDIN"
            ) as copy,
        ):
            for r in rows:
                copy.write_row(r)

    def add_dnc(self, campaign_id: int, numbers: Iterable[str], source: str) -> None:
        with self.db.cursor() as cur:
            cur.executemany(
                "INSERT INTO dnc (campaign_id, number, source) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                [(campaign_id, n, source) for n in numbers],
            )

    def add_account_dnc(self, campaign_id: int) -> None:
        """The account's DNC list joins the campaign's: every number a call of another campaign
        of the same DNC scope put on it (``<dnc>``), source ``account`` (as the SQLite store)."""
        self.db.execute(
            "INSERT INTO dnc (campaign_id, number, source)"
            " SELECT DISTINCT %(c)s, d.number, 'account' FROM dnc d"
            " JOIN campaigns k ON k.id = d.campaign_id"
            " WHERE d.source = 'runtime' AND d.campaign_id <> %(c)s"
            " AND k.dnc_scope = (SELECT dnc_scope FROM campaigns WHERE id = %(c)s)"
            " ON CONFLICT DO NOTHING",
            {"c": campaign_id},
        )

    def dnc_numbers(self, campaign_id: int, source: str) -> set[str]:
        return {
            r[0]
            for r in self.db.execute(
                "SELECT number FROM dnc WHERE campaign_id = %s AND source = %s",
                (campaign_id, source),
            )
        }

    def bucket_dnc_and_duplicates(self, campaign_id: int, scrub_duplicates: bool) -> None:
        counters.update_recipients(
            self.db,
            "bucket = 'call_blacklisted', final_result = 'DNC'",
            "r.campaign_id = %(c)s AND r.final_result IS NULL AND r.e164 IN"
            " (SELECT number FROM dnc WHERE campaign_id = %(c)s)",
            {"c": campaign_id},
        )
        if scrub_duplicates:
            counters.update_recipients(
                self.db,
                "bucket = 'duplicate', final_result = 'DUP'",
                "r.campaign_id = %(c)s AND r.e164 IS NOT NULL AND r.id NOT IN"
                " (SELECT min(id) FROM recipients WHERE campaign_id = %(c)s"
                "  AND e164 IS NOT NULL GROUP BY e164)",
                {"c": campaign_id},
            )

    def finish_remaining(self, campaign_id: int) -> int:
        """Recipients the campaign can no longer call: the last attempt's result, or
        ``UNDIALED`` if they were never called."""
        return counters.update_recipients(
            self.db,
            "final_result = coalesce((SELECT t.result FROM attempts t"
            " WHERE t.recipient_id = r.id AND t.attempt_no = r.attempts), 'UNDIALED')",
            "r.campaign_id = %(c)s AND r.final_result IS NULL AND r.claimed_by IS NULL",
            {"c": campaign_id},
        )

    # -- ``broadcast add`` ---------------------------------------------------------------------
    @contextmanager
    def adding(self, name: str) -> Iterator[PgStore]:
        """One ``add`` at a time per campaign (an advisory lock); committed at the end, rolled
        back on failure, closed either way."""
        key = zlib.crc32(f"dialplan-load:{name}".encode())
        try:
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            yield self
            self.db.commit()
        except BaseException:
            self.rollback()
            raise
        finally:
            self.db.close()

    def next_recipient(self, campaign_id: int) -> tuple[int, int]:
        row = self.db.execute(
            "SELECT (SELECT coalesce(max(id), 0) + 1 FROM recipients),"
            " (SELECT coalesce(max(row_no), 0) + 1 FROM recipients WHERE campaign_id = %s)",
            (campaign_id,),
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def drop_known(self, campaign_id: int, first_id: int) -> int:
        return self.db.execute(
            "DELETE FROM recipients WHERE campaign_id = %(c)s AND id >= %(f)s"
            " AND coalesce(e164, 'raw:' || phone) IN (SELECT coalesce(e164, 'raw:' || phone)"
            "  FROM recipients WHERE campaign_id = %(c)s AND id < %(f)s)",
            {"c": campaign_id, "f": first_id},
        ).rowcount

    def buckets_from(self, campaign_id: int, first_id: int) -> dict[str, int]:
        return {
            str(b): int(n)
            for b, n in self.db.execute(
                "SELECT bucket, count(*) FROM recipients WHERE campaign_id = %s AND id >= %s"
                ' GROUP BY 1 ORDER BY bucket COLLATE "C"',
                (campaign_id, first_id),
            )
        }

    # -- the webhook outbox (adding; delivery claims with :class:`.outbox.PgOutbox`) ------
    def add_many(self, rows: Sequence[OutboxRow]) -> None:
        with self.db.cursor() as cur:
            cur.executemany(
                "INSERT INTO outbox (event_id, url, body, created_at, next_attempt_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                [(e, u, b, t, t) for e, u, b, t in rows],
            )

    def pending_count(self) -> int:
        row = self.db.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NULL").fetchone()
        return int(row[0]) if row else 0

    def next_due_at(self) -> float | None:
        row = self.db.execute(
            "SELECT min(next_attempt_at) FROM outbox WHERE delivered_at IS NULL"
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])


def _dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, sort_keys=True, default=str)
