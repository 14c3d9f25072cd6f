"""One telephony port, two drivers: the same scripted calls through the simulated driver and
through the SIP driver (against a SIPp UAS on loopback) end the same way — result, Q.850 cause,
AMD verdict and the answers the dialplan stashed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dialplan import load
from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.telephony.engine import EngineRunner
from dialplan.broadcast.telephony.port import AttemptOutcome, CallRequest, run_now
from dialplan.broadcast.telephony.simulated import SimulatedDriver
from dialplan.broadcast.telephony.sip import SipCampaignDriver
from dialplan.cli import cli

from .conftest import require, uas
from .test_campaign_sip import write_campaign

pytestmark = pytest.mark.sip

#: (name, SIPp UAS scenario options, the same call scripted for the simulated driver)
CALLS = [
    ("answers and presses 1", {"digits": "1", "first_digit_ms": 300}, ("LA", ("1",))),
    ("answers and presses 2", {"digits": "2", "first_digit_ms": 300}, ("LA", ("2",))),
    ("busy", {"status": 486, "reason": "Busy Here"}, ("BUSY", None)),
    ("no answer", {"status": 480, "reason": "Temporarily Unavailable"}, ("NO_ANS", None)),
]


def _comparable(out: AttemptOutcome) -> tuple[Any, ...]:
    return (out.result, out.q850_cause, out.answered_by, out.responses)


@pytest.mark.parametrize(("name", "scenario", "script"), CALLS, ids=[c[0] for c in CALLS])
def test_same_call_same_outcome_on_both_drivers(
    sipp: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    scenario: dict[str, Any],
    script: tuple[str, tuple[str, ...] | None],
) -> None:
    require("espeak-ng", "sox", "sipp", root=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    peer = sipp(uas(**scenario), calls=1, timeout_s=60)
    campaign = load_campaign(write_campaign(tmp_path, peer.hostport, 1))
    plan = load(campaign.dialplan)
    sim_result, sim_inputs = script
    request = CallRequest(1, 1, "+12125550000", campaign.from_number, {"first": "R0"})
    scripted = CallRequest(
        1, 1, "+12125550000", campaign.from_number, {"first": "R0"}, sim_result, sim_inputs
    )

    simulated = SimulatedDriver(campaign, EngineRunner(plan))
    expected = run_now(simulated.dial(scripted, 0.0))

    async def over_sip() -> AttemptOutcome:
        driver = SipCampaignDriver(campaign, plan)
        await driver.open()
        try:
            return await asyncio.wait_for(driver.dial(request, 0.0), 60)
        finally:
            await driver.close()

    got = asyncio.run(over_sip())
    assert _comparable(got) == _comparable(expected), name
    peer.wait(10)


def test_a_driver_that_cannot_send_sms_refuses_the_campaign_before_dialling(
    tmp_path: Path,
) -> None:
    path = write_campaign(tmp_path, "127.0.0.1:9", 3)
    (tmp_path / "plan.xml").write_text(
        '<dialplan name="Root"><sms to="${call.phonenumber}">Thanks</sms><hangup/></dialplan>\n'
    )
    db = tmp_path / "b.sqlite"
    ran = CliRunner().invoke(
        cli, ["broadcast", "run", str(path), "--driver", "sip", "--db", str(db), "--no-progress"]
    )
    assert ran.exit_code == 2, ran.output
    (line,) = ran.output.strip().splitlines()
    assert "sip driver cannot carry out SendSms" in line and str(path) in line
    assert not db.exists()  # refused before anything was stored or dialled
