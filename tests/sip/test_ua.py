"""The user agent against a scripted in-process peer on loopback: timers, ACK, re-INVITE,
in-dialog requests, remote BYE, digest retry, RTP timeout (no external tools needed)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from dialplan.drivers.sip import digest, sdp
from dialplan.drivers.sip.message import SipMessage, name_addr_uri, parse, response_to, tag_of
from dialplan.drivers.sip.rtp import RtpSession
from dialplan.drivers.sip.ua import SipConfig, SipEndpoint

from .conftest import run

pytestmark = pytest.mark.sip


class Peer(asyncio.DatagramProtocol):
    """Records every SIP message it receives, with the time it arrived."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[tuple[SipMessage, float, tuple[str, int]]] = asyncio.Queue()
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.inbox.put_nowait((parse(data), time.monotonic(), addr))

    async def recv(self, timeout: float = 3.0) -> tuple[SipMessage, float, tuple[str, int]]:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    def send(self, msg: SipMessage, addr: tuple[str, int]) -> None:
        self.transport.sendto(msg.to_bytes(), addr)

    @property
    def port(self) -> int:
        return int(self.transport.get_extra_info("sockname")[1])


async def recv_past(
    far: Peer, request: SipMessage, timeout: float = 3.0
) -> tuple[SipMessage, float, tuple[str, int]]:
    """The next message that is not a copy of ``request``: retransmissions sent before our
    answer or ACK arrived (on a loaded machine it can take longer than T1) are correct, and
    come first."""
    while True:
        got = await far.recv(timeout)
        if got[0].to_bytes() != request.to_bytes():
            return got


async def peer() -> Peer:
    _, proto = await asyncio.get_running_loop().create_datagram_endpoint(
        Peer, local_addr=("127.0.0.1", 0)
    )
    return proto


def answer(invite: SipMessage, peer_port: int, rtp_port: int, tag: str = "peer1") -> SipMessage:
    resp = response_to(invite, 200, to_tag=tag)
    resp.add("Contact", f"<sip:bob@127.0.0.1:{peer_port};transport=udp>")
    resp.add("Content-Type", "application/sdp")
    resp.body = sdp.offer("127.0.0.1", rtp_port, 7)
    return resp


def in_dialog(method: str, ack: SipMessage, cseq: int, body: bytes = b"") -> SipMessage:
    """A request from the peer inside the dialog (From/To swapped from our ACK)."""
    req = SipMessage(
        method=method, uri=name_addr_uri(ack.get("Contact") or "") or "sip:dialplan@127.0.0.1"
    )
    req.add("Via", f"SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKpeer{method}{cseq}")
    req.add("From", ack.get("To"))
    req.add("To", ack.get("From"))
    req.add("Call-ID", ack.call_id)
    req.add("CSeq", f"{cseq} {method}")
    req.add("Contact", "<sip:bob@127.0.0.1:9>")
    if body:
        req.add("Content-Type", "application/sdp")
        req.body = body
    return req


def test_invite_retransmission_ack_reinvite_options_and_remote_bye() -> None:
    async def scenario() -> None:
        far = await peer()
        media = await RtpSession.open("127.0.0.1")
        ep = await SipEndpoint.create(SipConfig(t1=0.2))
        call = ep.call(f"sip:bob@127.0.0.1:{far.port}")
        placing = asyncio.ensure_future(call.invite(5))
        first, t1, addr = await far.recv()
        second, t2, _ = await far.recv()
        third, t3, _ = await far.recv()
        assert (
            first.method == "INVITE" and first.to_bytes() == second.to_bytes() == third.to_bytes()
        )
        # Timer A: T1, then 2·T1 (bounds allow for a busy machine)
        assert 0.18 < t2 - t1 < 0.45 and 0.38 < t3 - t2 < 0.8 and t3 - t2 > 1.4 * (t2 - t1)
        offer = sdp.parse(first.body)
        assert offer.payload_types == (0, 101) and offer.dtmf_payload_type == 101

        far.send(response_to(first, 183, to_tag="peer1"), addr)
        await asyncio.sleep(1.0)
        assert call.state == "ringing" and call.times.ringing is not None
        assert far.inbox.empty()  # a provisional response stops retransmission
        ok = answer(first, far.port, media.local_port)
        far.send(ok, addr)
        assert await placing is True
        ack, _, _ = await far.recv()
        assert ack.method == "ACK" and ack.uri == f"sip:bob@127.0.0.1:{far.port};transport=udp"
        assert tag_of(ack.get("To")) == "peer1" and tag_of(ack.get("From")) == tag_of(
            first.get("From")
        )
        assert ack.cseq == (first.cseq[0], "ACK") and ack.branch != first.branch
        far.send(ok, addr)  # a retransmitted 200 is ACKed again
        again, _, _ = await far.recv()
        assert again.method == "ACK" and again.cseq == ack.cseq

        # re-INVITE moving the media: answered with our SDP, RTP follows
        reinvite = in_dialog("INVITE", ack, 2, sdp.offer("127.0.0.1", 40000, 7, version=2))
        far.send(reinvite, addr)
        resp, _, _ = await far.recv()
        assert resp.status == 200 and resp.cseq == (2, "INVITE")
        assert sdp.parse(resp.body).port == call.rtp.local_port  # type: ignore[union-attr]
        assert call.rtp.remote == ("127.0.0.1", 40000)  # type: ignore[union-attr]
        far.send(reinvite, addr)  # a retransmitted request gets the same answer
        resp2, _, _ = await far.recv()
        assert resp2.to_bytes() == resp.to_bytes()

        far.send(in_dialog("OPTIONS", ack, 3), addr)
        opts, _, _ = await far.recv()
        assert opts.status == 200 and "REFER" in opts.get("Allow")

        digits: list[str] = []
        call.on_digit = digits.append
        info = in_dialog("INFO", ack, 5)
        info.add("Content-Type", "application/dtmf-relay")
        info.body = b"Signal=5\r\nDuration=160\r\n"
        far.send(info, addr)
        info_ok, _, _ = await far.recv()
        assert info_ok.status == 200 and digits == ["5"]

        far.send(in_dialog("BYE", ack, 6), addr)
        bye_ok, _, _ = await far.recv()
        assert bye_ok.status == 200 and bye_ok.cseq == (6, "BYE")
        await asyncio.wait_for(call.hangup_event.wait(), 1)
        assert call.state == "ended" and call.ended_by == "remote"
        ep.close()
        media.close()

    run(scenario(), timeout=20)


