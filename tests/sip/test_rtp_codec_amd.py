"""RTP and RFC 4733 packing, DTMF de-duplication, mu-law, and the AMD rules on synthetic frames."""

from __future__ import annotations

import struct

import pytest

from dialplan.drivers.sip import codec
from dialplan.drivers.sip.amd import AmdConfig, AmdDetector
from dialplan.drivers.sip.rtp import (
    DtmfReceiver,
    RtpError,
    RtpPacket,
    TelephoneEvent,
    dtmf_packets,
    pack,
    pack_event,
    unpack,
    unpack_event,
)


def test_rtp_roundtrip() -> None:
    packet = RtpPacket(0, 65535, 2**32 - 160, 0xDEADBEEF, b"\xff" * 160, marker=True)
    data = pack(packet)
    assert len(data) == 172 and data[0] == 0x80 and data[1] == 0x80
    assert unpack(data) == packet


def test_rtp_csrc_extension_and_padding() -> None:
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 1, 101, 7, 1000, 42)
    csrc = struct.pack("!I", 99)
    ext = struct.pack("!HH", 0xBEDE, 1) + b"\x00\x00\x00\x00"
    payload = b"\x01\x02\x03\x04"
    padding = b"\x00\x00\x03"
    packet = unpack(header + csrc + ext + payload + padding)
    assert packet.payload == payload and packet.payload_type == 101 and packet.sequence == 7


@pytest.mark.parametrize("data", [b"\x80" * 5, b"\x40" + b"\x00" * 11, b"\x81\x00" + b"\x00" * 10])
def test_rtp_rejects(data: bytes) -> None:
    with pytest.raises(RtpError):
        unpack(data)


def test_telephone_event_layout() -> None:
    # RFC 4733 §2.3: event (8 bits), E|R|volume (8 bits), duration (16 bits)
    data = pack_event(TelephoneEvent(11, True, 10, 800))
    assert data == bytes([11, 0x80 | 10]) + (800).to_bytes(2, "big")
    event = unpack_event(data)
    assert event.key == "#" and event.end and event.volume == 10 and event.duration == 800


def test_dtmf_packets_shape() -> None:
    events = dtmf_packets("5", duration_ms=100)
    assert [e.duration for e in events[:5]] == [160, 320, 480, 640, 800]
    assert [e.end for e in events] == [False] * 5 + [True] * 3
    assert {e.event for e in events} == {5}


def _stream(key: str, timestamp: int, ssrc: int = 1) -> list[RtpPacket]:
    return [
        RtpPacket(101, i, timestamp, ssrc, pack_event(e)) for i, e in enumerate(dtmf_packets(key))
    ]


def test_dtmf_receiver_reports_each_press_once() -> None:
    rx = DtmfReceiver()
    packets = _stream("4", 1000) + _stream("2", 5000) + _stream("2", 9000)
    keys = [k for p in packets if (k := rx.feed(p))]
    assert keys == ["4", "2", "2"]  # the repeated end packets are not new presses


def test_dtmf_receiver_first_packet_lost_and_duplicates() -> None:
    rx = DtmfReceiver()
    packets = _stream("9", 1000)[2:]  # the first two packets were lost
    keys = [k for p in packets + packets if (k := rx.feed(p))]  # and everything duplicated
    assert keys == ["9"]
    assert rx.feed(RtpPacket(101, 1, 1000, 2, pack_event(TelephoneEvent(9, False, 10, 160)))) == "9"
    assert rx.feed(RtpPacket(101, 1, 7, 2, b"\x01")) is None  # truncated payload ignored


