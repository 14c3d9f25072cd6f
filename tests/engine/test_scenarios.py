"""The scenario file reader and the expectation checker (``dialplan.calltest``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialplan.calltest.scenarios import check, read_scenario, scenario_from_dict
from dialplan.drivers.simulate import simulate
from dialplan.errors import UsageError
from tests.engine.util import plan_of

PLAN = """<dialplan><menu maxDigits="1"><play type="tts">Pick one</play>
  <keypress pressed="1"><stash varname="q">one</stash><sms to="2135550100">hi</sms>
  <dnc>2135550100</dnc><transfer>2135551212</transfer></keypress></menu>
  <play type="tts">Bye</play></dialplan>"""


def test_defaults_merge_and_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(
        'dialplan = "p.xml"\n[defaults]\namd = "machine"\n'
        '[[case]]\nname = "a"\n[[case]]\namd = "live"\ninputs = ["1"]\n'
    )
    scenario = read_scenario(tmp_path / "s.toml")
    assert scenario.dialplan == str(tmp_path / "p.xml")
    assert [c.options for c in scenario.cases] == [
        {"amd": "machine"},
        {"amd": "live", "inputs": ["1"]},
    ]
    assert [c.name for c in scenario.cases] == ["a", "case 2"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"case": [{}]}, "'dialplan'"),
        ({"dialplan": "p.xml"}, "no [[case]]"),
        ({"dialplan": "p.xml", "case": [{"inputs": "1", "expect": {"prompt": []}}]}, "prompt"),
        ({"dialplan": "p.xml", "case": [{"contact": "Ann"}]}, "contact must be a table"),
        ({"dialplan": "p.xml", "case": [{"inputs": [1.5]}]}, "inputs must be a list"),
        ({"dialplan": "p.xml", "case": [{"expect": {"transfer": "yes"}}]}, "expect.transfer"),
        ({"dialplan": "p.xml", "extra": 1, "case": [{}]}, "unknown key(s) extra"),
    ],
)
def test_bad_scenarios_are_usage_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as info:
        scenario_from_dict(data, "s.toml")
    assert message in str(info.value)


def test_every_expectation_can_fail() -> None:
    result = simulate(plan_of(PLAN), inputs=["1"])
    assert (
        check(
            result,
            {
                "outcome": "transfer",
                "error": "none",
                "prompts": ["Pick"],
                "prompts_include": ["Pick one"],
                "prompts_exclude": ["Bye"],
                "responses": {"q": "one"},
                "variables": {},
                "transfer": {"numbers": ["2135551212"], "outcome": "answered"},
                "sms": [{"to": "2135550100", "text": "hi"}],
                "dnc": ["2135550100"],
                "max_steps": 20,
            },
        )
        == []
    )
    failures = check(
        result,
        {
            "outcome": "hangup",
            "error": "limit",
            "prompts": ["Pick", "Bye"],
            "prompts_include": ["Bye"],
            "prompts_exclude": ["Pick"],
            "responses": [{"question": "q", "response": "two"}],
            "variables": {"q": "one"},
            "transfer": "none",
            "sms": [],
            "dnc": [],
            "max_steps": 1,
        },
    )
    assert [f.split(":")[0] for f in failures] == [
        "outcome", "error", "prompts", "prompts_include", "prompts_exclude", "responses",
        "variables.q", "transfer", "sms", "dnc", "steps",
    ]  # fmt: skip


def test_prompts_include_respects_order() -> None:
    result = simulate(plan_of(PLAN), inputs=["2"])
    assert result.prompts == ["Pick one", "Bye"]
    assert check(result, {"prompts_include": ["Pick", "Bye"]}) == []
    assert check(result, {"prompts_include": ["Bye", "Pick"]}) != []
