"""baresip as the caller (and as the agent of a bridged transfer): what was heard, checked
as speech of the right length in the audio baresip saved."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from dialplan.drivers.sip.tts import PromptCache

from ..sip.audio import speech_span_s, ulaw_speech_span_s, wav_pcm
from ..sip.conftest import speech_wav
from .conftest import require

pytestmark = pytest.mark.sip


def _tts(prompt_dir: Path, *texts: str) -> list[bytes]:
    cache = PromptCache(prompt_dir)

    async def make() -> list[bytes]:
        return [await cache.tts(t) for t in texts]

    return asyncio.run(make())


def _heard(peer: Any) -> bytes:
    files = [p for p in peer.recordings() if p.name.endswith("-dec.wav")]
    assert len(files) == 1, files
    return wav_pcm(files[0])


def test_baresip_caller_hears_the_prompt_and_its_key_is_stashed(
    answer_server: Any, baresip: Any, prompt_dir: Path
) -> None:
    require("espeak-ng", "sox", "baresip")
    greeting, goodbye = _tts(
        prompt_dir,
        "Thank you for calling. Press 1 for sales or 2 for support.",
        "Goodbye.",
    )
    server = answer_server(
        '[sip]\nprompt_cache_dir = "@PROMPTS@"\n[numbers."15551230001"]\ndialplan = "menu.xml"\n'
    )
    peer = baresip("caller", user="15550002222")
    peer.command("dial", f"sip:15551230001@{server.hostport}")
    deadline = time.monotonic() + 10
    while not any(c.answered_at for c in server.calls()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(len(greeting) / 8000 + 1.5)  # the whole prompt, then the key (4 s to press it)
    peer.command("sndcode", "1")
    [call] = server.wait_finished(1, timeout=20)
    assert call.caller == "15550002222" and call.result == "LA"
    assert call.responses[0] == {"question": "department", "response": "sales"}
    time.sleep(0.5)
    peer.stop()
    start, end, voiced = speech_span_s(_heard(peer))
    g_start, g_end, g_voiced = ulaw_speech_span_s(greeting)
    b_voiced = ulaw_speech_span_s(goodbye)[2]
    assert g_end - g_start > 3.0
    # all of the greeting, then the goodbye after the key: same amount of speech
    assert abs(voiced - (g_voiced + b_voiced)) < 0.15 * (g_voiced + b_voiced)
    assert end - start > g_end - g_start


def test_bridged_transfer_whispers_to_the_agent_only_and_continues_after(
    answer_server: Any, baresip: Any, prompt_dir: Path, tmp_path: Path
) -> None:
    require("espeak-ng", "sox", "baresip")
    hold, whisper, back = _tts(
        prompt_dir,
        "Please hold while we connect you.",
        "Incoming call from the support line.",
        "Welcome back.",
    )
    # the caller speaks once the bridge is up; the agent says nothing and hangs up at 14 s
    caller_voice = speech_wav(
        tmp_path / "caller.wav", "This is the caller speaking.", pad_s=40, lead_s=8.0
    )
    silence = speech_wav(tmp_path / "agent.wav", "", pad_s=14)
    agent = baresip("agent", user="2135551212", greeting=silence)
    server = answer_server(
        f'[sip]\nprompt_cache_dir = "@PROMPTS@"\n'
        f'transfer_uri = "sip:{{number}}@127.0.0.1:{agent.port}"\n'
        '[numbers."15551230009"]\ndialplan = "bridge.xml"\n'
    )
    peer = baresip("caller", user="15550003333", greeting=caller_voice)
    peer.command("dial", f"sip:15551230009@{server.hostport}")
    [call] = server.wait_finished(1, timeout=40)
    assert call.result == "LA" and call.outcome == "hangup"
    assert call.transfer is not None and call.transfer["outcome"] == "answered"
    time.sleep(0.5)
    peer.stop()
    agent.stop()
    caller_heard = speech_span_s(_heard(peer))[2]
    agent_heard = speech_span_s(_heard(agent))
    voiced = {
        name: ulaw_speech_span_s(audio)[2]
        for name, audio in (("hold", hold), ("whisper", whisper), ("back", back))
    }
    spoken = speech_span_s(wav_pcm(caller_voice))[2]
    # the caller heard the two prompts and not the whisper
    assert abs(caller_heard - (voiced["hold"] + voiced["back"])) < 0.2 * voiced["whisper"] + 0.3
    # the agent heard the whisper first, then the caller through the bridge
    assert agent_heard[0] < 1.0
    assert abs(agent_heard[2] - (voiced["whisper"] + spoken)) < 0.2 * (voiced["whisper"] + spoken)


def test_a_caller_leaves_a_recorded_message(
    answer_server: Any, baresip: Any, prompt_dir: Path, tmp_path: Path
) -> None:
    require("espeak-ng", "sox", "baresip")
    _tts(prompt_dir, "Leave a message.")
    voice = speech_wav(
        tmp_path / "msg.wav", "I would like to refill my prescription, please.", 30, 2.5
    )
    server = answer_server(
        '[sip]\nprompt_cache_dir = "@PROMPTS@"\nrecordings_dir = "rec"\n'
        '[numbers."15551230004"]\ndialplan = "voicemail.xml"\n'
    )
    peer = baresip("caller", user="15550004444", greeting=voice)
    peer.command("dial", f"sip:15551230004@{server.hostport}")
    [call] = server.wait_finished(1, timeout=30)
    [url] = call.recordings
    assert call.responses == [{"question": "file", "response": url}]
    path = Path(url.removeprefix("file://"))
    assert path.is_file() and path.parent.parent == server.db.parent / "rec"
    heard = speech_span_s(wav_pcm(path))[2]
    spoken = speech_span_s(wav_pcm(voice))[2]
    assert abs(heard - spoken) < 0.2 * spoken


def _tone_seconds(pcm16: bytes, freqs: tuple[float, ...] = (440.0, 480.0)) -> float:
    """Seconds of 20 ms frames whose energy is mostly at ``freqs`` (the US ringback)."""
    import array
    import cmath
    import math

    samples = array.array("h", pcm16)
    basis = [[cmath.exp(-2j * math.pi * f * n / 8000) for n in range(160)] for f in freqs]
    toned = 0
    for start in range(0, len(samples) - 159, 160):
        frame = samples[start : start + 160]
        power = sum(x * x for x in frame) + 1e-9
        at = sum(
            abs(sum(x * w for x, w in zip(frame, b, strict=True))) ** 2 * 2 / 160 for b in basis
        )
        if at / power > 0.5 and power > 160 * 300**2:
            toned += 1
    return toned * 0.02


@pytest.mark.parametrize("style", ["ringing", "silence"])
def test_music_on_hold_while_the_agent_rings_and_hears_the_whisper(
    answer_server: Any, baresip: Any, sipp: Any, prompt_dir: Path, tmp_path: Path, style: str
) -> None:
    require("espeak-ng", "sox", "baresip", "sipp")
    _tts(prompt_dir, "Support call.")
    scenario = (Path(__file__).parent / "scenarios" / "agents.xml").read_text()
    agents = sipp(scenario, calls=1, name="agents")
    plan = tmp_path / "moh.xml"
    plan.write_text(
        f'<dialplan><transfer timeout="10" musiconhold="{style}" continue-after="true" '
        'whisper-tts="Support call.">2135550002</transfer><hangup/></dialplan>'
    )
    server = answer_server(
        f'[sip]\nprompt_cache_dir = "@PROMPTS@"\n'
        f'transfer_uri = "sip:{{number}}@{agents.hostport}"\n'
        f'[numbers."15551230011"]\ndialplan = "{plan}"\n'
    )
    peer = baresip("caller", user="15550005555")
    peer.command("dial", f"sip:15551230011@{server.hostport}")
    [call] = server.wait_finished(1, timeout=30)
    assert call.transfer is not None and call.transfer["outcome"] == "answered"
    time.sleep(0.5)
    peer.stop()
    ringback = _tone_seconds(_heard(peer))
    if style == "ringing":  # 0.3 s of ringing + the whisper, inside the first 2 s tone burst
        assert 0.8 < ringback <= 2.1
    else:
        assert ringback < 0.1