def test_ulaw_known_values_and_roundtrip() -> None:
    assert codec.pcm16_to_ulaw(b"\x00\x00") == b"\xff"
    assert codec.ulaw_to_pcm16(b"\xff") == b"\x00\x00"
    assert codec.ulaw_to_pcm16(b"\x00") == (-32124).to_bytes(2, "little", signed=True)
    assert codec.ulaw_to_pcm16(b"\x80") == (32124).to_bytes(2, "little", signed=True)
    for sample in (-30000, -1000, -5, 0, 7, 1234, 29000):
        pcm = sample.to_bytes(2, "little", signed=True)
        back = int.from_bytes(codec.ulaw_to_pcm16(codec.pcm16_to_ulaw(pcm)), "little", signed=True)
        assert abs(back - sample) <= max(8, abs(sample) // 16)  # G.711 quantisation error


def test_tone_length() -> None:
    assert len(codec.tone(1000, 200)) == 1600


def _frames(*runs: tuple[bool, int]) -> list[bool]:
    out: list[bool] = []
    for voiced, ms in runs:
        out += [voiced] * (ms // 20)
    return out


def _run(frames: list[bool], config: AmdConfig | None = None) -> tuple[str, str, int]:
    det = AmdDetector(config)
    for flag in frames:
        verdict = det.feed(flag)
        if verdict is not None:
            return verdict.result, verdict.cause, verdict.decided_at_ms
    raise AssertionError("no verdict")


def test_amd_hello_then_silence_is_live() -> None:
    # "Hello?" (600 ms) after 400 ms, then the person waits: live once 800 ms of silence passed
    assert _run(_frames((False, 400), (True, 600), (False, 3000))) == ("live", "HUMAN", 1800)


def test_amd_long_greeting_is_machine() -> None:
    assert _run(_frames((False, 300), (True, 3000))) == ("machine", "LONGGREETING", 1800)


def test_amd_many_words_is_machine() -> None:
    words = _frames(*[(True, 200), (False, 100)] * 5)
    # the third word counts once it has lasted min_word_ms: 2 × 300 ms + 100 ms
    assert _run(words) == ("machine", "MAXWORDS", 700)


def test_amd_initial_silence_is_machine() -> None:
    assert _run(_frames((False, 6000))) == ("machine", "INITIALSILENCE", 2500)


def test_amd_short_blips_are_not_words_and_timeout_uses_not_sure() -> None:
    blips = _frames(*[(True, 40), (False, 60)] * 100)  # clicks shorter than a word
    config = AmdConfig(initial_silence_ms=10_000, total_analysis_ms=3000, not_sure_result="machine")
    assert _run(blips, config) == ("machine", "TOOLONG", 3000)


def test_amd_thresholds_are_tunable() -> None:
    frames = _frames((True, 600), (False, 3000))
    assert _run(frames, AmdConfig(greeting_ms=500))[1] == "LONGGREETING"
    assert _run(frames, AmdConfig(after_greeting_silence_ms=2000)) == ("live", "HUMAN", 2600)


def test_amd_config_from_mapping() -> None:
    cfg = AmdConfig.from_mapping({"greeting_ms": 2000, "not_sure_result": "machine"})
    assert cfg.greeting_ms == 2000 and cfg.not_sure_result == "machine"
    for bad in (
        {"greeting": 1},
        {"greeting_ms": -1},
        {"greeting_ms": "x"},
        {"not_sure_result": "x"},
    ):
        with pytest.raises(ValueError):
            AmdConfig.from_mapping(bad)


def test_receiver_drops_late_packets_and_fills_gaps() -> None:
    from dialplan.drivers.sip.rtp import RtpSession

    session = RtpSession()
    heard: list[bytes] = []
    keys: list[str] = []
    session.audio_sinks.append(heard.append)
    session.on_digit = keys.append

    def audio(seq: int, ts: int, fill: int) -> bytes:
        return pack(RtpPacket(0, seq, ts, 77, bytes([fill]) * 160))

    session.datagram_received(audio(10, 1600, 1), ("127.0.0.1", 1))
    session.datagram_received(audio(11, 1760, 2), ("127.0.0.1", 1))
    session.datagram_received(audio(11, 1760, 2), ("127.0.0.1", 1))  # duplicate
    session.datagram_received(audio(14, 2240, 5), ("127.0.0.1", 1))  # 12 and 13 lost
    session.datagram_received(audio(12, 1920, 3), ("127.0.0.1", 1))  # arrives too late
    session.datagram_received(
        pack(RtpPacket(101, 15, 2400, 77, pack_event(TelephoneEvent(3, False, 10, 160)))),
        ("127.0.0.1", 1),
    )
    session.datagram_received(b"\x00garbage", ("127.0.0.1", 1))
    assert [len(h) for h in heard] == [160, 160, 480]
    assert heard[2] == bytes([codec.SILENCE]) * 320 + bytes([5]) * 160
    assert keys == ["3"] and session.packets_received == 6
