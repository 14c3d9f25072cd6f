"""``dialplan broadcast run --driver sip``: a 200-recipient campaign over real SIP (SIPp UAS)."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dialplan.broadcast.campaign import load_campaign
from dialplan.cli import cli
from dialplan.errors import CampaignError

from .conftest import require, uas

pytestmark = pytest.mark.sip
PLANS = Path(__file__).parent / "plans"
RESPONSE = [{"question": "answer", "response": "1"}]  # the stash of one_key.xml


def write_campaign(tmp: Path, hostport: str, count: int, extra: str = "") -> Path:
    numbers = [f"+1212555{i:04d}" for i in range(count)]
    with (tmp / "recipients.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["phone_number", "first"])
        writer.writerows([n, f"R{i}"] for i, n in enumerate(numbers))
    (tmp / "plan.xml").write_text((PLANS / "one_key.xml").read_text())
    path = tmp / "campaign.toml"
    path.write_text(
        "\n".join(
            [
                'name = "sip-campaign"',
                'dialplan = "plan.xml"',
                'recipients = "recipients.csv"',
                'from_number = "+12125550100"',
                'answering_machine_config = "LIVE_IMMEDIATE"',
                "max_active = 100",
                "calls_per_second = 200",
                "[sip]",
                f'proxy = "{hostport}"',
                'recordings_dir = "recordings"',
                extra,
            ]
        )
        + "\n"
    )
    return path


def test_campaign_of_200_over_sip(
    sipp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require("espeak-ng", "sox", "sipp", root=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    peer = sipp(uas(digits="1", first_digit_ms=300), calls=200, timeout_s=120)
    path = write_campaign(tmp_path, peer.hostport, 200)
    db = tmp_path / "b.sqlite"
    runner = CliRunner()
    started = time.monotonic()
    args = ["broadcast", "run", str(path), "--driver", "sip", "--db", str(db)]
    args += ["--format", "json", "--no-progress", "--report", str(tmp_path / "report.html")]
    ran = runner.invoke(cli, args)
    assert ran.exit_code == 0, ran.output
    assert time.monotonic() - started < 60
    stats = json.loads(ran.output)["stats"]
    assert stats["respondedCount"] == 200
    exported = runner.invoke(cli, ["broadcast", "export", "sip-campaign", "--db", str(db)])
    assert exported.exit_code == 0, exported.output
    rows = json.loads(exported.output)
    assert len(rows) == 200
    assert {r["final_result"] for r in rows} == {"LA"}
    assert [r["responses"] for r in rows] == [RESPONSE] * 200, rows[0]["responses"]
    assert all(len(r["attempts"]) == 1 and r["attempts"][0]["q850_cause"] == 16 for r in rows)
    assert {r["attempts"][0]["answered_by"] for r in rows} == {None}  # LIVE_IMMEDIATE: no AMD
    assert len({r["attempts"][0]["voice_id"] for r in rows}) == 200
    assert peer.wait(10) == 0  # SIPp saw 200 complete calls


def test_sip_table_is_validated(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, "127.0.0.1:5060", 1, extra="ring_timeout = 5")
    with pytest.raises(CampaignError, match="sip"):
        load_campaign(path)
    path = write_campaign(tmp_path, "127.0.0.1:5060", 1)
    assert load_campaign(path).sip["proxy"] == "127.0.0.1:5060"
