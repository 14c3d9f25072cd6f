"""Message campaigns over real SIP on loopback: speech heard by baresip, the library's μ-law
bytes on the wire (a raw-socket capture of the RTP), digit 1 → REFER to the transfer number
(SIPp)."""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dialplan import load
from dialplan.drivers.sip.driver import CallOutcome, DriverOptions, SipDriver
from dialplan.drivers.sip.tts import PromptCache
from dialplan.drivers.sip.ua import SipConfig
from dialplan.sounds import render
from dialplan.sounds.library import SoundLibrary, library_reader
from tests.clirun import run as cli
from tests.sip.audio import speech_span_s, ulaw_speech_span_s, wav_pcm
from tests.sip.conftest import require, run, uas

pytestmark = pytest.mark.sip

SSML = (
    '<speak xml:lang="en-US"><break time="1s"/>Your ticket number is '
    '<say-as interpret-as="digits">4711</say-as>. <break time="500ms"/>See you there.</speak>'
)
TTS = "Hello Mary, thank you for supporting the charity weekend in Beaufort."


def place(
    to: str, xml: str, options: DriverOptions, config: SipConfig | None = None
) -> CallOutcome:
    async def go() -> CallOutcome:
        async with SipDriver(config or SipConfig(), options) as driver:
            return await driver.place(to, load(xml.encode()))

    return run(go())  # type: ignore[no-any-return]


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.mark.parametrize(
    ("play", "expected"),
    [
        (
            f'<play type="tts" voice="Female@en-US">{TTS}</play>',
            lambda: render.speak_tts(TTS, "Female", "en-US"),
        ),
        (f'<play type="tts">{_xml_text(SSML)}</play>', lambda: render.speak_ssml(SSML)),
    ],
    ids=["tts", "ssml"],
)
def test_baresip_hears_speech_of_the_expected_length(
    baresip: Any, tmp_path: Path, play: str, expected: Any
) -> None:
    require("espeak-ng", "sox")
    peer = baresip()
    cache = PromptCache(tmp_path / "prompts")
    outcome = place(
        peer.uri,
        f'<dialplan name="R">{play}<hangup/></dialplan>',
        DriverOptions(prompt_cache=cache),
    )
    assert outcome.result == "LA" and outcome.call is not None
    audio = expected()
    exp_start, exp_end, exp_voiced = ulaw_speech_span_s(audio)
    assert exp_end - exp_start > 2.5
    heard = [p for p in peer.recordings() if p.name.endswith("-dec.wav")]
    assert len(heard) == 1
    start, end, voiced = speech_span_s(wav_pcm(heard[0]))
    assert abs((end - start) - (exp_end - exp_start)) < 0.3
    assert abs(voiced - exp_voiced) < 0.15 * exp_voiced


class RtpCapture:
    """RTP payloads on the loopback interface, from a raw packet socket (root only)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.2)
        self.packets: dict[tuple[int, int], bytes] = {}  # (ssrc, seq) → payload
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping:
            try:
                frame = self.sock.recv(65535)
            except TimeoutError:
                continue
            if len(frame) < 14 + 20 + 8 + 12 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
            if ip[9] != 17:  # UDP
                continue
            udp = ip[(ip[0] & 0x0F) * 4 :]
            rtp = udp[8:]
            if rtp[0] >> 6 != 2 or rtp[1] & 0x7F != 0:  # RTP version 2, PCMU
                continue
            seq, _ts, ssrc = struct.unpack("!HII", rtp[2:12])
            head = 12 + 4 * (rtp[0] & 0x0F)
            self.packets[(ssrc, seq)] = bytes(rtp[head:])

    def stop(self) -> dict[int, bytes]:
        """Each stream's payloads in sequence order, joined."""
        self.stopping = True
        self.thread.join(2)
        self.sock.close()
        streams: dict[int, bytes] = {}
        for ssrc, seq in sorted(self.packets):
            streams[ssrc] = streams.get(ssrc, b"") + self.packets[(ssrc, seq)]
        return streams


