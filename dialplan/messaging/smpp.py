"""The SMPP 3.4 messaging driver, on smpp34 (a maintained asyncio client whose session keeps the
SMPP timers — ``enquire_link`` included — and the sequence window in its Rust core).

- **bind** as a transceiver (``system_id``/``password``), so receipts and replies arrive on the
  same session; **reconnect** with exponential backoff when the session ends, until
  ``reconnect_give_up_s``;
- **submit_sm** one PDU per segment, the concatenation header (:func:`~.encoding.udh`) in front
  of the user data with ``esm_class`` UDHI set; at most ``window`` submits await their response
  at once;
- **throttling**: ``ESME_RTHROTTLED`` and ``ESME_RMSGQFUL`` answers are retried after a growing
  pause (``throttle_retries`` times), so a slow SMSC slows the campaign and loses nothing;
- **exactly once**: a segment is resubmitted only after a definite refusal; a submit that was
  in flight when the connection broke may have reached the SMSC, so its message is booked
  ``INTERNAL_ERROR`` (and not resent) rather than risk a second copy;
- **receipts** (``deliver_sm`` with ``esm_class`` 0x04) are matched by message id to each
  segment, also when one arrives before its submit's response; a message's delivery is final
  when every segment's is (:func:`~.port.final_state`);
- **mobile-originated** ``deliver_sm`` become :class:`~.port.InboundText`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import smpp34

from .encoding import Segmented, decode_part, encode_part, segment, trim, udh
from .port import (
    CARRIER_ERROR,
    CARRIER_TEMP_ERROR,
    INTERNAL_ERROR,
    SENT,
    InboundText,
    OutboundText,
    Receipt,
    Submitted,
    final_state,
    parse_receipt,
)
from .smpp_config import SmppConfig

#: SMPP 3.4 command_status values (section 5.1.3) and the receipted_message_id tag (5.3.2.12)
ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RSYSERR, ESME_RUNKNOWNERR = 0x58, 0x14, 0x08, 0xFF
TLV_RECEIPTED_MESSAGE_ID = 0x001E
#: answers that mean "not now": the segment is submitted again after a pause
RETRY_LATER = frozenset({ESME_RTHROTTLED, ESME_RMSGQFUL})
#: answers that fail the message for now (the campaign's retry policy may try it again later)
TEMPORARY = frozenset({ESME_RSYSERR, ESME_RUNKNOWNERR})
RECEIPT_ESM = 0x04
UDHI = 0x40


class Unreachable(ConnectionError):
    """The SMSC could not be reached for ``reconnect_give_up_s``."""


class Uncertain(ConnectionError):
    """The session broke while a submit awaited its response."""


def address(number: str) -> tuple[str, int, int]:
    """(address, TON, NPI): E.164 → international/ISDN, a short code → network specific,
    letters → alphanumeric."""
    digits = number.lstrip("+")
    if digits.isdigit() and (number.startswith("+") or len(digits) > 8):
        return digits, 1, 1
    if digits.isdigit():
        return digits, 3, 0
    return number, 5, 0


def e164(addr: str) -> str:
    """An SMPP address as the campaign writes numbers (``+`` in front of international ones)."""
    return f"+{addr}" if addr.isdigit() and len(addr) > 8 else addr


@dataclass
class _Track:
    """One message's segments: their SMSC ids and final delivery states."""

    msg: OutboundText
    ids: list[str | None]
    states: list[str | None]
    submitting: bool = True


@dataclass
class Counters:
    submitted: int = 0  # segments the SMSC accepted
    throttled: int = 0  # ESME_RTHROTTLED / ESME_RMSGQFUL answers
    binds: int = 0
    receipts: int = 0
    uncertain: int = 0
    waits: list[float] = field(default_factory=list)


