"""The answering side against a scripted caller in-process (no external tools): the server
INVITE transaction, 200 retransmitted until the ACK, re-INVITE, OPTIONS, RFC 4733 digits,
our BYE, a retransmitted INVITE, and the RTP timeout."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dialplan.drivers.sip import sdp
from dialplan.drivers.sip.message import SipMessage, tag_of
from dialplan.drivers.sip.rtp import RtpSession
from dialplan.drivers.sip.tts import PromptCache
from dialplan.inbound.numbers import load_numbers
from dialplan.inbound.server import InboundServer
from dialplan.inbound.store import InboundStore

from ..sip.conftest import require
from ..sip.test_ua import Peer, peer

pytestmark = pytest.mark.sip
PLANS = Path(__file__).parent / "plans"


def invite(far: Peer, port: int, rtp_port: int, number: str) -> SipMessage:
    req = SipMessage(method="INVITE", uri=f"sip:{number}@127.0.0.1:{port}")
    req.add("Via", f"SIP/2.0/UDP 127.0.0.1:{far.port};branch=z9hG4bKcaller1;rport")
    req.add("From", f'"Bo" <sip:15550009999@127.0.0.1:{far.port}>;tag=caller1')
    req.add("To", f"<sip:{number}@127.0.0.1:{port}>")
    req.add("Call-ID", "uas-test-1@127.0.0.1")
    req.add("CSeq", "1 INVITE")
    req.add("Contact", f"<sip:15550009999@127.0.0.1:{far.port}>")
    req.add("Content-Type", "application/sdp")
    req.body = sdp.offer("127.0.0.1", rtp_port, 5, dtmf_payload_type=96)
    return req


def request(method: str, ok: SipMessage, far: Peer, cseq: int, body: bytes = b"") -> SipMessage:
    req = SipMessage(method=method, uri=ok.get("Contact").strip("<>"))
    req.add("Via", f"SIP/2.0/UDP 127.0.0.1:{far.port};branch=z9hG4bK{method}{cseq}")
    req.add("From", ok.get("From"))
    req.add("To", ok.get("To"))
    req.add("Call-ID", ok.call_id)
    req.add("CSeq", f"{cseq} {method}")
    if body:
        req.add("Content-Type", "application/sdp")
        req.body = body
    return req


def server_for(tmp_path: Path, extra: str = "") -> tuple[InboundServer, InboundStore]:
    (tmp_path / "key_then_end.xml").write_text((PLANS / "key_then_end.xml").read_text())
    (tmp_path / "hold.xml").write_text((PLANS / "hold.xml").read_text())
    cache = tmp_path / "prompts"
    path = tmp_path / "numbers.toml"
    path.write_text(
        f'[sip]\nprompt_cache_dir = "{cache}"\nt1_s = 0.1\n{extra}'
        '[numbers."100"]\ndialplan = "key_then_end.xml"\n'
        '[numbers."200"]\ndialplan = "hold.xml"\n'
    )
    store = InboundStore(tmp_path / "in.sqlite")
    return InboundServer(load_numbers(path), store, local_port=0), store


def test_server_transaction_dialog_and_digits(tmp_path: Path) -> None:
    require("espeak-ng", "sox")
    server, store = server_for(tmp_path)

    async def scenario() -> None:
        await PromptCache(tmp_path / "prompts").tts("Press a key.")  # no synthesis delay below
        await server.start()
        port = server.address[1]
        far = await peer()
        media = await RtpSession.open("127.0.0.1")
        inv = invite(far, port, media.local_port, "100")
        far.send(inv, ("127.0.0.1", port))
        trying, _, _ = await far.recv()
        ringing, _, _ = await far.recv()
        ok, t_ok, _ = await far.recv()
        assert (trying.status, ringing.status, ok.status) == (100, 180, 200)
        assert tag_of(ringing.get("To")) == tag_of(ok.get("To")) != ""
        answer = sdp.parse(ok.body)
        assert answer.dtmf_payload_type == 96  # the offer's telephone-event type is kept
        again, t_again, _ = await far.recv()  # no ACK yet: the 200 comes again (Timer G)
        assert again.to_bytes() == ok.to_bytes() and 0.07 < t_again - t_ok < 0.4
        far.send(inv, ("127.0.0.1", port))  # a retransmitted INVITE: the 200 again
        assert (await far.recv())[0].status == 200
        far.send(request("ACK", ok, far, 1), ("127.0.0.1", port))
        await asyncio.sleep(0.4)
        while not far.inbox.empty():  # retransmissions that crossed the ACK
            assert (await far.recv())[0].status == 200
        await asyncio.sleep(0.3)
        assert far.inbox.empty()  # the ACK stopped them

        media.start((answer.address, answer.port), 96)
        hold = request(
            "INVITE", ok, far, 2, sdp.offer("127.0.0.1", media.local_port, 5, 2, "sendonly", 96)
        )
        far.send(hold, ("127.0.0.1", port))
        held, _, _ = await far.recv()
        assert held.status == 200 and sdp.parse(held.body).direction == "recvonly"
        far.send(request("ACK", ok, far, 2), ("127.0.0.1", port))
        far.send(request("OPTIONS", ok, far, 3), ("127.0.0.1", port))
        options, _, _ = await far.recv()
        assert options.status == 200 and "INVITE" in options.get("Allow")

        media.send_dtmf("7")  # RFC 4733 from the caller
        bye, _, addr = await far.recv(10)
        assert bye.method == "BYE" and bye.call_id == ok.call_id
        assert tag_of(bye.get("From")) == tag_of(ok.get("To"))
        far.send(_ok(bye), addr)
        await asyncio.sleep(0.2)
        media.close()
        await server.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))
    [call] = list(store.calls())
    assert call.responses == [{"question": "key", "response": "7"}]
    assert (call.result, call.ended_by, call.caller_name) == ("LA", "local", "Bo")
    store.close()


def test_rtp_timeout_hangs_up_a_silent_caller(tmp_path: Path) -> None:
    require("espeak-ng", "sox")
    server, store = server_for(tmp_path, "rtp_timeout_s = 0.6\n")

    async def scenario() -> None:
        await server.start()
        port = server.address[1]
        far = await peer()
        inv = invite(far, port, 9, "200")  # the caller never sends RTP
        far.send(inv, ("127.0.0.1", port))
        for _ in range(3):
            msg, _, _ = await far.recv()
        assert msg.status == 200
        far.send(request("ACK", msg, far, 1), ("127.0.0.1", port))
        bye, _, addr = await far.recv(5)
        while bye.method != "BYE":  # 200s that crossed the ACK (Timer G: T1 is 100 ms)
            assert bye.to_bytes() == msg.to_bytes()
            bye, _, addr = await far.recv(5)
        far.send(_ok(bye), addr)
        await asyncio.sleep(0.3)
        await server.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))
    [call] = list(store.calls())
    assert (call.ended_by, call.outcome) == ("rtp-timeout", "caller_hangup")
    store.close()


def _ok(req: SipMessage) -> SipMessage:
    from dialplan.drivers.sip.message import response_to

    return response_to(req, 200)


def test_stopping_the_server_hangs_up_and_keeps_the_calls(tmp_path: Path) -> None:
    require("espeak-ng", "sox")
    server, store = server_for(tmp_path)

    async def scenario() -> None:
        await server.start()
        port = server.address[1]
        far = await peer()
        media = await RtpSession.open("127.0.0.1")
        inv = invite(far, port, media.local_port, "200")
        far.send(inv, ("127.0.0.1", port))
        for _ in range(3):
            ok, _, _ = await far.recv()
        assert ok.status == 200
        far.send(request("ACK", ok, far, 1), ("127.0.0.1", port))
        await asyncio.sleep(0.3)
        closing = asyncio.ensure_future(server.close())
        bye, _, addr = await far.recv(5)
        while bye.method != "BYE":  # 200s that crossed the ACK
            bye, _, addr = await far.recv(5)
        far.send(_ok(bye), addr)
        await closing
        media.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))
    [call] = list(store.calls())
    assert (call.result, call.ended_by) == ("LA", "shutdown")
    assert call.ended_at is not None
    store.close()


def test_digest_challenge_wrong_password_403_right_password_answered(tmp_path: Path) -> None:
    from dialplan.drivers.sip import digest

    require("espeak-ng", "sox")
    store = server_for(tmp_path)[1]
    path = tmp_path / "numbers.toml"
    path.write_text(path.read_text() + '[auth]\nusername = "trunk"\npassword = "s3cret"\n')
    server = InboundServer(load_numbers(path), store, local_port=0)

    async def scenario() -> None:
        await server.start()
        port = server.address[1]
        far = await peer()
        statuses = []
        challenge = ""
        for n, password in enumerate(["", "wrong", "s3cret"], start=1):
            inv = invite(far, port, 9, "200")
            inv.set("Via", f"SIP/2.0/UDP 127.0.0.1:{far.port};branch=z9hG4bKauth{n}")
            inv.set("CSeq", f"{n} INVITE")
            if password:
                answer = digest.authorization(
                    digest.parse_challenge(challenge), "INVITE", inv.uri, "trunk", password
                )
                inv.add("Authorization", answer)
            far.send(inv, ("127.0.0.1", port))
            resp, _, _ = await far.recv()
            statuses.append(resp.status)
            if resp.status == 401:
                challenge = resp.get("WWW-Authenticate")
        assert statuses == [401, 403, 100]
        await server.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert len(list(store.calls())) == 1  # challenged and refused INVITEs are not calls
    store.close()
