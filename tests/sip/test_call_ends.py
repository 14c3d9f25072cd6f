"""Every call ends: misbehaving SIPp peers on loopback against `dialplan call` and a broadcast.

Each test runs the real command in a child process with a deadline, so a call that never ends
fails the test (the child is killed) instead of hanging the suite. The bound every call must
keep is ring timeout + maximum call duration + 64·T1; the tests use T1 = 50 ms (64·T1 = 3.2 s).
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dialplan import load
from dialplan.drivers.sip import driver as sip_driver
from dialplan.drivers.sip.config import from_mapping
from dialplan.drivers.sip.ua import SipConfig, SipEndpoint
from dialplan.errors import UsageError

from .conftest import require, run, uas

pytestmark = pytest.mark.sip
ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
PLANS = HERE / "plans"
SCENARIOS = HERE / "scenarios"
T1 = 0.05
TIMER_64T1 = 64 * T1
#: time for a child Python to start and import the package on a busy 2-core machine
STARTUP_S = 5.0


def sip_config(tmp_path: Path, **values: Any) -> Path:
    """A TOML file with a ``[sip]`` table (T1 = 50 ms unless given)."""
    values = {"t1_s": T1, **values}
    conf = tmp_path / "sip.toml"
    lines = ["[sip]", *(f"{key} = {json.dumps(value)}" for key, value in values.items())]
    conf.write_text("\n".join(lines) + "\n")
    return conf


def dialplan(args: list[str], tmp_path: Path, deadline_s: float) -> tuple[int, str, float]:
    """Run ``python -m dialplan ARGS`` from this tree; fail the test if it outlives the deadline."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "dialplan", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=deadline_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`dialplan {' '.join(args[:2])}` did not end within {deadline_s:g} s: {exc}")
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout, time.monotonic() - started


def call(
    plan: str, uri: str, conf: Path, tmp_path: Path, deadline_s: float
) -> tuple[int, Any, float]:
    args = ["call", str(PLANS / plan), "--to", uri, "--sip-config", str(conf), "--format", "json"]
    code, out, elapsed = dialplan(args, tmp_path, deadline_s)
    return code, json.loads(out), elapsed


@pytest.mark.parametrize(
    ("scenario", "why"),
    [("uas_answer_no_sdp.xml", "200 OK without SDP"), ("uas_answer_pcma_only.xml", "PCMU")],
)
def test_an_answer_without_usable_media_is_acked_hung_up_and_reported(
    sipp: Any, tmp_path: Path, scenario: str, why: str
) -> None:
    peer = sipp((SCENARIOS / scenario).read_text())
    conf = sip_config(tmp_path)
    code, data, _ = call("one_key.xml", peer.uri(), conf, tmp_path, deadline_s=20 + STARTUP_S)
    assert code == 1  # the dialplan never ran
    sip = data["sip"]
    assert (sip["result"], sip["cause"], sip["sip_status"]) == ("CARRIER_ERROR", 65, 200)
    assert "media negotiation failed" in sip["reason"] and why in sip["reason"]
    assert data["outcome"] == "not_answered"
    assert peer.wait(5) == 0  # SIPp got the ACK and then the BYE, and its call completed


def test_a_cancel_answered_without_487_gives_up_after_64_t1(sipp: Any, tmp_path: Path) -> None:
    peer = sipp((SCENARIOS / "uas_cancel_without_487.xml").read_text())
    conf = sip_config(tmp_path, ring_timeout_s=1)
    bound = 1 + TIMER_64T1
    code, data, elapsed = call("one_key.xml", peer.uri(), conf, tmp_path, bound + 10 + STARTUP_S)
    assert code == 1
    sip = data["sip"]
    assert (sip["result"], sip["cause"], sip["sip_status"]) == ("NO_ANS", 19, 408)
    assert "CANCEL" in sip["reason"] and "487" in sip["reason"] and "64·T1" in sip["reason"]
    assert bound <= elapsed < bound + STARTUP_S