def test_rtp_payload_of_an_uploaded_wav_is_the_stored_ulaw(sipp: Any, tmp_path: Path) -> None:
    require("sox", "sipp")
    if os.geteuid() != 0:
        pytest.skip("a raw packet capture needs root")
    wav = tmp_path / "welcome.wav"
    subprocess.run(
        ["sox", "-n", "-r", "44100", "-c", "2", str(wav), "synth", "2.0", "sine", "300-900"],
        check=True,
    )
    db = tmp_path / "b.sqlite"
    with SoundLibrary(db) as lib:
        stored = lib.audio(lib.add_file(wav).id)
    assert len(stored) == 16000
    peer = sipp(uas())
    capture = RtpCapture()
    try:
        options = DriverOptions(
            prompt_cache=PromptCache(tmp_path / "p"), sound_library=library_reader(db)
        )
        outcome = place(
            peer.uri(),
            '<dialplan name="R"><play type="callfireid">welcome</play><hangup/></dialplan>',
            options,
        )
        time.sleep(0.2)
    finally:
        streams = capture.stop()
    assert outcome.result == "LA"
    assert any(stored in payload for payload in streams.values()), {
        ssrc: len(p) for ssrc, p in streams.items()
    }


REFER_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="refer">
  <recv request="INVITE" crlf="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="remote" />
      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="local" />
      <ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" assign_to="contact" />
    </action>
  </recv>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=sipp 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15

    ]]>
  </send>
  <recv request="ACK" />
  <pause milliseconds="1500" />
  <nop><action><exec play_pcap_audio="PCAP" /></action></nop>
  <recv request="REFER" timeout="30000">
    <action>
      <ereg regexp=".*" search_in="hdr" header="Refer-To:" check_it="true" assign_to="referto" />
      <log message="REFER-TO [$referto]" />
    </action>
  </recv>
  <send>
    <![CDATA[
SIP/2.0 202 Accepted
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
NOTIFY [$contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: [$local];tag=[pid]SIPpTag[call_number]
To: [$remote]
[last_Call-ID:]
CSeq: 2 NOTIFY
Event: refer
Subscription-State: terminated;reason=noresource
Max-Forwards: 70
Content-Type: message/sipfrag
Content-Length: [len]

SIP/2.0 200 OK
    ]]>
  </send>
  <recv response="200" />
  <recv request="BYE" />
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
</scenario>
"""


def test_digit_1_sends_a_refer_to_the_transfer_number(
    sipp: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    require("espeak-ng", "sox", "sipp", root=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from tools.sip_peers import PCAP_DIR

    scenario = REFER_SCENARIO.replace("PCAP", str(PCAP_DIR / "dtmf_2833_1.pcap"))
    peer = sipp(scenario, extra=["-trace_logs"])
    (tmp_path / "r.csv").write_text("phone_number\n+12135551100\n")
    campaign = tmp_path / "c.toml"
    campaign.write_text(
        "\n".join(
            [
                'name = "Charity Campaign"',
                'recipients = "r.csv"',
                'answering_machine_config = "LIVE_IMMEDIATE"',
                "max_active_transfers = 1",
                "[sounds]",
                'live_sound_text = "Press 1 to speak to Mary."',
                'transfer_sound_text = "Please wait."',
                'transfer_digit = "1"',
                'transfer_number = "12314557676"',
                "[sip]",
                f'proxy = "{peer.hostport}"',
                "",
            ]
        )
    )
    db = tmp_path / "b.sqlite"
    code, _out, err = cli(
        capsys, "broadcast", "run", str(campaign), "--driver", "sip", "--db", str(db),
        "--no-progress", "--format", "json", "--report", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert code == 0, err
    assert peer.wait(15) == 0, (tmp_path / "sipp0").joinpath("sipp.log").read_text()[-2000:]
    logs = "".join(p.read_text() for p in peer.directory.glob("*_logs.log"))
    assert re.search(r"REFER-TO +<sip:12314557676@127\.0\.0\.1:[0-9]+>", logs), logs
    code, exported, _ = cli(capsys, "broadcast", "export", "Charity Campaign", "--db", str(db))
    assert [r["final_result"] for r in json.loads(exported)] == ["XFER"]


def test_a_second_transfer_above_max_active_transfers_gives_up_over_sip(
    sipp: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three callers press 1 at once with one transfer slot and a 2 s ``transfer_timeout``;
    SIPp sends each final NOTIFY 1.5 s after the REFER. The first REFER holds the slot 1.5 s,
    the second waits for it (1.5 s < 2 s) and holds it 1.5 s more; the third waits 2 s, gives up
    and hangs up: two XFER, one LA, two REFERs on the wire."""
    require("espeak-ng", "sox", "sipp", root=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from tools.sip_peers import PCAP_DIR

    scenario = REFER_SCENARIO.replace("PCAP", str(PCAP_DIR / "dtmf_2833_1.pcap"))
    scenario = scenario.replace(
        '<recv request="REFER" timeout="30000">',
        '<recv request="REFER" optional="true" next="refer">',
    )
    scenario = scenario.replace(
        "  <send>\n    <![CDATA[\nSIP/2.0 202 Accepted",
        '  <recv request="BYE" next="bye" />\n  <label id="refer" />\n'
        "  <send>\n    <![CDATA[\nSIP/2.0 202 Accepted",
    )
    scenario = scenario.replace(
        '  <send retrans="500">\n    <![CDATA[\nNOTIFY',
        '  <pause milliseconds="1500" />\n  <send retrans="500">\n    <![CDATA[\nNOTIFY',
    )
    scenario = scenario.replace(
        '  <recv request="BYE" />\n  <send>',
        '  <recv request="BYE" />\n  <label id="bye" />\n  <send>',
    )
    peer = sipp(scenario, calls=3, extra=["-trace_logs"])
    (tmp_path / "r.csv").write_text("phone_number\n+12135551100\n+12135551101\n+12135551102\n")
    campaign = tmp_path / "c.toml"
    campaign.write_text(
        "\n".join(
            [
                'name = "Two transfers"',
                'recipients = "r.csv"',
                'answering_machine_config = "LIVE_IMMEDIATE"',
                "max_active = 3",
                "calls_per_second = 100",
                "max_active_transfers = 1",
                "[sounds]",
                'live_sound_text = "Press 1 to speak to Mary."',
                'transfer_sound_text = "Please wait."',
                'transfer_digit = "1"',
                'transfer_number = "12314557676"',
                "transfer_timeout = 2",
                "[sip]",
                f'proxy = "{peer.hostport}"',
                "",
            ]
        )
    )
    db = tmp_path / "b.sqlite"
    code, _out, err = cli(
        capsys, "broadcast", "run", str(campaign), "--driver", "sip", "--db", str(db),
        "--no-progress", "--report", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert code == 0, err
    assert peer.wait(20) == 0, peer.log_path.read_text()[-2000:]
    logs = "".join(p.read_text() for p in peer.directory.glob("*_logs.log"))
    assert len(re.findall("REFER-TO", logs)) == 2, logs
    code, exported, _ = cli(capsys, "broadcast", "export", "Two transfers", "--db", str(db))
    assert sorted(r["final_result"] for r in json.loads(exported)) == ["LA", "XFER", "XFER"]


def test_dialplan_call_plays_a_library_sound_by_name(
    sipp: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``dialplan call --sounds-db``: the 2 s sound is played (the call lasts it); without the
    library the prompt has no audio and the call ends at once."""
    require("sox", "sipp")
    wav = tmp_path / "welcome.wav"
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", str(wav), "synth", "2.0", "sine", "440"], check=True
    )
    db = tmp_path / "b.sqlite"
    with SoundLibrary(db) as lib:
        lib.add_file(wav)
    plan = tmp_path / "plan.xml"
    plan.write_text('<dialplan name="R"><play type="callfireid">welcome</play><hangup/></dialplan>')
    durations = []
    for extra in (["--sounds-db", str(db)], []):
        peer = sipp(uas())
        code, out, err = cli(
            capsys, "call", str(plan), "--to", peer.uri(), "--format", "json", *extra
        )
        assert code == 0, err
        durations.append(json.loads(out)["sip"]["duration_s"])
    assert durations[0] >= 1.9 and durations[1] < 1.0, durations
