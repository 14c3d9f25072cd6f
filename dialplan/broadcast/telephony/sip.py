"""``--driver sip``: campaign attempts as real SIP calls (the ``dialplan.drivers.sip`` driver).

:class:`SipCampaignDriver` implements the telephony port on the real-clock runner's own event
loop: one :class:`~dialplan.drivers.sip.driver.SipDriver` (one UDP socket for every call) is
opened on it, and each ``dial`` is a coroutine there — no thread bridge. Recipient numbers become
request URIs on the configured trunk (``sip:+15551234567@<[sip] proxy>``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ...drivers.sip.config import from_mapping
from ...drivers.sip.driver import UNSUPPORTED_EFFECTS, CallOutcome, SipDriver
from ...engine import effects as fx
from ...engine.context import CallContext
from ...errors import CampaignError
from ...model import Plan
from ..campaign import Campaign
from .engine import summarize
from .port import AttemptOutcome, CallRequest

_ANSWERED_BY = {"live": "HUMAN", "machine": "MACHINE"}


class SipCampaignDriver:
    """Places each attempt as a real call and reports it as an :class:`AttemptOutcome`."""

    name = "sip"
    clocks = frozenset({"real"})
    unsupported: frozenset[type] = UNSUPPORTED_EFFECTS

    def __init__(self, campaign: Campaign, plan: Plan, db: str | None = None) -> None:
        """``db``: the campaign database, whose sound library ``callfireid`` prompts play."""
        if not campaign.sip.get("proxy"):
            raise CampaignError(
                f'{campaign.path}: --driver sip needs a [sip] table with proxy = "HOST:PORT"'
            )
        self.campaign = campaign
        self.plan = plan
        self.config, self.options = from_mapping(campaign.sip, campaign.path.parent)
        self.options.allow_private = campaign.allow_private
        if self.options.prompt_cache is not None:
            self.options.prompt_cache.allow_private = campaign.allow_private
        if campaign.from_number and "from_user" not in campaign.sip:
            self.config.from_user = campaign.from_number.lstrip("+")
        amc = campaign.answering_machine_config
        if amc == "LIVE_IMMEDIATE":
            self.options.amd_mode = "never"
        elif amc in ("AM_ONLY", "LIVE_WITH_AMD") and "amd_mode" not in campaign.sip:
            self.options.amd_mode = "always"
        if db is not None:
            from ...sounds.library import library_reader

            self.options.sound_library = library_reader(db)
        self.driver: SipDriver | None = None
        self.messaging: Any = None
        if campaign.smpp:  # <sms> goes out through the campaign's SMSC
            from ...messaging.smpp import SmppMessaging
            from ...messaging.smpp_config import smpp_config

            self.messaging = SmppMessaging(smpp_config(campaign.smpp, "smpp"))
            self.unsupported = UNSUPPORTED_EFFECTS - {fx.SendSms}
            self.options.send_sms = self._send_sms
        self._texts = 0
        self._sms_tasks: set[asyncio.Task[Any]] = set()
        #: :meth:`hang_up_all` was called: a call answered from now on is hung up at once
        self._hanging_up = False
        prior = self.options.on_answer

        def answered(call_id: str, verdict: str | None) -> None:
            if prior is not None:
                prior(call_id, verdict)
            if self._hanging_up:
                self._hang_up(call_id)

        self.options.on_answer = answered

    def hang_up_all(self) -> None:
        """End the calls in flight now: answered ones with a BYE (booked with their result
        and the talk time so far; the dialplan hears the line drop), ringing ones with a
        CANCEL (``NO_ANS``, as at their ring timeout)."""
        self._hanging_up = True
        if self.driver is not None:
            for call in list(self.driver.ringing):
                call.stop_ringing()
            for call_id in list(self.driver.live):
                self._hang_up(call_id)

    def _hang_up(self, call_id: str) -> None:
        run = self.driver.live.get(call_id) if self.driver is not None else None
        if run is not None:
            run.hang_up()

    async def open(self) -> None:
        """Bind the SIP socket on the running loop (the runner's), and the SMSC session."""
        if self.messaging is not None:
            await self.messaging.open()
        if self.campaign.max_active_transfers is not None:
            self.options.transfer_slots = asyncio.Semaphore(self.campaign.max_active_transfers)
        self.driver = SipDriver(self.config, self.options)
        await self.driver.open()

    def _send_sms(self, to: str, text: str) -> None:
        """One ``<sms>`` of a call, submitted like a campaign text on a task of this driver (it
        outlives the call, whose own tasks end with it); its receipt is not booked."""
        from ...messaging.encoding import segment
        from ...messaging.port import OutboundText
        from ..phones import Normalizer

        number = Normalizer(self.campaign.default_region)(to).e164 or to
        self._texts += 1
        msg = OutboundText(-self._texts, 1, number, self.campaign.from_number, segment(text),
                           self._texts & 0xFF)  # fmt: skip
        task = asyncio.create_task(self.messaging.send(msg, time.time()))
        self._sms_tasks.add(task)
        task.add_done_callback(self._sms_tasks.discard)

    async def dial(self, call: CallRequest, at: float) -> AttemptOutcome:
        assert self.driver is not None, "open() first"
        context = CallContext(
            callerid=self.config.from_user,
            phonenumber=call.to.lstrip("+"),
            call_id=f"r{call.recipient_id}-a{call.attempt_no}",
            contact=dict(call.contact),
        )
        started = time.monotonic()
        outcome = await self.driver.place(call.to, self.plan, context)
        return attempt_outcome(outcome, time.monotonic() - started)

    async def close(self) -> None:
        if self.driver is not None:
            await self.driver.close()
            self.driver = None
        if self.messaging is not None:
            await asyncio.gather(*self._sms_tasks, return_exceptions=True)
            self.messaging.take_receipts()
            await self.messaging.close()


def attempt_outcome(outcome: CallOutcome, total_s: float) -> AttemptOutcome:
    """A finished SIP call as the scheduler's attempt record."""
    talk = round(outcome.duration_s, 3)
    ring = round(max(total_s - talk, 0.0), 3)
    if outcome.call is None:
        return AttemptOutcome(outcome.result, outcome.cause, None, ring, 0.0)
    summary = summarize(outcome.call)
    # like the simulated driver: no verdict when detection did not run
    answered_by: Any = _ANSWERED_BY.get(outcome.answered_by or "") if outcome.amd_cause else None
    return AttemptOutcome(
        outcome.result,
        outcome.cause,
        answered_by,
        ring,
        talk,
        summary.responses,
        summary.prompts,
        summary.dnc,
    )
