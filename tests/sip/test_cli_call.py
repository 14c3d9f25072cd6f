"""``dialplan call``: one real call from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dialplan.cli import cli

from .conftest import require, uas

pytestmark = pytest.mark.sip
PLANS = Path(__file__).parent / "plans"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_call_json_prints_the_simulate_result_with_sip_details(sipp: Any) -> None:
    require("espeak-ng", "sox", "sipp", root=True)
    peer = sipp(uas(digits="42", first_digit_ms=400))
    result = CliRunner().invoke(
        cli,
        [
            "call",
            str(PLANS / "two_digit_menu.xml"),
            "--to",
            peer.uri(),
            "--from",
            "15555550100",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["outcome"] == "hangup" and data["answered_by"] == "live"
    assert data["responses"] == [{"question": "code", "response": "42"}]
    assert data["prompts"] == ["Please enter your two digit code.", "Thank you."]
    assert data["sip"]["result"] == "LA" and data["sip"]["cause"] == 16
    assert {"effects", "decisions", "variables", "steps"} <= set(data)


def test_call_text_for_a_busy_callee(sipp: Any) -> None:
    peer = sipp(uas(status=486, reason="Busy Here"))
    result = CliRunner().invoke(cli, ["call", str(PLANS / "one_key.xml"), "--to", peer.uri()])
    assert result.exit_code == 1
    assert "BUSY (Q.850 cause 17, SIP 486)" in result.output
    assert "ended: Busy Here" in result.output
    assert "outcome: not_answered" in result.output


def test_call_number_needs_a_trunk() -> None:
    result = CliRunner().invoke(cli, ["call", str(PLANS / "one_key.xml"), "--to", "15551234567"])
    assert result.exit_code == 2
    assert "no trunk" in result.output


def test_call_number_goes_to_the_trunk(sipp: Any, tmp_path: Path) -> None:
    peer = sipp(uas(status=404, reason="Not Found"))
    conf = tmp_path / "campaign.toml"
    conf.write_text(f'[sip]\nproxy = "{peer.hostport}"\nfrom_user = "15555550100"\n')
    result = CliRunner().invoke(
        cli,
        [
            "call",
            str(PLANS / "one_key.xml"),
            "--to",
            "15551234567",
            "--sip-config",
            str(conf),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["sip"]["result"] == "INVALID" and data["sip"]["to"] == "15551234567"
