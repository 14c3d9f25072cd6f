"""A PostgreSQL campaign's definition in the database: workers need nothing but the database.

When a campaign is loaded (``broadcast run --db postgresql://…``, the service's broadcasts) or
its settings or dialplan change (the service's ``PUT``), :func:`save_source` stores the
campaign file's bytes as loaded and the dialplan XML its calls run (a ``[sounds]`` campaign's
generated one; none for a text campaign) in ``campaign_sources``, once per fingerprint (the
SHA-256 of both). Recipients are rows already and sounds are in the database's library, so
:func:`stored_campaign` rebuilds the campaign a worker dials from the latest source alone, on a
machine without any of its files. A campaign loaded by a release before this table has no
source: :func:`~.jobs.load_job` reads its file again, as that release did.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace

import psycopg

from ...errors import CampaignError
from ..campaign import Campaign, load_campaign
from ..store.sqlite import CampaignRow

__all__ = ["save_source", "stored_campaign"]


def save_source(conn: psycopg.Connection, campaign_id: int, campaign: Campaign) -> None:
    """Store ``campaign``'s file and dialplan XML (uncommitted); the same ones stored before
    become the latest again."""
    from ..sounds_campaign import dialplan_text

    try:
        settings = campaign.path.read_bytes()
    except OSError as exc:
        raise CampaignError(f"{campaign.path}: cannot read campaign file: {exc.strerror}") from None
    xml = None if campaign.channel == "sms" else dialplan_text(campaign)
    digest = hashlib.sha256(settings)
    digest.update(b"\0" + (xml or "").encode("utf-8"))
    conn.execute(
        "INSERT INTO campaign_sources (campaign_id, sha256, path, settings, dialplan, recorded_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (campaign_id, sha256)"
        " DO UPDATE SET recorded_at = excluded.recorded_at",
        (campaign_id, digest.hexdigest(), str(campaign.path), settings, xml, time.time()),
    )


def stored_campaign(conn: psycopg.Connection, row: CampaignRow) -> Campaign | None:
    """The campaign as last stored by :func:`save_source`; ``None``: it has no source (loaded
    by an older release)."""
    got = conn.execute(
        "SELECT path, settings, dialplan FROM campaign_sources WHERE campaign_id = %s"
        " ORDER BY recorded_at DESC LIMIT 1",
        (row.id,),
    ).fetchone()
    if got is None:
        return None
    path, settings, xml = str(got[0]), bytes(got[1]), got[2]
    campaign = load_campaign(path, source=settings)
    return replace(campaign, dialplan_xml=None if xml is None else str(xml))