def test_digest_retry_after_407() -> None:
    async def scenario() -> None:
        far = await peer()
        ep = await SipEndpoint.create(
            SipConfig(
                username="alice", password="secret", from_user="15555550100", from_display='Dr "X"'
            )
        )
        call = ep.call(f"sip:15551234567@127.0.0.1:{far.port}")
        placing = asyncio.ensure_future(call.invite(5))
        first, _, addr = await far.recv()
        assert first.get("From").startswith('"Dr \\"X\\"" <sip:15555550100@127.0.0.1:')
        challenge = response_to(first, 407, to_tag="px")
        challenge.add("Proxy-Authenticate", 'Digest realm="trunk", nonce="abc", qop="auth"')
        far.send(challenge, addr)
        ack, _, _ = await recv_past(far, first)
        assert (
            ack.method == "ACK" and ack.branch == first.branch
        )  # ACK of a failure: same transaction
        second, _, _ = await far.recv()
        assert second.method == "INVITE" and second.call_id == first.call_id
        assert second.cseq[0] == first.cseq[0] + 1 and second.branch != first.branch
        assert tag_of(second.get("From")) == tag_of(first.get("From"))
        header = second.get("Proxy-Authorization")
        params = dict(
            part.strip().split("=", 1) for part in header.removeprefix("Digest ").split(",")
        )
        cnonce = params["cnonce"].strip('"')
        expected = digest.authorization(
            digest.parse_challenge('Digest realm="trunk", nonce="abc", qop="auth"'),
            "INVITE",
            second.uri,
            "alice",
            "secret",
            cnonce=cnonce,
        )
        assert header == expected
        far.send(response_to(second, 486, to_tag="px2"), addr)
        assert await placing is False
        assert call.failure is not None and call.failure.result == "BUSY"
        ep.close()

    run(scenario(), timeout=10)


def test_timer_b_gives_up_and_rtp_timeout_hangs_up() -> None:
    async def scenario() -> None:
        far = await peer()
        ep = await SipEndpoint.create(SipConfig(t1=0.02, rtp_timeout_s=0.5))
        silent = ep.call(f"sip:nobody@127.0.0.1:{far.port}")
        started = time.monotonic()
        assert await silent.invite(10) is False  # nobody answers at all: Timer B = 64·T1
        assert 1.2 < time.monotonic() - started < 3.0
        assert silent.failure is not None and silent.failure.result == "NO_ANS"
        assert silent.failure.status == 408 and "Timer B" in silent.failure.reason
        seen = set()
        while not far.inbox.empty():
            seen.add(far.inbox.get_nowait()[0].method)
        assert seen == {"INVITE"}  # retransmissions only: no CANCEL before a provisional

        call = ep.call(f"sip:bob@127.0.0.1:{far.port}")
        reports: list[str | None] = []
        call.on_remote_hangup = lambda: reports.append(call.ended_by)
        placing = asyncio.ensure_future(call.invite(5))
        invite, _, addr = await far.recv()
        far.send(answer(invite, far.port, 9), addr)  # answers, but never sends RTP
        assert await placing is True
        ack, _, _ = await recv_past(far, invite)  # T1 is 20 ms: copies may cross the answer
        assert ack.method == "ACK"
        bye, _, _ = await far.recv(timeout=3)
        assert bye.method == "BYE" and call.ended_by == "rtp-timeout"
        assert reports == ["rtp-timeout"]  # the line's end reaches the dialplan, once
        far.send(response_to(bye, 200), addr)
        ep.close()

    run(scenario(), timeout=20)
