"""Text campaigns on PostgreSQL workers: the messaging driver a worker sends a campaign's texts
through.

A worker dials a text campaign like a call campaign — the same claims under the campaign's dial
gate (``messages_per_second`` and ``max_active`` across all workers), the same attempt committed
before the text is submitted, the same reaper for a worker that dies — through the
:class:`~..telephony.texts.TextCampaignDriver` the SQLite runners use. Its receipts, replies and
do-not-text lists are booked in the shared store (:mod:`..pg.texts`) on the worker's connection;
the job renews the driver's list with its DNC numbers (:meth:`~..pg.jobs.CampaignJob.refresh_dnc`),
so a STOP received by one worker keeps every worker from texting that number.
"""

from __future__ import annotations

from ...errors import CampaignError
from ...messaging.autoreply import AutoReplies
from ...messaging.port import MessagingPort
from ..pg.jobs import CampaignJob
from ..pg.store import PgStore
from ..telephony.port import TelephonyPort
from ..telephony.texts import TextCampaignDriver

__all__ = ["text_driver"]


def text_driver(
    job: CampaignJob,
    store: PgStore,
    driver: str,
    clock: str,
    auto_replies: AutoReplies | None = None,
) -> TelephonyPort:
    """The telephony port of a text campaign for a worker running ``--driver driver`` (``sim``:
    the seeded simulated messaging driver; ``smpp``: the campaign's ``[smpp]`` SMSC), answering
    replies with ``auto_replies``."""
    campaign = job.campaign
    if driver == "smpp":
        from ...messaging.smpp import SmppMessaging
        from ...messaging.smpp_config import smpp_config

        messaging: MessagingPort = SmppMessaging(smpp_config(campaign.smpp, "smpp"))
    elif driver == "sim":
        from ...messaging.simulated import SimulatedMessaging

        messaging = SimulatedMessaging(campaign.simulation.seed, campaign.simulation.weights)
    else:
        raise CampaignError(f"{campaign.path}: a text campaign is sent with --driver sim or smpp")
    port = TextCampaignDriver(campaign, messaging, store, job.row.broadcast_id, auto_replies)
    if clock not in port.clocks:
        raise CampaignError(
            f"{campaign.path}: the {port.port.name} driver cannot run on the {clock} clock"
        )
    job.texts = port
    return port
