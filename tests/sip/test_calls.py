"""End-to-end calls over real SIP/RTP on loopback against baresip and SIPp."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from dialplan import load
from dialplan.drivers.sip.driver import CallOutcome, DriverOptions, SipDriver
from dialplan.drivers.sip.tts import PromptCache
from dialplan.drivers.sip.ua import SipConfig, SipEndpoint
from dialplan.engine import effects as fx
from dialplan.engine.context import CallContext
from tools.sip_peers import Baresip

from .audio import speech_span_s, ulaw_speech_span_s, voiced_frames, wav_pcm
from .conftest import require, run, speech_wav, uas

pytestmark = pytest.mark.sip
PLANS = Path(__file__).parent / "plans"


def place(
    to: str,
    plan: str,
    cache: PromptCache,
    config: SipConfig | None = None,
    ring_timeout_s: float | None = None,
    **options: Any,
) -> CallOutcome:
    async def go() -> CallOutcome:
        opts = DriverOptions(prompt_cache=cache, **options)
        async with SipDriver(config or SipConfig(), opts) as driver:
            return await driver.place(to, load(PLANS / plan), ring_timeout_s=ring_timeout_s)

    return run(go())


def test_tts_prompt_reaches_baresip_and_its_dtmf_is_stashed(
    baresip: Any, prompt_cache: PromptCache, tmp_path: Path
) -> None:
    require("espeak-ng", "sox")
    peer: Baresip = baresip()
    seen: list[type] = []

    def on_effect(call_id: str, effect: fx.Effect) -> None:
        seen.append(type(effect))
        if isinstance(effect, fx.CollectDigits):  # the menu waits: press 7 on baresip's keypad
            asyncio.get_running_loop().run_in_executor(None, peer.command, "sndcode", "7")

    started = time.monotonic()
    outcome = place(peer.uri, "tts_then_key.xml", prompt_cache, on_effect=on_effect)
    elapsed = time.monotonic() - started
    assert outcome.result == "LA" and outcome.cause == 16
    assert outcome.call is not None and outcome.call.outcome == "hangup"
    assert outcome.call.stash == {"key": "7"}
    assert fx.CollectDigits in seen and fx.StopCollecting in seen

    # what baresip heard: both prompts, back to back, as speech of the right length
    prompts = run(_prompts(prompt_cache, outcome.call.prompts))
    expected = b"".join(prompts)
    exp_start, exp_end, exp_voiced = ulaw_speech_span_s(expected)
    assert exp_end - exp_start > 4.0  # the two prompts are several seconds of speech
    heard = [p for p in peer.recordings() if p.name.endswith("-dec.wav")]
    assert len(heard) == 1
    start, end, voiced = speech_span_s(wav_pcm(heard[0]))
    assert abs((end - start) - (exp_end - exp_start)) < 0.3
    assert abs(voiced - exp_voiced) < 0.15 * exp_voiced
    assert elapsed < len(expected) / 8000 + 3.0  # paced in real time, not slower


async def _prompts(cache: PromptCache, texts: list[str]) -> list[bytes]:
    return [await cache.tts(text) for text in texts]


def test_two_digit_menu_from_sipp_rfc4733_captures(sipp: Any, prompt_cache: PromptCache) -> None:
    require("espeak-ng", "sox", "sipp", root=True)
    peer = sipp(uas(digits="42", first_digit_ms=400))
    outcome = place(peer.uri(), "two_digit_menu.xml", prompt_cache)
    assert outcome.call is not None
    assert outcome.call.stash == {"code": "42"}
    effects = [type(e) for e in outcome.call.effects]
    # the first key arrived during the prompt: barge-in stopped it
    assert effects.index(fx.StopPlayback) < effects.index(fx.StashResponse)
    assert peer.wait(10) == 0  # SIPp saw the whole scenario, BYE included


@pytest.mark.parametrize(
    ("status", "reason", "result", "cause"),
    [
        (486, "Busy Here", "BUSY", 17),
        (404, "Not Found", "INVALID", 1),
        (480, "Temporarily Unavailable", "NO_ANS", 19),
        (603, "Decline", "REJECTED", 21),
        (503, "Service Unavailable", "CARRIER_ERROR", 34),
    ],
)
def test_failure_responses(
    sipp: Any, prompt_cache: PromptCache, status: int, reason: str, result: str, cause: int
) -> None:
    peer = sipp(uas(status=status, reason=reason, ring_ms=100))
    outcome = place(peer.uri(), "one_key.xml", prompt_cache)
    assert (outcome.result, outcome.cause, outcome.sip_status) == (result, cause, status)
    assert outcome.call is None
    assert peer.wait(10) == 0  # SIPp got its ACK


def test_no_answer_is_cancelled_after_the_ring_timeout(
    sipp: Any, prompt_cache: PromptCache
) -> None:
    peer = sipp(uas(status=0))
    started = time.monotonic()
    outcome = place(peer.uri(), "one_key.xml", prompt_cache, ring_timeout_s=1.0)
    assert 0.9 < time.monotonic() - started < 3.0
    assert (outcome.result, outcome.cause) == ("NO_ANS", 19)
    assert peer.wait(10) == 0  # CANCEL → 200, 487 → ACK: SIPp finished its scenario


def test_unknown_user_on_baresip_is_invalid(baresip: Any, prompt_cache: PromptCache) -> None:
    peer = baresip()
    outcome = place(f"sip:nobody@127.0.0.1:{peer.port}", "one_key.xml", prompt_cache)
    assert (outcome.result, outcome.cause, outcome.sip_status) == ("INVALID", 1, 404)


def test_refer_transfer_to_a_second_baresip(baresip: Any, prompt_cache: PromptCache) -> None:
    require("espeak-ng", "sox")
    target = baresip("target", user="5551234567")
    first = baresip("first")
    config = SipConfig(transfer_uri=f"sip:{{number}}@127.0.0.1:{target.port}")
    outcome = place(first.uri, "transfer.xml", prompt_cache, config=config)
    assert outcome.call is not None
    assert outcome.result == "XFER" and outcome.call.outcome == "transfer"
    assert outcome.call.transfer is not None and outcome.call.transfer["outcome"] == "answered"
    assert "after" not in outcome.call.stash
    # the transferee (the first baresip) called the target and the target answered it
    established = f"Call established: sip:ivrpeer@127.0.0.1:{first.port}"
    deadline = time.monotonic() + 5
    while established not in target.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert established in target.log_text()


def test_amd_tells_hello_from_a_voicemail_greeting(
    baresip: Any, prompt_cache: PromptCache, tmp_path: Path
) -> None:
    hello = speech_wav(tmp_path / "hello.wav", "Hello?", pad_s=6.0, lead_s=0.3)
    voicemail = speech_wav(
        tmp_path / "voicemail.wav",
        "Hi, you have reached the voicemail of John Smith. I cannot take your call right now. "
        "Please leave your name, number and a short message after the tone, and I will call you back.",
        pad_s=3.0,
        lead_s=0.3,
    )
    human = baresip("human", greeting=hello)
    machine = baresip("machine", greeting=voicemail)

    async def both() -> list[CallOutcome]:
        async with SipDriver(SipConfig(), DriverOptions(prompt_cache=prompt_cache)) as driver:
            plan = load(PLANS / "amd.xml")
            return list(
                await asyncio.gather(driver.place(human.uri, plan), driver.place(machine.uri, plan))
            )

    live, am = run(both())
    assert (live.result, live.answered_by, live.amd_cause) == ("LA", "live", "HUMAN")
    assert live.call is not None and live.call.stash == {"who": "live"}
    assert (am.result, am.answered_by) == ("AM", "machine")
    assert am.amd_cause in ("LONGGREETING", "MAXWORDS")
    assert am.call is not None and am.call.stash == {"who": "machine"}


def test_caller_hangup_mid_prompt_fires_the_hangup_catch(
    sipp: Any, prompt_cache: PromptCache
) -> None:
    require("espeak-ng", "sox")
    peer = sipp(uas(hold_ms=1500))
    started = time.monotonic()
    outcome = place(peer.uri(), "hangup_catch.xml", prompt_cache)
    assert time.monotonic() - started < 4.0  # the 9 s prompt did not play out
    assert outcome.call is not None
    assert outcome.call.outcome == "caller_hangup"
    assert outcome.call.stash == {"hungup": "yes"}
    assert fx.Hangup not in [type(e) for e in outcome.call.effects]  # no BYE of our own
    assert peer.wait(10) == 0


def test_record_saves_the_callers_speech(
    baresip: Any, prompt_cache: PromptCache, tmp_path: Path
) -> None:
    greeting = speech_wav(
        tmp_path / "speech.wav",
        "I would like to leave a message about my order, please call me back.",
        pad_s=8.0,
        lead_s=0.5,
    )
    peer = baresip(greeting=greeting)
    outcome = place(peer.uri, "record.xml", prompt_cache, recordings_dir=tmp_path / "rec")
    assert outcome.call is not None
    url = outcome.call.stash["recording"]
    assert url.startswith("file://") and url.endswith("/voicemail.wav")
    path = Path(url.removeprefix("file://"))
    pcm = wav_pcm(path)
    seconds = len(pcm) / 16000
    assert 3.5 < seconds < 4.5  # the record timeout
    assert sum(voiced_frames(pcm)) * 0.02 > 1.5  # it holds the caller's speech
    assert outcome.recordings == [url]


def test_digest_authentication(sipp: Any, prompt_cache: PromptCache) -> None:
    scenario = (Path(__file__).parent / "scenarios" / "uas_auth.xml").read_text()
    good = sipp(scenario, name="good")
    cfg = SipConfig(username="alice", password="secret")
    assert (
        place(good.uri(), "one_key.xml", prompt_cache, config=cfg).result == "BUSY"
    )  # auth passed
    bad = sipp(scenario, name="bad")
    cfg = SipConfig(username="alice", password="wrong")
    assert place(bad.uri(), "one_key.xml", prompt_cache, config=cfg).sip_status == 403


def test_options_ping(baresip: Any) -> None:
    peer = baresip()

    async def ping() -> int:
        ep = await SipEndpoint.create(SipConfig())
        try:
            return (await ep.options(peer.uri)).status
        finally:
            ep.close()

    assert run(ping()) == 200


def test_two_hundred_calls_against_sipp(sipp: Any, prompt_cache: PromptCache) -> None:
    require("espeak-ng", "sox", "sipp", root=True)
    peer = sipp(uas(digits="1", first_digit_ms=300), calls=200, timeout_s=120)

    async def campaign() -> list[CallOutcome]:
        gate = asyncio.Semaphore(100)
        plan = load(PLANS / "one_key.xml")
        async with SipDriver(SipConfig(), DriverOptions(prompt_cache=prompt_cache)) as driver:

            async def one(i: int) -> CallOutcome:
                async with gate:
                    ctx = CallContext(call_id=f"r{i}")
                    return await driver.place(peer.uri(f"1555000{i:04d}"), plan, ctx)

            return list(await asyncio.gather(*(one(i) for i in range(200))))

    outcomes = run(campaign(), timeout=90)
    assert len(outcomes) == 200
    assert all(o.result == "LA" for o in outcomes)
    assert [o.call.stash if o.call else None for o in outcomes] == [{"answer": "1"}] * 200
