"""SDP offer/answer, digest answers (RFC 2617/7616 examples), failure → result/cause table."""

from __future__ import annotations

import pytest

from dialplan.drivers.sip import digest, sdp
from dialplan.drivers.sip.causes import failure_for, transfer_outcome

ANSWER = b"""v=0\r
o=- 1 2 IN IP4 127.0.0.1\r
s=-\r
c=IN IP4 127.0.0.9\r
t=0 0\r
m=audio 40000 RTP/AVP 0 8 96\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:96 telephone-event/8000\r
a=sendrecv\r
m=video 0 RTP/AVP 31\r
a=sendonly\r
"""


def test_offer_parses_back() -> None:
    media = sdp.parse(sdp.offer("127.0.0.1", 30000, 42))
    assert media.address == "127.0.0.1" and media.port == 30000
    assert media.payload_types == (0, 101) and media.dtmf_payload_type == 101
    assert media.direction == "sendrecv" and not media.on_hold
    text = sdp.offer("127.0.0.1", 30000, 42).decode()
    assert "a=rtpmap:0 PCMU/8000" in text and "a=fmtp:101 0-15" in text


def test_answer_with_session_address_dynamic_dtmf_and_second_stream() -> None:
    media = sdp.parse(ANSWER)
    assert media.address == "127.0.0.9" and media.port == 40000
    assert media.dtmf_payload_type == 96
    assert media.direction == "sendrecv"  # the video stream's attributes do not leak


def test_hold_and_errors() -> None:
    held = ANSWER.replace(b"a=sendrecv", b"a=sendonly")
    assert sdp.parse(held).on_hold
    with pytest.raises(sdp.SdpError, match="PCMU"):
        sdp.parse(
            ANSWER.replace(b"RTP/AVP 0 8 96", b"RTP/AVP 8").replace(
                b"a=rtpmap:0 PCMU/8000\r\n", b""
            )
        )
    with pytest.raises(sdp.SdpError, match="no audio"):
        sdp.parse(b"v=0\r\nc=IN IP4 1.2.3.4\r\n")
    with pytest.raises(sdp.SdpError, match="connection"):
        sdp.parse(b"v=0\r\nm=audio 4000 RTP/AVP 0\r\n")


def _response_of(header: str) -> str:
    return header.split('response="')[1].split('"')[0]


def test_digest_rfc2617_example() -> None:
    # RFC 2617 §3.5: the "Mufasa" example (qop=auth)
    challenge = digest.parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    assert challenge.qop == ("auth", "auth-int")
    header = digest.authorization(
        challenge, "GET", "/dir/index.html", "Mufasa", "Circle Of Life", cnonce="0a4f113b"
    )
    assert _response_of(header) == "6629fae49393a05397450978507c4ef1"
    assert "nc=00000001" in header and 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header


def test_digest_rfc7616_sha256_example() -> None:
    challenge = digest.parse_challenge(
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    header = digest.authorization(
        challenge,
        "GET",
        "/dir/index.html",
        "Mufasa",
        "Circle of Life",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert (
        _response_of(header) == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )


def test_digest_without_qop_and_rejections() -> None:
    challenge = digest.parse_challenge('Digest realm="r", nonce="n"')
    header = digest.authorization(challenge, "INVITE", "sip:a@b", "u", "p")
    import hashlib

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    expected = md5(f"{md5('u:r:p')}:n:{md5('INVITE:sip:a@b')}")
    assert _response_of(header) == expected and "qop" not in header
    with pytest.raises(digest.DigestError):
        digest.parse_challenge('Basic realm="r"')
    with pytest.raises(digest.DigestError):
        digest.authorization(
            digest.parse_challenge('Digest nonce="n", algorithm=SHA-512'), "A", "u", "u", "p"
        )
    with pytest.raises(digest.DigestError):
        digest.authorization(
            digest.parse_challenge('Digest nonce="n", qop="auth-int"'), "A", "u", "u", "p"
        )


@pytest.mark.parametrize(
    ("status", "result", "cause"),
    [
        (486, "BUSY", 17),
        (600, "BUSY", 17),
        (480, "NO_ANS", 19),
        (408, "NO_ANS", 19),
        (487, "NO_ANS", 19),
        (404, "INVALID", 1),
        (484, "INVALID", 28),
        (603, "REJECTED", 21),
        (500, "CARRIER_ERROR", 41),
        (503, "CARRIER_ERROR", 34),
        (502, "CARRIER_ERROR", 38),
        (606, "CARRIER_ERROR", 58),
        (488, "CARRIER_ERROR", 65),
        (499, "CARRIER_ERROR", 31),
        (599, "CARRIER_ERROR", 41),
    ],
)
def test_failure_mapping(status: int, result: str, cause: int) -> None:
    failure = failure_for(status)
    assert (failure.result, failure.cause, failure.status) == (result, cause, status)


def test_transfer_outcomes() -> None:
    assert transfer_outcome(200) == "answered"
    assert transfer_outcome(486) == "busy"
    assert transfer_outcome(480) == "no_answer"
    assert transfer_outcome(404) == "failed"
