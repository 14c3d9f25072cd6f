"""A compact asyncio SIP user agent over UDP (RFC 3261): outbound calls, in-dialog requests,
client transactions with retransmission timers, digest authentication, REFER with NOTIFY.

One :class:`SipEndpoint` owns one UDP socket and serves any number of concurrent :class:`Call`s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ...engine.context import MAX_DURATION_S
from . import digest, sdp
from .causes import Failure, failure_for, media_failure
from .message import (
    SipMessage,
    SipParseError,
    name_addr_uri,
    new_branch,
    new_call_id,
    new_tag,
    parse,
    parse_uri,
    response_to,
    tag_of,
)
from .rtp import RtpSession

log = logging.getLogger("dialplan.sip")


class InviteServer(Protocol):
    """What answers out-of-dialog INVITEs and their CANCELs (the inbound server)."""

    def invite(self, request: SipMessage, addr: tuple[str, int]) -> None: ...

    def cancel(self, request: SipMessage, addr: tuple[str, int]) -> bool: ...


ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO"
USER_AGENT = "dialplan-sip/0.1"
SOCKET_BUFFER = 4 * 1024 * 1024
#: how often a ringing call checks whether it was given up (:meth:`Call.stop_ringing`), s
RING_POLL_S = 0.25


@dataclass
class SipConfig:
    """Where calls go and who they come from (``[sip]`` in a campaign file, CLI options)."""

    proxy: str | None = None  # "host:port" of the trunk/outbound proxy; None = the URI's host
    from_user: str = "dialplan"
    from_display: str = ""
    from_host: str | None = None  # domain of the From URI; default: the local address
    local_host: str = "127.0.0.1"
    local_port: int = 0  # 0 = any free port
    rtp_ports: tuple[int, int] | None = None
    username: str | None = None  # digest credentials for a trunk that challenges
    password: str | None = None
    transfer_uri: str | None = None  # e.g. "sip:{number}@pbx.example:5060"; default: the trunk
    ring_timeout_s: float = 30.0
    rtp_timeout_s: float = 30.0
    #: an answered call is hung up after this long (the engine's limit, spec §2.6)
    max_duration_s: float = MAX_DURATION_S
    t1: float = 0.5  # RFC 3261 T1: retransmission base; 64·T1 bounds every transaction
    t2: float = 4.0

    @property
    def proxy_addr(self) -> tuple[str, int] | None:
        if not self.proxy:
            return None
        uri = self.proxy if self.proxy.startswith("sip:") else f"sip:{self.proxy}"
        parsed = parse_uri(uri)
        return parsed.host, parsed.port

    def end_bound_s(self, ring_timeout_s: float | None = None) -> float:
        """The longest any call may take: ring timeout + maximum call duration + 64·T1."""
        ring = self.ring_timeout_s if ring_timeout_s is None else ring_timeout_s
        return ring + self.max_duration_s + 64 * self.t1

    def request_uri(self, number: str) -> str:
        """A phone number (or full URI) → the Request-URI on the configured trunk."""
        if number.startswith(("sip:", "sips:")):
            return number
        if not self.proxy:
            raise ValueError(f"no [sip] proxy configured to dial {number!r}")
        host = self.proxy.removeprefix("sip:")
        return f"sip:{number}@{host}"

    def transfer_target(self, number: str) -> str:
        """The Refer-To URI for a transfer number."""
        if number.startswith(("sip:", "sips:")):
            return number
        if self.transfer_uri:
            return self.transfer_uri.replace("{number}", number)
        return self.request_uri(number)


class ClientTransaction:
    """An INVITE or non-INVITE client transaction: sends, retransmits, collects responses."""

    def __init__(self, endpoint: SipEndpoint, request: SipMessage, addr: tuple[str, int]) -> None:
        self.endpoint = endpoint
        self.request = request
        self.addr = addr
        self.method = request.method
        self.key = (request.branch, self.method)
        self.responses: asyncio.Queue[SipMessage] = asyncio.Queue()
        self.provisional = False
        self.final: SipMessage | None = None
        self._timer: asyncio.Task[None] | None = None
        self._ack: bytes | None = None

    def start(self) -> None:
        self.endpoint.transactions[self.key] = self
        self.endpoint.send(self.request.to_bytes(), self.addr)
        self._timer = asyncio.get_running_loop().create_task(self._retransmit())

    async def _retransmit(self) -> None:
        cfg = self.endpoint.config
        data = self.request.to_bytes()
        interval = cfg.t1
        deadline = time.monotonic() + 64 * cfg.t1  # Timer B / Timer F
        while self.final is None:
            await asyncio.sleep(max(0.0, min(interval, deadline - time.monotonic())))
            if self.final is not None:
                break
            if self.method == "INVITE" and self.provisional:
                return  # Timer A stops on a provisional; the caller's ring timeout rules
            if time.monotonic() >= deadline:
                self.responses.put_nowait(_timeout_response(self.request))
                self.final = self.request  # stop
                self.endpoint.transactions.pop(self.key, None)  # over: nothing completes it
                break
            self.endpoint.send(data, self.addr)
            if self.method == "INVITE":
                interval *= 2
            else:
                interval = cfg.t2 if self.provisional else min(interval * 2, cfg.t2)

    def receive(self, response: SipMessage) -> None:
        if response.status < 200:
            if self.final is None:
                self.provisional = True
                self.responses.put_nowait(response)
            return
        if self.final is not None:
            # a retransmitted final response: re-ACK a non-2xx INVITE failure (Timer D)
            if self._ack is not None:
                self.endpoint.send(self._ack, self.addr)
            elif self.method == "INVITE" and response.status < 300:
                self.endpoint.retransmitted_2xx(response)
            return
        self.final = response
        if self.method == "INVITE" and response.status >= 300:
            self._ack = self._failure_ack(response).to_bytes()
            self.endpoint.send(self._ack, self.addr)
        self.responses.put_nowait(response)
        loop = asyncio.get_running_loop()
        linger = 32.0 if self.method == "INVITE" else 5.0
        loop.call_later(linger, self.endpoint.transactions.pop, self.key, None)

    def _failure_ack(self, response: SipMessage) -> SipMessage:
        """ACK for a non-2xx final response: same branch and Request-URI (RFC 3261 §17.1.1.3)."""
        ack = SipMessage(method="ACK", uri=self.request.uri)
        ack.add("Via", self.request.get_all("Via")[0])
        for route in self.request.get_all("Route"):
            ack.add("Route", route)
        ack.add("Max-Forwards", "70")
        ack.add("From", self.request.get("From"))
        ack.add("To", response.get("To"))
        ack.add("Call-ID", self.request.call_id)
        ack.add("CSeq", f"{self.request.cseq[0]} ACK")
        return ack

    async def next_response(self, timeout: float | None = None) -> SipMessage:
        return await asyncio.wait_for(self.responses.get(), timeout)

    def cancel_timers(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _timeout_response(request: SipMessage) -> SipMessage:
    resp = response_to(request, 408, "Request Timeout (no response)")
    resp.set("X-Local", "timeout")
    return resp


class SipEndpoint(asyncio.DatagramProtocol):
    """One UDP socket: routes responses to transactions and requests to dialogs."""

    def __init__(self, config: SipConfig) -> None:
        self.config = config
        self.transport: asyncio.DatagramTransport | None = None
        self.transactions: dict[tuple[str, str], ClientTransaction] = {}
        self.dialogs: dict[tuple[str, str], Call] = {}  # (Call-ID, local tag)
        #: calls given up before an answer, for 32 s: a late 2xx is ACKed and hung up
        self.unanswered: dict[tuple[str, str], Call] = {}
        self._responses_sent: dict[tuple[str, str, int], bytes] = {}
        self.background: set[asyncio.Task[None]] = set()
        #: answers new INVITEs (None: an outbound-only endpoint, INVITEs get 480)
        self.server: InviteServer | None = None
        self.messages_in = 0
        self.messages_out = 0

    @classmethod
    async def create(cls, config: SipConfig) -> SipEndpoint:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in config.local_host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                # room for bursts of responses when hundreds of calls start at once
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)
            sock.bind((config.local_host, config.local_port))
        except OSError:
            sock.close()
            raise
        _, proto = await loop.create_datagram_endpoint(lambda: cls(config), sock=sock)
        return proto

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    @property
    def local_port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    @property
    def host(self) -> str:
        return self.config.local_host

    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.local_port}"

    async def drain(self, timeout: float = 2.0) -> None:
        """Give BYEs still in flight up to ``timeout`` seconds to be answered."""
        if self.background:
            await asyncio.wait(list(self.background), timeout=timeout)

    def close(self) -> None:
        for task in list(self.background):
            task.cancel()
        for tx in list(self.transactions.values()):
            tx.cancel_timers()
        if self.transport is not None:
            self.transport.close()

    def send(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, addr)
            self.messages_out += 1

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)

    # -- incoming -----------------------------------------------------------------------------
    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip():
            return  # keep-alive
        try:
            msg = parse(data)
        except SipParseError as exc:
            log.debug("dropping unreadable SIP from %s: %s", addr, exc)
            return
        self.messages_in += 1
        if msg.is_request:
            self._request(msg, addr)
        else:
            tx = self.transactions.get((msg.branch, msg.cseq[1]))
            if tx is not None:
                tx.receive(msg)
            elif msg.cseq[1] == "INVITE" and 200 <= msg.status < 300:
                self.retransmitted_2xx(msg)

    def retransmitted_2xx(self, response: SipMessage) -> None:
        key = (response.call_id, tag_of(response.get("From")))
        call = self.dialogs.get(key)
        if call is not None:
            call.resend_ack(response)
        elif (late := self.unanswered.get(key)) is not None:
            late.late_answer(response)

    def respond(self, request: SipMessage, addr: tuple[str, int], response: SipMessage) -> None:
        data = response.to_bytes()
        key = (request.branch, request.method, request.cseq[0])
        self._responses_sent[key] = data
        asyncio.get_running_loop().call_later(32.0, self._responses_sent.pop, key, None)
        # back to where the request came from (rport, RFC 3581): right on loopback and NAT
        self.send(data, addr)

    def _request(self, msg: SipMessage, addr: tuple[str, int]) -> None:
        if msg.method == "ACK":  # completes a server INVITE transaction (ours: nothing to do)
            ack_tag = tag_of(msg.get("To"))
            acked = self.dialogs.get((msg.call_id, ack_tag)) if ack_tag else None
            if acked is not None:
                acked.acked(msg)
            return
        cached = self._responses_sent.get((msg.branch, msg.method, msg.cseq[0]))
        if cached is not None:  # a retransmitted request: repeat our answer
            self.send(cached, addr)
            return
        local_tag = tag_of(msg.get("To"))
        call = self.dialogs.get((msg.call_id, local_tag)) if local_tag else None
        if call is not None:
            call.handle_request(msg, addr)
            return
        if msg.method == "OPTIONS":
            self.respond(msg, addr, self.options_response(msg))
        elif msg.method == "CANCEL":
            if self.server is None or not self.server.cancel(msg, addr):
                self.respond(msg, addr, response_to(msg, 481))
        elif msg.method == "INVITE" and not local_tag:
            if self.server is not None:
                self.server.invite(msg, addr)
            else:
                self.respond(msg, addr, response_to(msg, 480, "Outbound only", to_tag=new_tag()))
        elif local_tag:
            self.respond(msg, addr, response_to(msg, 481))
        else:
            self.respond(msg, addr, response_to(msg, 405))

    def options_response(self, request: SipMessage) -> SipMessage:
        resp = response_to(request, 200, to_tag=new_tag())
        resp.add("Allow", ALLOW)
        resp.add("Accept", "application/sdp")
        resp.add("User-Agent", USER_AGENT)
        return resp

    # -- outgoing -----------------------------------------------------------------------------
    def base_request(
        self, method: str, uri: str, call_id: str, from_: str, to: str, cseq: int
    ) -> SipMessage:
        req = SipMessage(method=method, uri=uri)
        req.add("Via", f"SIP/2.0/UDP {self.hostport()};branch={new_branch()};rport")
        req.add("Max-Forwards", "70")
        req.add("From", from_)
        req.add("To", to)
        req.add("Call-ID", call_id)
        req.add("CSeq", f"{cseq} {method}")
        req.add("User-Agent", USER_AGENT)
        return req

    def destination(self, uri: str) -> tuple[str, int]:
        proxy = self.config.proxy_addr
        if proxy is not None:
            return proxy
        parsed = parse_uri(uri)
        return parsed.host, parsed.port

    def transaction(self, request: SipMessage, addr: tuple[str, int]) -> ClientTransaction:
        tx = ClientTransaction(self, request, addr)
        tx.start()
        return tx

    async def options(self, uri: str, timeout: float = 5.0) -> SipMessage:
        """Send an out-of-dialog OPTIONS (a health check of the trunk/peer)."""
        from_ = f"<sip:{self.config.from_user}@{self.config.from_host or self.hostport()}>;tag={new_tag()}"
        req = self.base_request("OPTIONS", uri, new_call_id(self.host), from_, f"<{uri}>", 1)
        req.add("Accept", "application/sdp")
        tx = self.transaction(req, self.destination(uri))
        try:
            while True:
                resp = await tx.next_response(timeout)
                if resp.status >= 200:
                    return resp
        finally:
            tx.cancel_timers()

    def call(self, uri: str, from_user: str | None = None, from_display: str | None = None) -> Call:
        return Call(self, uri, from_user or self.config.from_user, from_display)


@dataclass
class CallTimes:
    started: float = field(default_factory=time.monotonic)
    ringing: float | None = None
    answered: float | None = None
    ended: float | None = None


class Call:
    """One outbound call: the INVITE, then the dialog (BYE both ways, re-INVITE, REFER)."""

    def __init__(
        self, endpoint: SipEndpoint, uri: str, from_user: str, from_display: str | None = None
    ) -> None:
        self.endpoint = endpoint
        self.uri = uri
        cfg = endpoint.config
        self.call_id = new_call_id(endpoint.host)
        self.local_tag = new_tag()
        display = from_display if from_display is not None else cfg.from_display
        quoted = display.replace("\\", "\\\\").replace('"', '\\"') if display else ""
        display_part = f'"{quoted}" ' if display else ""
        domain = cfg.from_host or endpoint.hostport()
        self.local_uri = f"sip:{from_user}@{domain}"
        self.from_header = f"{display_part}<{self.local_uri}>;tag={self.local_tag}"
        self.contact = f"<sip:{from_user}@{endpoint.hostport()}>"
        self.to_header = f"<{uri}>"
        self.remote_target = uri
        self.route_set: list[str] = []
        self.cseq = random.randint(1, 10000)
        self.rtp: RtpSession | None = None
        self.remote_media: sdp.MediaDescription | None = None
        self.times = CallTimes()
        self.state = "init"  # init → calling → ringing → confirmed → ended
        self.failure: Failure | None = None
        #: who ended the call: "local" (the dialplan), "remote" (the callee's BYE),
        #: "rtp-timeout", "max-duration", "media" (no usable SDP), "cancelled", "failed"
        self.ended_by: str | None = None
        self.hangup_event = asyncio.Event()
        self.on_remote_hangup: Callable[[], None] | None = None
        self._ack: bytes | None = None
        self._ack_addr: tuple[str, int] | None = None
        self._sdp_version = 1
        self._session_id = random.randint(1, 2**31)
        self._invite_tx: ClientTransaction | None = None
        #: :meth:`stop_ringing` was called: give up now, as at the ring timeout
        self.ring_cut = False
        self._notify_queue: asyncio.Queue[int] = asyncio.Queue()
        self._watchdog: asyncio.Task[None] | None = None
        self.on_digit: Callable[[str], None] | None = None

    # -- placing the call ---------------------------------------------------------------------
    def stop_ringing(self) -> None:
        """Give up on the call if it is not answered yet, as if its ring timeout ran out now
        (CANCEL once it rings; heard within :data:`RING_POLL_S`). No effect once answered."""
        self.ring_cut = True

    async def invite(self, ring_timeout_s: float | None = None) -> bool:
        """Place the call. True when answered with usable media (dialog confirmed, RTP
        flowing); else :attr:`failure` says why (busy, no answer, invalid, rejected, carrier
        error, failed media negotiation).

        Unanswered, it ends within ring timeout + 64·T1: at the ring timeout a ringing call is
        CANCELled and its 487 awaited at most until then (RFC 3261 §9.1); a callee that never
        responds at all is not CANCELled (nothing to cancel before a provisional response) and
        ends at Timer B (64·T1) with 408."""
        cfg = self.endpoint.config
        ring_timeout = cfg.ring_timeout_s if ring_timeout_s is None else ring_timeout_s
        timer_64t1 = 64 * cfg.t1
        self.rtp = await RtpSession.open(self.endpoint.host, cfg.rtp_ports)
        self.rtp.on_digit = self._digit
        self.state = "calling"
        dest = self.endpoint.destination(self.uri)
        auth_header: tuple[str, str] | None = None
        auth_tries = 0
        ring_deadline = time.monotonic() + ring_timeout
        give_up = ring_deadline + timer_64t1  # no unanswered call outlives this
        cancelled = False
        try:
            while True:
                self.cseq += 1
                req = self._invite_request(auth_header)
                tx = self._invite_tx = self.endpoint.transaction(req, dest)
                resp: SipMessage | None = None
                while True:
                    now = time.monotonic()
                    if self.ring_cut and now < ring_deadline:
                        ring_deadline = now
                        give_up = min(give_up, now + timer_64t1)
                    if not cancelled and now >= ring_deadline and tx.provisional:
                        cancelled = True
                        self._send_cancel(req, dest)
                    until = give_up if now >= ring_deadline else ring_deadline
                    wait = until - now if cancelled else min(until - now, RING_POLL_S)
                    try:
                        resp = await tx.next_response(max(wait, 0.001))
                    except TimeoutError:
                        if time.monotonic() < give_up:
                            continue  # the ring timeout passed: CANCEL if it rings
                        resp = None
                        break
                    if resp.status < 200:
                        if resp.status in (180, 183) and self.times.ringing is None:
                            self.times.ringing = time.monotonic()
                            self.state = "ringing"
                        continue
                    break
                if resp is None:
                    self.failure = failure_for(
                        408,
                        f"ring timeout ({ring_timeout:g} s): CANCEL sent, no 487 within "
                        f"64·T1 = {timer_64t1:g} s"
                        if cancelled
                        else f"no final response within ring timeout + 64·T1 = "
                        f"{ring_timeout + timer_64t1:g} s",
                    )
                    self._finish("failed")
                    return False
                if 200 <= resp.status < 300:
                    problem = self._confirm(resp, dest)
                    if cancelled:  # answered while we cancelled: hang up at once
                        await self.bye(reason="cancelled")
                        self.failure = failure_for(
                            487, f"ring timeout ({ring_timeout:g} s): answered as it was cancelled"
                        )
                        return False
                    if problem:  # no media possible: ACKed above, now hang up
                        await self.bye(reason="media")
                        self.failure = media_failure(f"media negotiation failed: {problem}")
                        return False
                    return True
                if resp.status in (401, 407) and auth_tries == 0 and cfg.username:
                    auth_tries += 1
                    auth_header = self._authorize(resp, req)
                    if auth_header is not None:
                        continue
                if resp.get("X-Local") == "timeout":
                    self.failure = failure_for(
                        408,
                        f"Timer B expired: no response to the INVITE within "
                        f"64·T1 = {timer_64t1:g} s",
                    )
                elif cancelled and resp.status == 487:
                    why = "hung up while ringing" if self.ring_cut else ""
                    self.failure = failure_for(487, why or f"ring timeout ({ring_timeout:g} s)")
                else:
                    self.failure = failure_for(resp.status, resp.reason)
                self._finish("failed")
                return False
        except BaseException:
            self._finish("failed")
            raise

    def _invite_request(self, auth: tuple[str, str] | None) -> SipMessage:
        assert self.rtp is not None
        req = self.endpoint.base_request(
            "INVITE", self.uri, self.call_id, self.from_header, self.to_header, self.cseq
        )
        req.add("Contact", self.contact)
        req.add("Allow", ALLOW)
        req.add("Supported", "replaces")
        if auth is not None:
            req.add(*auth)
        req.add("Content-Type", "application/sdp")
        req.body = sdp.offer(self.endpoint.host, self.rtp.local_port, self._session_id)
        return req

    def _authorize(self, resp: SipMessage, req: SipMessage) -> tuple[str, str] | None:
        cfg = self.endpoint.config
        header = "WWW-Authenticate" if resp.status == 401 else "Proxy-Authenticate"
        value = resp.get(header)
        if not value or cfg.username is None:
            return None
        try:
            challenge = digest.parse_challenge(value)
            answer = digest.authorization(
                challenge, req.method, req.uri, cfg.username, cfg.password or ""
            )
        except digest.DigestError as exc:
            log.warning("cannot answer auth challenge: %s", exc)
            return None
        return ("Authorization" if resp.status == 401 else "Proxy-Authorization", answer)

    def _send_cancel(self, invite: SipMessage, dest: tuple[str, int]) -> None:
        """CANCEL: same Request-URI, Call-ID, From, To, top Via and CSeq number (RFC 3261 §9.1)."""
        cancel = SipMessage(method="CANCEL", uri=invite.uri)
        cancel.add("Via", invite.get_all("Via")[0])
        for route in invite.get_all("Route"):
            cancel.add("Route", route)
        cancel.add("Max-Forwards", "70")
        cancel.add("From", invite.get("From"))
        cancel.add("To", invite.get("To"))
        cancel.add("Call-ID", invite.call_id)
        cancel.add("CSeq", f"{invite.cseq[0]} CANCEL")
        self.endpoint.transaction(cancel, dest)

    def _confirm(self, resp: SipMessage, dest: tuple[str, int]) -> str:
        """2xx: set up the dialog, ACK to the remote Contact, start media. Returns what makes
        media impossible ("" when the SDP answer is usable)."""
        self._ack_2xx(resp)
        self.endpoint.dialogs[(self.call_id, self.local_tag)] = self
        self.times.answered = time.monotonic()
        self.state = "confirmed"
        if not resp.body.strip():
            return f"{resp.status} {resp.reason} without SDP"
        try:
            self.remote_media = sdp.parse(resp.body)
        except sdp.SdpError as exc:
            log.warning("unusable SDP answer: %s", exc)
            return f"unusable SDP answer: {exc}"
        assert self.rtp is not None
        self.rtp.start(
            (self.remote_media.address, self.remote_media.port),
            self.remote_media.dtmf_payload_type or 101,
        )
        self._watchdog = asyncio.get_running_loop().create_task(self._rtp_watchdog())
        return ""

    def _ack_2xx(self, resp: SipMessage) -> None:
        """Take the dialog's remote tag, target and route set from a 2xx, and ACK it."""
        self.to_header = resp.get("To")
        contact = resp.get("Contact")
        if contact:
            self.remote_target = name_addr_uri(contact)
        self.route_set = list(reversed(resp.get_all("Record-Route")))
        ack = self._in_dialog_request("ACK", cseq=self.cseq)
        self._ack_addr = self._dialog_destination()
        self._ack = ack.to_bytes()
        self.endpoint.send(self._ack, self._ack_addr)

    def late_answer(self, response: SipMessage) -> None:
        """A 2xx after we gave up on the INVITE (RFC 3261 §13.2.2.4): ACK it, then BYE, so
        the callee is not left in a call nobody runs."""
        if self._ack is not None:  # a retransmission of the 2xx we already answered
            self.resend_ack(response)
            return
        log.info("late answer of %s after giving up: ACK and BYE", self.call_id)
        self._ack_2xx(response)
        task = asyncio.ensure_future(self._quiet_request(self._in_dialog_request("BYE")))
        self.endpoint.background.add(task)
        task.add_done_callback(self.endpoint.background.discard)

    def acked(self, ack: SipMessage) -> None:
        """An ACK in this dialog: a UAC has nothing to do (the UAS side overrides it)."""

    def resend_ack(self, response: SipMessage) -> None:
        if self._ack is not None and self._ack_addr is not None:
            self.endpoint.send(self._ack, self._ack_addr)

    # -- in the dialog ------------------------------------------------------------------------
    def _dialog_destination(self) -> tuple[str, int]:
        if self.route_set:
            target = parse_uri(name_addr_uri(self.route_set[0]))
            return target.host, target.port
        proxy = self.endpoint.config.proxy_addr
        if proxy is not None:
            return proxy
        target = parse_uri(self.remote_target)
        return target.host, target.port

    def _in_dialog_request(self, method: str, cseq: int | None = None) -> SipMessage:
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        req = self.endpoint.base_request(
            method, self.remote_target, self.call_id, self.from_header, self.to_header, cseq
        )
        for route in self.route_set:
            req.add("Route", route)
        return req

    async def request(self, req: SipMessage, timeout: float = 40.0) -> SipMessage:
        tx = self.endpoint.transaction(req, self._dialog_destination())
        try:
            while True:
                resp = await tx.next_response(timeout)
                if resp.status >= 200:
                    return resp
        finally:
            tx.cancel_timers()

    async def bye(self, wait: bool = False, reason: str = "local") -> None:
        """Hang up (no-op when the call is already over); ``reason`` becomes
        :attr:`ended_by`. The BYE's transaction runs on in the background (retransmissions
        until answered or Timer F) unless ``wait``."""
        if self.state != "confirmed":
            return
        self._finish(reason)
        req = self._in_dialog_request("BYE")
        task = asyncio.ensure_future(self._quiet_request(req))
        if wait:
            await task
        else:
            self.endpoint.background.add(task)
            task.add_done_callback(self.endpoint.background.discard)

    async def _quiet_request(self, req: SipMessage) -> None:
        with contextlib.suppress(TimeoutError):
            await self.request(req, timeout=64 * self.endpoint.config.t1)

    async def refer(self, target: str, timeout_s: float = 30.0) -> int:
        """Blind transfer: REFER to ``target``, then wait for the NOTIFY carrying the final
        status of the transferee's call (returned; 202-less refusals return their status)."""
        req = self._in_dialog_request("REFER")
        req.add("Contact", self.contact)
        req.add("Refer-To", f"<{target}>")
        req.add("Referred-By", f"<{self.local_uri}>")
        resp = await self.request(req)
        if resp.status >= 300:
            return resp.status
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.state != "confirmed":
                return 408 if self.state == "confirmed" else 487
            try:
                status = await asyncio.wait_for(self._notify_queue.get(), remaining)
            except TimeoutError:
                return 408
            if status >= 200:
                return status

    def handle_request(self, msg: SipMessage, addr: tuple[str, int]) -> None:
        ep = self.endpoint
        if msg.method == "BYE":
            ep.respond(msg, addr, response_to(msg, 200))
            self._finish("remote")
        elif msg.method == "INVITE":  # re-INVITE: hold/unhold, new media address
            self._reinvite(msg, addr)
        elif msg.method == "OPTIONS":
            ep.respond(msg, addr, ep.options_response(msg))
        elif msg.method == "NOTIFY":
            ep.respond(msg, addr, response_to(msg, 200))
            status = _sipfrag_status(msg.body)
            if status is not None:
                self._notify_queue.put_nowait(status)
        elif msg.method == "INFO":
            ep.respond(msg, addr, response_to(msg, 200))
            key = _dtmf_relay_key(msg.body)
            if key:
                self._digit(key)
        elif msg.method == "CANCEL":
            ep.respond(msg, addr, response_to(msg, 481))
        else:
            resp = response_to(msg, 405)
            resp.add("Allow", ALLOW)
            ep.respond(msg, addr, resp)

    def _reinvite(self, msg: SipMessage, addr: tuple[str, int]) -> None:
        assert self.rtp is not None
        if msg.body:
            try:
                media = sdp.parse(msg.body)
            except sdp.SdpError:
                self.endpoint.respond(msg, addr, response_to(msg, 488))
                return
            self.remote_media = media
            self.rtp.remote = (media.address, media.port)
        contact = msg.get("Contact")
        if contact:
            self.remote_target = name_addr_uri(contact)
        self._sdp_version += 1
        resp = response_to(msg, 200)
        resp.add("Contact", self.contact)
        resp.add("Allow", ALLOW)
        resp.add("Content-Type", "application/sdp")
        direction = "sendrecv"
        if self.remote_media is not None and self.remote_media.direction == "sendonly":
            direction = "recvonly"
        resp.body = sdp.offer(
            self.endpoint.host, self.rtp.local_port, self._session_id, self._sdp_version, direction
        )
        self.endpoint.respond(msg, addr, resp)

    def _digit(self, key: str) -> None:
        if self.on_digit is not None:
            self.on_digit(key)

    async def _rtp_watchdog(self) -> None:
        timeout = self.endpoint.config.rtp_timeout_s
        while self.state == "confirmed":
            await asyncio.sleep(min(1.0, timeout / 4))
            if self.rtp is None or self.state != "confirmed":
                return
            on_hold = self.remote_media is not None and self.remote_media.on_hold
            if not on_hold and time.monotonic() - self.rtp.last_received > timeout:
                log.info("no RTP for %.1f s: hanging up %s", timeout, self.call_id)
                # one _finish, with this reason: it tells the engine the line is gone
                await self.bye(reason="rtp-timeout")
                return

    def _finish(self, by: str) -> None:
        if self.state == "ended":
            return
        was_confirmed = self.state == "confirmed"
        self.state = "ended"
        self.ended_by = self.ended_by or by
        self.times.ended = time.monotonic()
        if self.rtp is not None:
            self.rtp.close()
        if self._invite_tx is not None:
            self._invite_tx.cancel_timers()
            if self._invite_tx.final is None:  # given up: nothing will complete it
                self.endpoint.transactions.pop(self._invite_tx.key, None)
        if self._watchdog is not None and self._watchdog is not asyncio.current_task():
            self._watchdog.cancel()
        loop = asyncio.get_running_loop()
        key = (self.call_id, self.local_tag)
        loop.call_later(32.0, self.endpoint.dialogs.pop, key, None)
        if by == "failed" and self.times.answered is None:
            self.endpoint.unanswered[key] = self
            loop.call_later(32.0, self.endpoint.unanswered.pop, key, None)
        self.hangup_event.set()
        if was_confirmed and by in ("remote", "rtp-timeout") and self.on_remote_hangup:
            self.on_remote_hangup()

    @property
    def duration_s(self) -> float:
        if self.times.answered is None:
            return 0.0
        end = self.times.ended or time.monotonic()
        return end - self.times.answered


def _sipfrag_status(body: bytes) -> int | None:
    """The status code of a ``message/sipfrag`` body (``SIP/2.0 200 OK``)."""
    first = body.decode("utf-8", "replace").strip().split("\n", 1)[0].split()
    if len(first) >= 2 and first[0].upper().startswith("SIP/") and first[1].isdigit():
        return int(first[1])
    return None


def _dtmf_relay_key(body: bytes) -> str:
    for line in body.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition("=")
        if name.strip().lower() == "signal" and value.strip()[:1] in "0123456789*#":
            return value.strip()[:1]
    return ""


__all__ = ["Call", "CallTimes", "ClientTransaction", "InviteServer", "SipConfig", "SipEndpoint"]
