"""SIP message parsing/building (RFC 3261 §7, §8.2.6, §19.1)."""

from __future__ import annotations

import pytest

from dialplan.drivers.sip.message import (
    SipMessage,
    SipParseError,
    canonical,
    header_params,
    name_addr_uri,
    parse,
    parse_uri,
    response_to,
    split_commas,
    tag_of,
)

INVITE = (
    b"INVITE sip:bob@127.0.0.1:5070 SIP/2.0\r\n"
    b"v: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc;rport\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKdef\r\n"
    b'f: "Alice, A." <sip:alice@127.0.0.1>;tag=1928\r\n'
    b"t: <sip:bob@127.0.0.1:5070>\r\n"
    b"i: a84b4c76e66710@127.0.0.1\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Subject: a folded\r\n  header value\r\n"
    b"c: application/sdp\r\n"
    b"l: 4\r\n"
    b"\r\n"
    b"v=0\r\nEXTRA"
)


def test_parse_request_with_compact_and_folded_headers() -> None:
    msg = parse(INVITE)
    assert msg.is_request and msg.method == "INVITE" and msg.uri == "sip:bob@127.0.0.1:5070"
    assert msg.call_id == "a84b4c76e66710@127.0.0.1"
    assert msg.cseq == (314159, "INVITE")
    assert msg.branch == "z9hG4bKabc"
    assert len(msg.get_all("Via")) == 2
    assert msg.get("subject") == "a folded header value"
    assert msg.get("Content-Type") == "application/sdp"
    assert msg.body == b"v=0\r"  # Content-Length bounds the body
    assert tag_of(msg.get("From")) == "1928"
    assert tag_of(msg.get("To")) == ""


def test_parse_response_and_roundtrip() -> None:
    msg = parse(INVITE)
    resp = response_to(msg, 180, to_tag="xyz")
    data = resp.to_bytes()
    again = parse(data)
    assert again.status == 180 and again.reason == "Ringing"
    assert again.get_all("Via") == msg.get_all("Via")  # every Via, in order
    assert tag_of(again.get("To")) == "xyz"
    assert again.get("From") == msg.get("From")
    assert again.get("CSeq") == "314159 INVITE"
    assert again.get("Content-Length") == "0"


def test_response_keeps_existing_to_tag_and_100_gets_none() -> None:
    msg = parse(INVITE)
    assert tag_of(response_to(msg, 100, to_tag="x").get("To")) == ""
    msg.set("To", "<sip:bob@127.0.0.1>;tag=already")
    assert tag_of(response_to(msg, 200, to_tag="new").get("To")) == "already"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"HELLO\r\n\r\n",
        b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n",  # missing headers
        INVITE.replace(b"CSeq: 314159 INVITE", b"CSeq: abc"),
        INVITE.replace(b"l: 4", b"l: four"),
        b"INVITE sip:a@b SIP/2.0\r\nnocolon\r\n\r\n",
    ],
)
def test_unreadable_messages_raise(data: bytes) -> None:
    with pytest.raises(SipParseError):
        parse(data)


def test_set_replaces_all_values_and_remove() -> None:
    msg = SipMessage(method="OPTIONS", uri="sip:x@y")
    msg.add("Via", "a")
    msg.add("Via", "b")
    msg.set("via", "c")
    assert msg.get_all("Via") == ["c"]
    msg.remove("VIA")
    assert msg.get("Via") == ""


def test_helpers() -> None:
    assert canonical("call-id") == "Call-ID" and canonical("x-custom-thing") == "X-Custom-Thing"
    assert canonical("m") == "Contact" and canonical("cseq") == "CSeq"
    assert split_commas('"a, b" <sip:x>;p=1, <sip:y,z>') == ['"a, b" <sip:x>;p=1', "<sip:y,z>"]
    assert header_params("SIP/2.0/UDP h:1;branch=z9hG4bK1;rport") == {
        "branch": "z9hG4bK1",
        "rport": "",
    }
    assert header_params("<sip:a@b;lr>;tag=7") == {"tag": "7"}
    assert (
        name_addr_uri('"Bob" <sip:bob@h:5062;transport=udp>;tag=1')
        == "sip:bob@h:5062;transport=udp"
    )
    assert name_addr_uri("sip:bob@h;tag=1") == "sip:bob@h"


@pytest.mark.parametrize(
    ("uri", "user", "host", "port"),
    [
        ("sip:15551234567@127.0.0.1:5080", "15551234567", "127.0.0.1", 5080),
        ("sip:trunk.example", "", "trunk.example", 5060),
        ("<sip:a@[::1]:5062;transport=udp>", "a", "::1", 5062),
        ("sip:a:secret@h", "a:secret", "h", 5060),
    ],
)
def test_parse_uri(uri: str, user: str, host: str, port: int) -> None:
    parsed = parse_uri(uri)
    assert (parsed.user, parsed.host, parsed.port) == (user, host, port)


@pytest.mark.parametrize("uri", ["tel:+15551234567", "sip:", "sip:a@h:port"])
def test_parse_uri_rejects(uri: str) -> None:
    with pytest.raises(SipParseError):
        parse_uri(uri)
