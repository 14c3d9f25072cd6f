"""The broadcast layer's read side: batches, stats, calls, exports, reports and progress."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TextIO

from ..problems import ProblemError
from . import files
from .callrows import CallFilter, CallRow
from .core import BroadcastsCore
from .values import (
    STATS_FIELDS,
    TEXT_STATS_FIELDS,
    Batch,
    Broadcast,
    ProgressSnapshot,
    batch_of_row,
    kind_of,
    snapshot_of,
)

#: PostgreSQL: how often a progress stream looks at the store (s)
POLL_S = 0.5


class BroadcastReading(BroadcastsCore):
    """What a broadcast has done so far (see :mod:`.layer`)."""

    def batches(
        self, account: str, broadcast_id: int, limit: int = 100, offset: int = 0
    ) -> tuple[list[Batch], int]:
        self.get(account, broadcast_id)
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT * FROM broadcast_batches WHERE broadcast_id = ? ORDER BY id",
                (broadcast_id,),
            ).fetchall()
        found = [batch_of_row(r) for r in rows]
        return found[offset : offset + limit], len(found)

    def batch(self, account: str, broadcast_id: int, batch_id: int) -> Batch:
        for b in self.batches(account, broadcast_id, 1_000_000)[0]:
            if b.id == batch_id:
                return b
        kind = "" if self.channel is None else kind_of(self.channel) + " "
        raise ProblemError(
            404, "not-found", f"no batch {batch_id} in {kind}broadcast {broadcast_id}"
        )

    def stats(self, account: str, broadcast_id: int) -> dict[str, int | float]:
        """CallFire's CallBroadcastStats (``responseRatePercent`` an integer, as there); a text
        broadcast's TextBroadcastStatsDto (``recievedCount``, as CallFire spells it)."""
        b = self.get(account, broadcast_id)
        names = TEXT_STATS_FIELDS if b.channel == "sms" else STATS_FIELDS
        out: dict[str, int | float] = dict.fromkeys(names, 0)
        out["billedAmount"] = 0.0
        if b.campaign_id is None:
            return out
        from ...broadcast.reporting.stats import campaign_stats

        with self._reader() as store:
            data = campaign_stats(store, files.campaign_name(broadcast_id))
        for key in names:
            out[key] = round(data.get(key) or 0)
        return out

    def calls(
        self,
        account: str,
        broadcast_id: int | None,
        where: CallFilter,
        limit: int = 100,
        offset: int = 0,
        batch_id: int | None = None,
    ) -> tuple[list[tuple[Broadcast, CallRow]], int]:
        """Calls (one per recipient) of one broadcast, or of all the account's broadcasts."""
        if batch_id is not None:
            owner = self._batch_owner(batch_id)
            if broadcast_id is not None and owner != broadcast_id:
                return [], 0
            if broadcast_id is None and not self._visible(account, owner):
                raise ProblemError(404, "not-found", f"no batch {batch_id}")
            broadcast_id = owner
        if broadcast_id is not None:
            found = [self.get(account, broadcast_id)]
        else:
            found = self.find(account, limit=1_000_000)[0]
        stored = [b for b in found if b.campaign_id is not None]
        out: list[tuple[Broadcast, CallRow]] = []
        total = 0
        if not stored:
            return [], 0
        if batch_id is not None:
            batch = self.batch(account, stored[0].id, batch_id)
            where = _with_rows(where, ((batch.first_row, batch.last_row),))
        with self._reader() as store:
            queries = self._calls(store)
            for b in sorted(stored, key=lambda x: x.id):
                assert b.campaign_id is not None
                rows, n = queries.calls(
                    b.campaign_id, where, max(0, limit - len(out)), max(0, offset - total)
                )
                total += n
                out.extend((b, r) for r in rows)
        return out, total

    def call(self, account: str, call_id: int) -> tuple[Broadcast, CallRow]:
        """One call (or text) by id (ids are unique across the service's broadcasts); 404
        naming the view's kind when the account has none of that id in this view."""
        missing = ProblemError(404, "not-found", f"no {kind_of(self.channel)} {call_id}")
        if self.pg is None and not self.store_path.is_file():
            raise missing
        with self._reader() as store:
            cid = self._calls(store).campaign_of(call_id)
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT id FROM broadcasts WHERE campaign_id = ? AND account = ?", (cid, account)
            ).fetchone()
        if cid is None or row is None or not self._visible(account, int(row["id"])):
            raise missing
        found, _ = self.calls(account, int(row["id"]), CallFilter(ids=frozenset({call_id})), 1)
        if not found:
            raise missing
        return found[0]

    def text_records(
        self, recipient_ids: Sequence[int]
    ) -> dict[tuple[int, int], tuple[str, str, int, str | None]]:
        """``(call id, attempt) → (message, encoding, segments, delivery)`` of text attempts."""
        if not recipient_ids or (self.pg is None and not self.store_path.is_file()):
            return {}
        with self._reader() as store:
            return {
                (int(t[0]), int(t[1])): (str(t[2]), str(t[3]), int(t[4]), t[5])
                for t in store.texts_of(list(recipient_ids))
            }

    def batch_of(self, broadcast_id: int, row_no: int) -> int | None:
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT id FROM broadcast_batches WHERE broadcast_id = ? AND ? BETWEEN first_row"
                " AND last_row ORDER BY id DESC LIMIT 1",
                (broadcast_id, row_no),
            ).fetchone()
        return None if row is None else int(row["id"])

    def export(self, account: str, broadcast_id: int, fmt: str, out: TextIO) -> None:
        """The per-recipient export of ``broadcast export`` (``csv`` or ``json``) into ``out``."""
        from ...broadcast.reporting.stats import write_csv, write_json

        b = self.get(account, broadcast_id)
        if b.campaign_id is None:
            out.write("[]\n" if fmt == "json" else "")
            return
        with self._reader() as store:
            (write_json if fmt == "json" else write_csv)(
                store, files.campaign_name(broadcast_id), out
            )

    def dialplan_xml(self, account: str, broadcast_id: int) -> str | None:
        """The broadcast's dialplan as it runs (from ``dialplanXml`` or its flow); ``None`` for
        a sound broadcast (its dialplan is generated from ``sounds``)."""
        self.get(account, broadcast_id)
        if "sounds" in self._campaign_data(broadcast_id):
            return None
        return (self.home / str(broadcast_id) / "dialplan.xml").read_text("utf-8")

    def report_html(self, account: str, broadcast_id: int) -> str:
        """The HTML report of ``broadcast report`` for this broadcast."""
        from ...broadcast.reporting.data import report_data
        from ...broadcast.reporting.report import render_report

        b = self.get(account, broadcast_id)
        if b.campaign_id is None:
            raise ProblemError(409, "no-recipients", f"{b.kind} broadcast {broadcast_id} is empty")
        with self._reader() as store:
            return render_report(report_data(store, files.campaign_name(broadcast_id)))

    def progress(self, account: str, broadcast_id: int) -> ProgressSnapshot:
        """Where the broadcast stands now."""
        b = self.get(account, broadcast_id)
        version = self._versions.get(broadcast_id, 0)
        live = self.runs.progress(broadcast_id)  # PostgreSQL: always None (workers call)
        if live is not None and b.status == "RUNNING":
            return snapshot_of(b, live, version)
        results: dict[str, int] = {}
        total = 0
        if b.campaign_id is not None:
            with self._reader() as store:
                for result, n in store.counts_by(b.campaign_id, "final_result").items():
                    total += n
                    if result is not None:
                        results[result] = n
        phase = {"RUNNING": "calling", "FINISHED": "finished"}.get(b.status, b.status.lower())
        if b.status == "RUNNING" and self._stopped_in_store(b.id):
            phase = "stopping"  # stopped on PostgreSQL: the workers' calls in flight end
        done = sum(results.values())
        if self.pg is not None:  # the store changes without this process: its count moves on
            version += done
        virtual = self.runs.clock == "virtual"
        return ProgressSnapshot(
            b.id, b.status, phase, done, total, results, 0, None, virtual, None, None, version
        )

    def wait_progress(
        self, account: str, broadcast_id: int, after: int, timeout: float = 15.0
    ) -> ProgressSnapshot:
        """The next snapshot whose version is above ``after`` (or the current one after
        ``timeout`` seconds): a server-sent-events loop calls this on a worker thread."""
        self.get(account, broadcast_id)
        if self.pg is not None:  # poll the store: one count every POLL_S while someone looks
            deadline = time.monotonic() + timeout
            while True:
                snap = self.progress(account, broadcast_id)
                left = deadline - time.monotonic()
                if snap.version > after or left <= 0:
                    return snap
                with self._changed:
                    self._changed.wait(min(POLL_S, left))
        with self._changed:
            self._changed.wait_for(lambda: self._versions.get(broadcast_id, 0) > after, timeout)
        return self.progress(account, broadcast_id)

    def _batch_owner(self, batch_id: int) -> int:
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT broadcast_id FROM broadcast_batches WHERE id = ?", (batch_id,)
            ).fetchone()
        return -1 if row is None else int(row["broadcast_id"])


def _with_rows(where: CallFilter, rows: tuple[tuple[int, int], ...]) -> CallFilter:
    return CallFilter(where.states, where.results, rows, where.ids, where.to_number)
