"""``dialplan simulate``: warnings about unused inputs and missing contact fields, ``--dnis``
and ``--var`` for call values (issue 13 item 16)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clirun import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CHARITY = str(EXAMPLES / "charity-drive.xml")


@pytest.fixture
def call_values_plan(tmp_path: Path) -> str:
    plan = tmp_path / "plan.xml"
    plan.write_text(
        '<dialplan name="x"><play type="tts">dnis ${call.dnis} cid ${call.callerid} '
        "to ${call.phonenumber} col ${contact.B} v ${v}</play><hangup/></dialplan>",
        encoding="utf-8",
    )
    return str(plan)


def test_unused_inputs_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "simulate", CHARITY, "--input", "2", "--input", "5",
                       "--input", "7", "--contact", "firstName=Ana")  # fmt: skip
    assert code == 0
    assert err == (
        "dialplan: warning: 2 --input values were not used (the call waited for input 1 time):"
        " 5 7\n"
    )


def test_json_has_a_warnings_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "simulate", CHARITY, "--input", "9", "--input", "1",
                         "--format", "json")  # fmt: skip
    assert code == 0
    warnings = json.loads(out)["warnings"]
    assert warnings == [
        "1 --input value was not used (the call waited for input 1 time): 1",
        "${contact.firstName} is used by the plan but not given (it expands to an empty "
        "string): add --contact firstName=…",
    ]
    assert err.splitlines() == [f"dialplan: warning: {w}" for w in warnings]


def test_no_warnings_when_everything_is_used(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "simulate", CHARITY, "--input", "2",
                         "--contact", "firstName=Ana", "--format", "json")  # fmt: skip
    assert code == 0 and err == ""
    assert json.loads(out)["warnings"] == []


def test_empty_contact_field_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "simulate", CHARITY, "--amd", "machine",
                       "--contact", "firstName=  ")  # fmt: skip
    assert code == 0
    assert "${contact.firstName} is used by the plan but given empty" in err


def test_dnis_and_call_values(capsys: pytest.CaptureFixture[str], call_values_plan: str) -> None:
    code, out, err = run(capsys, "simulate", call_values_plan, "--dnis", "18005550199",
                         "--callerid", "12125550100", "--contact", "b=bee", "--var", "v=1",
                         "--format", "json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["prompts"] == [
        "dnis 18005550199 cid 12125550100 to 15555550123 col bee v 1"
    ]


def test_var_sets_call_and_contact_values(
    capsys: pytest.CaptureFixture[str], call_values_plan: str
) -> None:
    code, out, err = run(capsys, "simulate", call_values_plan, "--var", "call.dnis=18005550199",
                         "--var", "call.phonenumber=13125550100", "--var", "contact.B=bee",
                         "--var", "v=1", "--format", "json")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["prompts"] == ["dnis 18005550199 cid 15555550100 to 13125550100 col bee v 1"]
    assert data["variables"] == {"v": "1"}
    assert data["warnings"] == []


def test_var_cannot_set_other_system_values(
    capsys: pytest.CaptureFixture[str], call_values_plan: str
) -> None:
    code, out, err = run(capsys, "simulate", call_values_plan, "--var", "global.date=x")
    assert code == 2 and out == ""
    assert err.startswith("dialplan: error: --var global.date: only user variables")


def test_call_test_cases_take_dnis(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    plan = tmp_path / "plan.xml"
    plan.write_text(
        '<dialplan name="x"><play type="tts">dialled ${call.dnis}</play><hangup/></dialplan>',
        encoding="utf-8",
    )
    (tmp_path / "t.calltest.toml").write_text(
        'dialplan = "plan.xml"\n[[case]]\nname = "dnis"\ndnis = "18005550199"\n'
        '[case.expect]\nprompts = ["dialled 18005550199"]\n',
        encoding="utf-8",
    )
    code, out, err = run(capsys, "test", str(tmp_path))
    assert code == 0, out + err
    assert "1 passed, 0 failed" in out
