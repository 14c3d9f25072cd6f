"""The answering side of a call (RFC 3261 UAS): the server INVITE transaction and the dialog.

:class:`InboundCall` is a :class:`~dialplan.drivers.sip.ua.Call` whose dialog was created by
the caller's INVITE, so everything in the dialog (BYE both ways, re-INVITE, OPTIONS, INFO
digits, REFER, the RTP watchdog) is the same code as for outbound calls; only the start
differs: 100/180, then a 200 with our SDP answer retransmitted until the ACK (Timer G/H),
or a final failure, or 487 when the caller CANCELs.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ..drivers.sip import sdp
from ..drivers.sip.message import SipMessage, name_addr_uri, parse_uri, response_to
from ..drivers.sip.rtp import RtpSession
from ..drivers.sip.ua import ALLOW, USER_AGENT, Call, SipEndpoint

log = logging.getLogger("dialplan.inbound")


def user_of(value: str) -> str:
    """The user part of a URI or name-addr (``"Ann" <sip:1555@host>;tag=x`` → ``1555``)."""
    uri = name_addr_uri(value) if "<" in value else value.split(";", 1)[0].strip()
    try:
        return parse_uri(uri).user
    except ValueError:
        return ""


def display_of(value: str) -> str:
    """The display name of a name-addr (``"Ann Lee" <sip:…>`` → ``Ann Lee``)."""
    head = value.split("<", 1)[0].strip() if "<" in value else ""
    return head.strip('"').replace('\\"', '"')


class InboundCall(Call):
    """A call someone placed to us."""

    def __init__(self, endpoint: SipEndpoint, invite: SipMessage, addr: tuple[str, int]) -> None:
        contact = invite.get("Contact")
        remote = name_addr_uri(contact) if contact else name_addr_uri(invite.get("From"))
        self.called = user_of(invite.uri) or user_of(invite.get("To"))
        super().__init__(endpoint, remote, self.called or "dialplan")
        self.invite_request = invite
        self.addr = addr
        self.call_id = invite.call_id
        self.caller = user_of(invite.get("From"))
        self.caller_name = display_of(invite.get("From"))
        identity = invite.get("P-Asserted-Identity")
        self.ani = user_of(identity) if identity else self.caller
        self.local_uri = name_addr_uri(invite.get("To")) or invite.uri
        self.from_header = f"<{self.local_uri}>;tag={self.local_tag}"
        self.to_header = invite.get("From")
        self.remote_target = remote
        self.route_set = invite.get_all("Record-Route")  # UAS: in order (RFC 3261 §12.1.1)
        self.contact = f"<sip:{self.called or 'dialplan'}@{endpoint.hostport()}>"
        self.state = "ringing"
        self._final: bytes | None = None
        self._acked = asyncio.Event()
        endpoint.dialogs[(self.call_id, self.local_tag)] = self

    # -- the server INVITE transaction --------------------------------------------------------
    def provisional(self, status: int, reason: str = "") -> None:
        tag = self.local_tag if status > 100 else ""
        resp = response_to(self.invite_request, status, reason, to_tag=tag)
        if status > 100:
            resp.add("Contact", self.contact)
        self.endpoint.respond(self.invite_request, self.addr, resp)

    def reject(self, status: int, reason: str = "", extra: dict[str, str] | None = None) -> None:
        """A final failure (404, 486, 603 …); retransmitted until its ACK (Timer G)."""
        resp = response_to(self.invite_request, status, reason, to_tag=self.local_tag)
        for name, value in (extra or {}).items():
            resp.add(name, value)
        self._send_final(resp)
        self._finish("rejected")

    def cancelled(self) -> None:
        """The caller CANCELled before we answered: 487 to the INVITE."""
        if self.state != "ringing":
            return
        self.reject(487, "Request Terminated")
        self.ended_by = "cancelled"

    async def answer(self) -> str:
        """Send 200 with our SDP answer and wait for the ACK. Returns "" when the call is up,
        else why not (the offer had no usable media: 488; no ACK within 64·T1: BYE)."""
        cfg = self.endpoint.config
        try:
            media = sdp.parse(self.invite_request.body)
        except sdp.SdpError as exc:
            self.reject(488, "Not Acceptable Here")
            return f"unusable SDP offer: {exc}"
        self.rtp = await RtpSession.open(self.endpoint.host, cfg.rtp_ports)
        self.rtp.on_digit = self._digit
        if self.state != "ringing":  # cancelled while the port was opening
            self.rtp.close()
            return "cancelled"
        self.remote_media = media
        dtmf = media.dtmf_payload_type or sdp.TELEPHONE_EVENT
        resp = response_to(self.invite_request, 200, to_tag=self.local_tag)
        resp.add("Contact", self.contact)
        resp.add("Allow", ALLOW)
        resp.add("Supported", "replaces")
        resp.add("User-Agent", USER_AGENT)
        resp.add("Content-Type", "application/sdp")
        resp.body = sdp.offer(
            self.endpoint.host, self.rtp.local_port, self._session_id, dtmf_payload_type=dtmf
        )
        self.state = "confirmed"
        self.times.answered = time.monotonic()
        self.rtp.start((media.address, media.port), dtmf)
        self._watchdog = asyncio.get_running_loop().create_task(self._rtp_watchdog())
        self._send_final(resp)
        try:
            await asyncio.wait_for(self._acked.wait(), 64 * cfg.t1)
        except TimeoutError:
            log.info("no ACK for the 200 of %s within 64·T1: hanging up", self.call_id)
            await self.bye(reason="no-ack")
            return "no ACK for the 200 OK"
        return ""

    def _send_final(self, resp: SipMessage) -> None:
        self._final = resp.to_bytes()
        self.endpoint.respond(self.invite_request, self.addr, resp)
        task = asyncio.get_running_loop().create_task(self._retransmit_final())
        self.endpoint.background.add(task)
        task.add_done_callback(self.endpoint.background.discard)

    async def _retransmit_final(self) -> None:
        cfg = self.endpoint.config
        interval = cfg.t1
        deadline = time.monotonic() + 64 * cfg.t1  # Timer H
        while not self._acked.is_set() and time.monotonic() < deadline:
            try:
                await asyncio.wait_for(self._acked.wait(), interval)
                return
            except TimeoutError:
                if self._final is not None:
                    self.endpoint.send(self._final, self.addr)
                interval = min(interval * 2, cfg.t2)

    def acked(self, ack: SipMessage) -> None:
        self._acked.set()

    def _dialog_destination(self) -> tuple[str, int]:
        """In-dialog requests go to the caller's route set or Contact, never to our trunk
        proxy (that is where our own transfer legs go)."""
        if self.route_set:
            target = parse_uri(name_addr_uri(self.route_set[0]))
            return target.host, target.port
        try:
            target = parse_uri(self.remote_target)
            return target.host, target.port
        except ValueError:
            return self.addr