def test_no_response_at_all_is_timer_b_408_not_a_cancelled_487(sipp: Any, tmp_path: Path) -> None:
    peer = sipp((SCENARIOS / "uas_no_response.xml").read_text())
    # the ring timeout passes first; with no provisional response there is nothing to CANCEL
    conf = sip_config(tmp_path, ring_timeout_s=1)
    code, data, elapsed = call("one_key.xml", peer.uri(), conf, tmp_path, 20 + STARTUP_S)
    assert code == 1
    sip = data["sip"]
    assert (sip["result"], sip["cause"], sip["sip_status"]) == ("NO_ANS", 19, 408)
    assert "Timer B" in sip["reason"] and "no response" in sip["reason"]
    assert TIMER_64T1 <= elapsed < TIMER_64T1 + STARTUP_S
    assert peer.wait(10) == 0  # SIPp saw no CANCEL (RFC 3261 §9.1: none before a provisional)


def test_no_rtp_hangs_up_and_reports_the_hang_up_once(sipp: Any, tmp_path: Path) -> None:
    require("sipp")
    peer = sipp(uas())  # answers with SDP, then sends no RTP and waits for our BYE
    conf = sip_config(tmp_path, rtp_timeout_s=1)
    code, data, elapsed = call("wait_hangup_catch.xml", peer.uri(), conf, tmp_path, 15 + STARTUP_S)
    assert code == 0
    # the engine heard the hang-up: its hangup catch ran, the 60 s <wait> did not finish
    assert data["outcome"] == "caller_hangup"
    assert data["responses"] == [{"question": "line", "response": "lost"}]
    sip = data["sip"]
    assert sip["result"] == "LA" and sip["ended_by"] == "rtp-timeout"
    assert "no RTP" in sip["reason"]
    assert elapsed < 1 + 2 + STARTUP_S
    assert peer.wait(5) == 0  # SIPp got our BYE


def test_a_call_ends_at_the_maximum_call_duration(sipp: Any, tmp_path: Path) -> None:
    require("sipp")
    peer = sipp(uas())
    conf = sip_config(tmp_path, max_duration_s=2)
    code, data, elapsed = call("wait_hangup_catch.xml", peer.uri(), conf, tmp_path, 15 + STARTUP_S)
    assert code == 0
    assert data["outcome"] == "error" and "maximum duration of 2 s" in data["error"]
    assert data["sip"]["ended_by"] == "max-duration"
    assert elapsed < 2 + 1 + STARTUP_S
    assert peer.wait(5) == 0  # hung up with a BYE


