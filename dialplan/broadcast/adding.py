"""``broadcast add``: recipients added to a stored campaign, explicitly and all at once.

The new file is read with the campaign's own rules (phone column, default region, allowed
countries, the DNC list, duplicate scrubbing); numbers the campaign already has are skipped,
so a whole edited file can be given and only its new people are added. The addition is one
transaction, under the campaign's lease: it happens completely or not at all, and never while
a runner is calling. Its fingerprint is recorded, so the campaign file may then name it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from ..errors import CampaignError, UsageError
from .campaign import Campaign, load_campaign
from .fingerprint import check_inputs, file_sha256
from .loader import BATCH, load_dnc, read_header, recipient_rows
from .phones import Normalizer
from .service import leased
from .store.backend import is_postgres, open_store
from .store.rows import RecipientRow
from .store.sqlite import InputRow, Store
from .store.sqlitefile import database_errors


@dataclass
class AddReport:
    campaign: str
    path: str
    added: int
    already: int
    buckets: dict[str, int] = field(default_factory=dict)


def resolve_campaign(campaign_or_file: str, db: str) -> Campaign:
    """A campaign file, or the name of a campaign stored in ``db`` (whose file is reloaded)."""
    path = Path(campaign_or_file)
    if path.is_file():
        return load_campaign(path)
    if not is_postgres(db) and not Path(db).is_file():
        raise UsageError(f"no campaign file {campaign_or_file} and no campaign database {db}")
    with database_errors(db):
        store = open_store(db, readonly=True)
        try:
            row = store.campaign(campaign_or_file)
            names = store.campaign_names()
        finally:
            store.close()
    if row is None:
        raise UsageError(
            f"no campaign file or campaign named {campaign_or_file!r} in {db}"
            f" (campaigns: {', '.join(names) or 'none'})"
        )
    stored = Path(str(row.config.get("path", "")))
    if not stored.is_file():
        raise UsageError(
            f"campaign {campaign_or_file!r} was run from {stored}, which no longer exists;"
            " pass the campaign file instead"
        )
    return load_campaign(stored)


def add_recipients(
    campaign: Campaign,
    path: Path,
    db: str | Path,
    *,
    wait: bool = False,
    on_wait: Callable[[str], None] | None = None,
    skip_known: bool = True,
    reopen: str = "running",
) -> AddReport:
    """Add the recipients of ``path`` that ``campaign`` (stored in ``db``) does not have
    (``skip_known=False``: add every row; the campaign's ``scrub_duplicates`` then decides
    whether a number it already has is called again or booked ``DUP``). A finished campaign
    given people to call gets the state ``reopen`` (the service's PostgreSQL store reopens it
    ``paused`` unless its broadcast runs)."""
    header, _ = read_header(campaign, path)
    sha = file_sha256(path)
    with database_errors(db), _held(str(db), campaign.name, wait, on_wait) as store:
        row = store.campaign(campaign.name)
        if row is None:
            raise CampaignError(
                f"{db}: no campaign {campaign.name!r} yet; run it first"
                " (its recipients file is loaded then)"
            )
        if row.state == "loading":
            raise CampaignError(
                f"{db}: campaign {campaign.name!r} has not finished loading its recipients;"
                " run it first (it resumes the load)"
            )
        check_inputs(store, row, campaign, recipients=False)
        columns = list(row.dispatch.get("columns", []))
        if columns and header != columns:
            raise CampaignError(
                f"{path}:1: columns {', '.join(header)} differ from the campaign's"
                f" ({', '.join(columns)}); column letters would change meaning"
            )
        first_id, next_row = store.next_recipient(row.id)
        store.begin()
        batch: list[RecipientRow] = []
        read = 0
        for item in recipient_rows(store, campaign, row.id, path, first_row_no=next_row):
            batch.append(item)
            read += 1
            if len(batch) >= BATCH:
                store.add_recipients(batch)
                batch = []
        store.add_recipients(batch)
        # people the campaign already has (by number; by the text as written if invalid)
        already = store.drop_known(row.id, first_id) if skip_known else 0
        store.add_dnc(row.id, load_dnc(campaign, Normalizer(campaign.default_region)), "list")
        if campaign.channel != "sms":  # texts keep their own lists (text_optouts)
            store.add_account_dnc(row.id)
        store.bucket_dnc_and_duplicates(row.id, campaign.scrub_duplicates)
        buckets = store.buckets_from(row.id, first_id)
        store.record_inputs(row.id, [InputRow("recipients", sha, str(path), time.time())])
        if row.state == "finished" and buckets.get("call_initiated"):
            store.update_campaign(row.id, state=reopen, finished_at=None)
        store.commit()
    return AddReport(campaign.name, str(path), read - already, already, buckets)


@contextmanager
def _held(db: str, name: str, wait: bool, on_wait: Callable[[str], None] | None) -> Iterator[Store]:
    """The store with the campaign held: SQLite's campaign lease; on PostgreSQL an advisory
    lock (workers keep dialling meanwhile; the new people are theirs once committed)."""
    if not is_postgres(db):
        with leased(db, name, wait, on_wait) as store:
            yield store
        return
    from .pg.store import PgStore

    with PgStore(db).adding(name) as pg:
        yield cast(Store, pg)


#: bucket → how ``broadcast add`` names it
BUCKET_LABELS = {
    "call_initiated": "to call",
    "call_blacklisted": "DNC",
    "country_not_allowed": "country not allowed",
    "invalid": "invalid",
    "duplicate": "duplicate",
}


def add_text(report: AddReport, db: str) -> str:
    parts = ", ".join(
        f"{BUCKET_LABELS.get(k, k)}: {report.buckets[k]}"
        for k in BUCKET_LABELS
        if k in report.buckets
    )
    lines = [
        f"added {report.added} recipients from {report.path} to campaign {report.campaign!r}"
        f" in {db}" + (f" ({parts})" if parts else ""),
        f"skipped {report.already} already in the campaign",
    ]
    if report.buckets.get("call_initiated"):
        lines.append("run the campaign to call them")
    return "\n".join(lines) + "\n"
