"""Text campaigns behind the telephony port: the scheduler "dials" a text.

:class:`TextCampaignDriver` is a :class:`~.port.TelephonyPort` whose ``dial`` renders the
recipient's message (``${contact.*}``, or the recipient's own ``message`` column), cuts it into
segments, applies the ``big_message_strategy`` and submits it through a
:class:`~dialplan.messaging.port.MessagingPort`. So texts go through the one scheduler — windows,
DNC, duplicates, the rate, retries — and the one booking of attempts. On every dial (and when
the run ends) it also drains what the messaging driver received: delivery receipts (booked on the
text's row) and replies, whose keywords update the sending number's do-not-text list — a new
opt-out is handed to the scheduler with the attempt (:attr:`AttemptOutcome.dnc`), so the number
is never texted again in this campaign, and the stored list keeps it out of later ones. A reply
that is no keyword gets the account's auto-reply, if one applies (:mod:`~dialplan.messaging.autoreply`),
through the same port, booked by whoever gave the rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ...errors import CampaignError
from ...expr.template import Template, TemplateError, parse_template
from ...messaging.autoreply import AutoReplies, AutoReply, choose, reply_text
from ...messaging.encoding import Segmented, segment, trim
from ...messaging.keywords import OptOuts, handle
from ...messaging.port import SENT, InboundText, MessagingPort, OutboundText
from ..campaign import Campaign, TextSettings
from ..phones import Normalizer
from .port import AttemptOutcome, CallRequest, TextAttempt

#: texts the runner may submit without result (the lines of ``max_active``) are not calls:
#: their attempt ends when the submission does
DNT, TOO_BIG = "DNT", "TOO_BIG"


class TextBook(OptOuts, Protocol):
    """Where the driver books receipts and inbound texts (the campaign store)."""

    def receipt(
        self, recipient_id: int, attempt_no: int, state: str, delivered: int, at: float
    ) -> None: ...

    def record_inbound(
        self, from_number: str, to: str, body: str, keyword: str | None, at: float
    ) -> None: ...

    def opted_out(self, from_number: str) -> set[str]: ...


def compile_message(text: str, where: str) -> Template:
    try:
        return parse_template(text)
    except TemplateError as exc:
        raise CampaignError(f"{where}: {exc} (at character {exc.offset + 1})") from None


def render(template: Template, contact: Mapping[str, Any]) -> str:
    """``${contact.NAME}`` → the contact's column NAME (or column letter); other names and
    missing columns → empty text."""

    def lookup(name: str) -> str:
        if not name.lower().startswith("contact."):
            return ""
        key = name[8:]
        value = contact.get(key)
        if value is None and len(key) <= 2:
            value = contact.get(key.upper())
        return "" if value is None else str(value)

    return template.render(lookup, limit=10_000)


def sending_number(from_number: str, region: str) -> str:
    """The campaign's ``from_number`` as texts carry it: a short code (up to 8 digits, no ``+``)
    or an alphanumeric sender as written, a long code in E.164 (``+1 212 555 0100`` →
    ``+12125550100``) — the key of its do-not-text list."""
    raw = from_number.strip()
    digits = raw.replace(" ", "").replace("-", "")
    if (digits.isdigit() and len(digits) <= 8) or not any(c.isdigit() for c in raw):
        return digits if digits.isdigit() else raw
    return Normalizer(region)(raw).e164 or raw


def reference(broadcast_id: str, recipient_id: int, attempt_no: int) -> int:
    """The 8-bit concatenation reference of one text (the same after a resume)."""
    h = hashlib.blake2b(f"{broadcast_id}:{recipient_id}:{attempt_no}".encode(), digest_size=1)
    return h.digest()[0]


class TextCampaignDriver:
    """Sends a text campaign's messages through ``port`` (see the module docstring)."""

    unsupported: frozenset[type] = frozenset()

    def __init__(
        self,
        campaign: Campaign,
        port: MessagingPort,
        book: TextBook,
        broadcast_id: str = "",
        auto_replies: AutoReplies | None = None,
    ) -> None:
        assert campaign.text is not None
        self.settings: TextSettings = campaign.text
        self.port = port
        self.book = book
        self.name = f"sms/{port.name}"
        self.clocks = port.clocks
        self.from_number = sending_number(campaign.from_number, campaign.default_region)
        self.broadcast_id = broadcast_id
        self.template = compile_message(self.settings.message, f"{campaign.path}: message")
        self._overrides: dict[str, Template] = {}
        self.optouts = book.opted_out(self.from_number)
        self._new_optouts: list[str] = []
        self.auto_replies = auto_replies

    async def open(self) -> None:
        await self.port.open()

    async def close(self) -> None:
        try:
            await self.port.close()  # waits (bounded) for the missing receipts
        finally:
            await self.drain(None)

    # -- one text ---------------------------------------------------------------------------
    def message_for(self, contact: Mapping[str, Any]) -> Segmented:
        """The recipient's message, rendered and cut into segments (before the strategy)."""
        own = contact.get(self.settings.message_column)
        template = self.template
        if own:
            template = self._overrides.get(own) or self._override(own)
        return segment(render(template, contact))

    def _override(self, text: str) -> Template:
        try:
            t = parse_template(text)
        except TemplateError:
            t = parse_template(text.replace("${", "$ {"))  # a broken override is sent as written
        if len(self._overrides) < 1024:
            self._overrides[text] = t
        return t

    async def dial(self, call: CallRequest, at: float) -> AttemptOutcome:
        await self.drain(at)
        text = self.message_for(call.contact)
        if call.to in self.optouts:  # opted out since the scheduler chose it
            return self._outcome(DNT, text, 0)
        strategy = self.settings.big_message_strategy
        if text.count > 1 and strategy == "TRIM":
            text = segment(trim(text.text))
        elif text.count > 1 and strategy == "DO_NOT_SEND":
            return self._outcome(TOO_BIG, text, 0)
        reply = ";".join(call.sim_inputs) if call.sim_inputs else None
        msg = OutboundText(
            call.recipient_id,
            call.attempt_no,
            call.to,
            self.from_number,
            text,
            reference(self.broadcast_id, call.recipient_id, call.attempt_no),
            call.sim_result,
            reply,
        )
        sub = await self.port.send(msg, at)
        segments = text.count if sub.result == SENT else 0
        return self._outcome(
            sub.result,
            text,
            segments,
            sub.message_ids,
            sub.delivery,
            sub.delivered_segments,
        )

    def _outcome(
        self,
        result: str,
        text: Segmented,
        segments: int,
        ids: tuple[str, ...] = (),
        delivery: str | None = None,
        delivered: int = 0,
    ) -> AttemptOutcome:
        dnc, self._new_optouts = tuple(self._new_optouts), []
        attempt = TextAttempt(text.text, text.encoding, segments, ids, delivery, delivered)
        return AttemptOutcome(result, 0, None, 0.0, 0.0, dnc=dnc, text=attempt)

    def refresh_optouts(self) -> None:
        """Read the sending number's do-not-text list again: opt-outs other processes booked
        (the PostgreSQL workers of the same campaign) count here from now on."""
        self.optouts = self.book.opted_out(self.from_number)

    # -- what came back ---------------------------------------------------------------------
    async def drain(self, at: float | None) -> None:
        """Book the receipts and handle the replies the driver received since the last call."""
        for r in self.port.take_receipts():
            self.book.receipt(r.recipient_id, r.attempt_no, r.state, r.delivered_segments, r.at)
        s = self.settings
        rules: Sequence[AutoReply] | None = None  # read once per drain, when a text needs them
        for m in self.port.take_inbound():
            done = handle(
                self.book,
                m.from_number,
                m.to,
                m.text,
                m.at,
                help_reply=s.help_reply,
                stop_reply=s.stop_reply,
                start_reply=s.start_reply,
            )
            self.book.record_inbound(m.from_number, m.to, m.text, done.keyword, m.at)
            if m.to == self.from_number:
                if done.keyword == "stop":
                    self.optouts.add(m.from_number)
                    if done.opted_out:
                        self._new_optouts.append(m.from_number)
                elif done.keyword == "start":
                    self.optouts.discard(m.from_number)
            if done.reply is not None:
                await self.port.reply(m.from_number, m.to, done.reply, m.at)
            if done.keyword is None and self.auto_replies is not None:
                if rules is None:
                    rules = self.auto_replies.rules()
                await self._auto_reply(m, rules)

    async def _auto_reply(self, m: InboundText, rules: Sequence[AutoReply]) -> None:
        """Answer ``m`` with the auto-reply that applies (once: ``m`` is drained once), unless
        its sender is on the do-not-text list of the number it texted."""
        assert self.auto_replies is not None
        rule = choose(rules, m, self.from_number)
        if rule is None:
            return
        blocked = self.optouts if m.to == self.from_number else self.book.opted_out(m.to)
        text = trim(reply_text(rule, m))  # one segment, as every service reply
        if m.from_number in blocked or not text.strip():
            return
        result = await self.port.reply(m.from_number, m.to, text, m.at)
        self.auto_replies.sent(rule, m, text, result)