@pytest.mark.parametrize(
    ("scenario", "result", "cause"),
    [("uas_cancel_without_487.xml", "NO_ANS", 19), ("uas_answer_no_sdp.xml", "CARRIER_ERROR", 65)],
)
def test_a_broadcast_against_a_misbehaving_peer_finishes_and_frees_its_slots(
    sipp: Any, tmp_path: Path, scenario: str, result: str, cause: int
) -> None:
    """Six recipients, two slots: every call ends within ring timeout + 64·T1 and frees its
    slot, so the run ends and every recipient has its one attempt."""
    count, slots, ring = 6, 2, 0.5
    peer = sipp((SCENARIOS / scenario).read_text(), calls=count)
    with (tmp_path / "recipients.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["phone_number"])
        writer.writerows([f"+1212555{i:04d}"] for i in range(count))
    (tmp_path / "plan.xml").write_text((PLANS / "one_key.xml").read_text())
    path = tmp_path / "campaign.toml"
    path.write_text(
        "\n".join(
            [
                'name = "misbehaving-peer"',
                'dialplan = "plan.xml"',
                'recipients = "recipients.csv"',
                'from_number = "+12125550100"',
                'answering_machine_config = "LIVE_IMMEDIATE"',
                f"max_active = {slots}",
                "calls_per_second = 50",
                "[sip]",
                f'proxy = "{peer.hostport}"',
                f"ring_timeout_s = {ring}",
                f"t1_s = {T1}",
            ]
        )
        + "\n"
    )
    db = str(tmp_path / "b.sqlite")
    waves = count // slots
    bound = waves * (ring + TIMER_64T1)
    args = ["broadcast", "run", str(path), "--driver", "sip", "--db", db, "--no-progress"]
    code, out, elapsed = dialplan(args, tmp_path, bound + 20 + STARTUP_S)
    assert code == 0, out
    assert elapsed < bound + 3 + STARTUP_S
    code, out, _ = dialplan(["broadcast", "export", "misbehaving-peer", "--db", db], tmp_path, 30)
    rows = json.loads(out)
    assert len(rows) == count
    assert {r["final_result"] for r in rows} == {result}
    assert all(len(r["attempts"]) == 1 and r["attempts"][0]["q850_cause"] == cause for r in rows)
    assert peer.wait(10) == 0  # SIPp saw all six calls through (ACK and BYE where answered)


def test_a_2xx_after_giving_up_is_acked_and_hung_up(sipp: Any) -> None:
    """RFC 3261 §13.2.2.4: a 2xx that arrives after the caller gave up (here 1.3 s after ring
    timeout + 64·T1) is ACKed and the session ended with BYE, so the callee is not left on."""
    peer = sipp((SCENARIOS / "uas_late_200_after_cancel.xml").read_text())

    async def scenario() -> None:
        ep = await SipEndpoint.create(SipConfig(t1=T1))
        try:
            call = ep.call(peer.uri())
            assert await call.invite(1) is False
            assert call.failure is not None and call.failure.status == 408
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, peer.wait, 15) == 0  # got ACK, then BYE
        finally:
            ep.close()

    run(scenario(), timeout=30)


def test_a_call_past_its_bound_is_hung_up_and_abandoned(
    sipp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: a dialplan run that ignores every deadline (standing in for a defect
    nobody has found yet) is cut off at the bound + grace, hung up and reported, so a
    campaign's slot is never held for ever."""
    peer = sipp(uas())

    async def stuck(self: Any) -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(sip_driver.CallRun, "run", stuck)
    config = SipConfig(t1=T1, ring_timeout_s=1, max_duration_s=1)
    bound = config.end_bound_s() + sip_driver.END_GRACE_S

    async def go() -> tuple[sip_driver.CallOutcome, float]:
        async with sip_driver.SipDriver(config) as driver:
            started = time.monotonic()
            outcome = await driver.place(peer.uri(), load(PLANS / "one_key.xml"))
            return outcome, time.monotonic() - started

    outcome, elapsed = run(go(), timeout=bound + 10)
    assert (outcome.result, outcome.cause, outcome.ended_by) == ("CARRIER_ERROR", 41, "abandoned")
    assert "did not end within" in outcome.reason
    assert bound <= elapsed < bound + 1.5
    assert peer.wait(5) == 0  # the call was hung up with a BYE


def test_the_end_of_call_timers_are_read_from_the_sip_table() -> None:
    cfg, _ = from_mapping({"t1_s": 0.1, "max_duration_s": 60, "ring_timeout_s": 20})
    assert (cfg.t1, cfg.max_duration_s, cfg.ring_timeout_s) == (0.1, 60.0, 20.0)
    assert cfg.end_bound_s() == pytest.approx(20 + 60 + 6.4)
    assert SipConfig().end_bound_s() == 30 + 4 * 3600 + 32  # the defaults
    for bad in ({"t1_s": 0}, {"max_duration_s": -1}, {"max_duration_s": 14401}, {"t1_s": "x"}):
        with pytest.raises(UsageError, match=f"\\[sip\\] {next(iter(bad))}"):
            from_mapping(bad)
