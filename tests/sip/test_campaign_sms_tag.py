"""``<sms>`` in a dialplan on real calls: sent through the campaign's SMSC (the messaging port)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from dialplan.cli import cli
from tools.smsc_peer import LoopbackSmsc

from .conftest import require, uas
from .test_campaign_sip import write_campaign

pytestmark = pytest.mark.sip
PLAN = """<dialplan name="Root">
  <sms name="thanks" to="${call.phonenumber}">Thanks ${contact.first}, see you at 10€.</sms>
  <hangup/>
</dialplan>
"""


def test_sms_tag_on_sip_calls_goes_through_the_smsc(
    sipp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require("sipp", root=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    peer = sipp(uas(), calls=3, timeout_s=60)
    with LoopbackSmsc() as smsc:
        extra = f'[smpp]\nport = {smsc.relay_port}\nsystem_id = "esme"\nreceipt_wait_s = 1.0\n'
        path = write_campaign(tmp_path, peer.hostport, 3, "")
        (tmp_path / "plan.xml").write_text(PLAN)
        path.write_text(path.read_text().replace("[sip]", extra + "[sip]"))
        db = tmp_path / "b.sqlite"
        ran = CliRunner().invoke(
            cli,
            ["broadcast", "run", str(path), "--driver", "sip", "--db", str(db), "--no-progress",
             "--report", str(tmp_path / "r.html")],
        )  # fmt: skip
        assert ran.exit_code == 0, ran.output
        got = {s.dest: smsc.text_of([s]) for s in smsc.segs}
    assert got == {f"1212555{i:04d}": f"Thanks R{i}, see you at 10€." for i in range(3)}
    assert {s.source for s in smsc.segs} == {"12125550100"}


def test_sms_tag_without_an_smsc_is_refused_before_dialling(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, "127.0.0.1:5099", 1)
    (tmp_path / "plan.xml").write_text(PLAN)
    ran = CliRunner().invoke(cli, ["broadcast", "run", str(path), "--driver", "sip",
                                   "--db", str(tmp_path / "b.sqlite"), "--no-progress"])  # fmt: skip
    assert ran.exit_code == 2
    assert "cannot carry out SendSms" in ran.output