class SmppMessaging:
    """A :class:`~.port.MessagingPort` over one SMPP transceiver session."""

    name = "smpp"
    clocks = frozenset({"real"})

    def __init__(self, config: SmppConfig) -> None:
        self.config = config
        self.counters = Counters()
        self._client: Any = None
        self._session: Any = None
        self._ready = asyncio.Event()
        self._window = asyncio.Semaphore(config.window)
        self._tasks: list[asyncio.Task[None]] = []
        self._reconnecting: asyncio.Task[None] | None = None
        self._by_id: dict[str, tuple[_Track, int]] = {}
        self._early: dict[str, str | None] = {}  # receipts that came before their response
        self._tracks: dict[tuple[int, int], _Track] = {}
        self._receipts: list[Receipt] = []
        self._inbound: list[InboundText] = []
        self._closing = False
        self._failed: BaseException | None = None

    # -- the session ------------------------------------------------------------------------
    async def open(self) -> None:
        await self._connect()

    async def _connect(self) -> None:
        """Bind, retrying with exponential backoff (raises :class:`Unreachable`)."""
        c = self.config
        deadline = time.monotonic() + c.reconnect_give_up_s
        pause = c.reconnect_min_s
        while True:
            client = smpp34.Client(
                host=c.host,
                port=c.port,
                system_id=c.system_id,
                password=c.password,
                bind_type="TRX",
                system_type=c.system_type,
                window_size=c.window,
                connect_timeout_ms=5000,
            )
            try:
                session = await client.connect()
                break
            except (smpp34.SmppError, OSError) as exc:
                with contextlib.suppress(Exception):
                    await client.stop()
                if time.monotonic() + pause > deadline:
                    self._failed = Unreachable(f"SMSC {c.host}:{c.port} unreachable: {exc}")
                    self._ready.set()  # wake the waiting submits: they fail now
                    raise self._failed from None
                await asyncio.sleep(pause)
                pause = min(pause * 2, c.reconnect_max_s)
        self._client, self._session = client, session
        self.counters.binds += 1
        self._tasks = [t for t in self._tasks if not t.done()]
        self._tasks.append(asyncio.create_task(self._read(session)))
        self._tasks.append(asyncio.create_task(self._watch(client, session)))
        self._ready.set()

    def _lost(self, session: Any) -> None:
        """The session ``session`` ended: submits wait for the reconnection."""
        if session is not self._session or self._closing:
            return
        self._session = None
        self._ready.clear()
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        old = self._client
        if old is not None:
            with contextlib.suppress(Exception):
                await old.stop()
        with contextlib.suppress(Unreachable):
            await self._connect()

    async def _watch(self, client: Any, session: Any) -> None:
        """Notice a dead link that sent no ``Disconnected`` (the peer vanished)."""
        while session is self._session:
            await asyncio.sleep(self.config.liveness_s)
            try:
                alive = await client.is_alive()
            except Exception:
                alive = False
            if not alive:
                self._lost(session)
                return

    async def _read(self, session: Any) -> None:
        while True:
            try:
                ev = await session.next()
            except Exception:
                ev = smpp34.Disconnected()
            if isinstance(ev, smpp34.Disconnected) or not isinstance(ev, smpp34.DeliverSmEvent):
                self._lost(session)
                return
            if ev.esm_class & RECEIPT_ESM:
                self._on_receipt(ev)
            else:
                self._on_mo(ev)

    # -- what comes in ----------------------------------------------------------------------
    def _on_receipt(self, ev: Any) -> None:
        found = parse_receipt(ev.short_message.decode("latin-1"))
        msg_id, state = (found[0], found[1]) if found else (None, None)
        for tlv in ev.tlvs:  # the TLVs, when present, are authoritative
            if tlv.tag == TLV_RECEIPTED_MESSAGE_ID:
                msg_id = tlv.value.rstrip(b"\0").decode("latin-1")
        if msg_id is None:
            return
        self.counters.receipts += 1
        where = self._by_id.get(msg_id)
        if where is None:
            self._early[msg_id] = state  # its submit_sm_resp is still on the way
            return
        track, i = where
        track.states[i] = state
        self._maybe_final(track)

    def _maybe_final(self, track: _Track) -> None:
        state = final_state(track.states)
        if state is None or track.submitting:
            return
        self._finish(track, state)

    def _finish(self, track: _Track, state: str) -> None:
        self._tracks.pop(track.msg.key, None)
        for msg_id in track.ids:
            if msg_id is not None:
                self._by_id.pop(msg_id, None)
        delivered = sum(1 for s in track.states if s == "DELIVERED")
        self._receipts.append(
            Receipt(track.msg.recipient_id, track.msg.attempt_no, state, delivered, time.time())
        )

    def _on_mo(self, ev: Any) -> None:
        data = ev.short_message
        if ev.esm_class & UDHI and data:
            data = data[1 + data[0] :]  # a concatenated reply: each part arrives on its own
        text = decode_part(data, ev.data_coding)
        self._inbound.append(
            InboundText(e164(ev.source_addr), e164(ev.destination_addr), text, time.time())
        )

    def take_receipts(self) -> list[Receipt]:
        out, self._receipts = self._receipts, []
        return out

    def take_inbound(self) -> list[InboundText]:
        out, self._inbound = self._inbound, []
        return out

    # -- what goes out ----------------------------------------------------------------------
    async def send(self, msg: OutboundText, at: float) -> Submitted:
        text = msg.text
        n = text.count
        track = _Track(msg, [None] * n, [None] * n)
        self._tracks[msg.key] = track
        try:
            for i in range(n):
                status = await self._submit(msg, text, i, track)
                if status is not None:
                    self._drop(track)
                    return status
        finally:
            track.submitting = False
        ids = tuple(i or "" for i in track.ids)
        state = final_state(track.states)
        if state is not None:  # every receipt came before the last response
            self._tracks.pop(msg.key, None)
            for msg_id in ids:
                self._by_id.pop(msg_id, None)
            delivered = sum(1 for s in track.states if s == "DELIVERED")
            return Submitted(SENT, ids, state, delivered)
        return Submitted(SENT, ids)

    def _drop(self, track: _Track) -> None:
        self._tracks.pop(track.msg.key, None)
        for msg_id in track.ids:
            if msg_id is not None:
                self._by_id.pop(msg_id, None)

    async def _submit(
        self, msg: OutboundText, text: Segmented, i: int, track: _Track
    ) -> Submitted | None:
        """Submit segment ``i`` until the SMSC takes it; ``None`` when it did, else the
        message's failed :class:`Submitted`."""
        c = self.config
        payload = encode_part(text.parts[i], text.encoding)
        esm = 0
        if text.count > 1:
            payload = udh(msg.reference, text.count, i + 1) + payload
            esm = UDHI
        src, src_ton, src_npi = address(msg.from_number)
        if c.source_ton >= 0:
            src_ton = c.source_ton
        if c.source_npi >= 0:
            src_npi = c.source_npi
        dst, dst_ton, dst_npi = address(msg.to)
        pause = c.throttle_wait_s
        throttled = 0
        while True:
            session = await self._live_session()
            if session is None:
                return Submitted(CARRIER_TEMP_ERROR, error=str(self._failed))
            async with self._window:
                if session is not self._session:
                    continue  # it broke while we waited for a slot: nothing was sent
                try:
                    resp = await session.submit_sm(
                        dst,
                        payload,
                        source_addr=src,
                        source_addr_ton=src_ton,
                        source_addr_npi=src_npi,
                        dest_addr_ton=dst_ton,
                        dest_addr_npi=dst_npi,
                        esm_class=esm,
                        data_coding=text.data_coding,
                        registered_delivery=1,
                    )
                except (smpp34.SmppError, OSError) as exc:
                    self._lost(session)
                    self.counters.uncertain += 1
                    return Submitted(
                        INTERNAL_ERROR,
                        tuple(x or "" for x in track.ids),
                        error=f"the connection broke before the SMSC answered segment {i + 1}"
                        f" of {text.count} ({exc}); not resent, it may have arrived",
                    )
            if resp.is_success:
                msg_id = resp.message_id or ""
                track.ids[i] = msg_id
                self._by_id[msg_id] = (track, i)
                if msg_id in self._early:
                    track.states[i] = self._early.pop(msg_id)
                self.counters.submitted += 1
                return None
            status = resp.command_status
            if status in RETRY_LATER and throttled < c.throttle_retries:
                throttled += 1
                self.counters.throttled += 1
                self.counters.waits.append(pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
                continue
            kind = CARRIER_TEMP_ERROR if status in RETRY_LATER | TEMPORARY else CARRIER_ERROR
            return Submitted(kind, error=f"submit_sm refused: command_status 0x{status:08X}")

    async def _live_session(self) -> Any:
        while True:
            await self._ready.wait()
            if self._failed is not None and self._session is None:
                return None
            if self._session is not None:
                return self._session

    async def reply(self, to: str, from_number: str, text: str, at: float) -> str:
        """A one-segment service reply (keyword confirmations, HELP, auto-replies); failures are
        not retried."""
        session = self._session
        if session is None:
            return INTERNAL_ERROR
        one = segment(trim(text))
        src, src_ton, src_npi = address(from_number)
        dst, dst_ton, dst_npi = address(to)
        try:
            async with self._window:
                await session.submit_sm(
                    dst,
                    encode_part(one.text, one.encoding),
                    source_addr=src,
                    source_addr_ton=src_ton,
                    source_addr_npi=src_npi,
                    dest_addr_ton=dst_ton,
                    dest_addr_npi=dst_npi,
                    data_coding=one.data_coding,
                )
        except smpp34.SmppError:
            return CARRIER_ERROR
        except OSError:
            return INTERNAL_ERROR
        return SENT

    async def close(self) -> None:
        """Wait up to ``receipt_wait_s`` for missing receipts, then unbind."""
        deadline = time.monotonic() + self.config.receipt_wait_s
        while self._tracks and time.monotonic() < deadline and self._session is not None:
            await asyncio.sleep(0.05)
        self._closing = True
        session, client = self._session, self._client
        self._session = None
        for t in self._tasks:
            t.cancel()
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        with contextlib.suppress(Exception):
            if session is not None:
                await asyncio.wait_for(session.unbind(), 5)
        with contextlib.suppress(Exception):
            if client is not None:
                await client.stop()
        await asyncio.gather(*self._tasks, return_exceptions=True)
