"""The reminder scenario (YAML) and the equivalent XML dialplan give the same call leg."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dialplan
from dialplan.engine import effects as fx
from dialplan.engine.result import CallResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
YAML = EXAMPLES / "appointment-reminder.yaml"
XML = EXAMPLES / "appointment-reminder.xml"

CASES = {
    "confirm": {"inputs": ["1"]},
    "cancel": {"inputs": ["2"]},
    "silence": {"inputs": ["timeout", "timeout", "timeout"]},
    "wrong key then confirm": {"inputs": ["7", "1"]},
    "answering machine": {"amd": "machine"},
}


def leg(result: CallResult) -> list[tuple[str, str]]:
    """What happens on the line: what the caller hears and presses, and the hang-up."""
    out = []
    for entry in result.trace:
        if entry.actor in ("call", "caller") or entry.text.startswith(("says", "hangs up")):
            out.append((entry.actor, entry.text))
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_yaml_and_xml_give_the_same_call_leg(case: str) -> None:
    options = CASES[case]
    from_yaml = dialplan.simulate(YAML, trace=True, **options)
    from_xml = dialplan.simulate(XML, trace=True, **options)
    assert leg(from_yaml) == leg(from_xml)
    assert from_yaml.prompts == from_xml.prompts
    assert from_yaml.outcome == from_xml.outcome == "hangup"
    assert from_yaml.variables["result"] == from_xml.variables["result"]


def test_silence_retries_three_times_then_hangs_up() -> None:
    result = dialplan.simulate(YAML, inputs=["timeout"] * 5)
    assert result.prompts.count("Press 1 to confirm, or 2 to cancel.") == 3
    assert result.prompts[-1] == "Sorry, I did not get that."
    assert result.outcome == "hangup"


def _requests(result: CallResult) -> list[fx.HttpRequest]:
    return [e for e in result.effects if isinstance(e, fx.HttpRequest)]


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [(["1"], "confirmed"), (["2"], "canceled"), (["timeout"] * 3, "unknown")],
)
def test_fetch_reports_the_result_after_the_answered_branch(
    inputs: list[str], expected: str
) -> None:
    result = dialplan.simulate(YAML, inputs=inputs, contact={"userID": "1234"})
    (request,) = _requests(result)
    assert request.method == "POST"
    assert request.url == "https://api.example.com/call-logs?userID=1234"
    assert dict(request.headers) == {"Content-Type": "application/json"}
    assert json.loads(request.body) == {
        "target": "+33639980000",
        "result": expected,
        "dial": "answered",
    }
    # after everything the caller heard, before the call ends
    kinds = [type(e).__name__ for e in result.effects]
    assert kinds.index("HttpRequest") > max(i for i, k in enumerate(kinds) if k == "Play")
    assert kinds[-2:] == ["Hangup", "CallEnded"]


def test_fetch_runs_after_the_caller_hangs_up() -> None:
    result = dialplan.simulate(YAML, inputs=["hangup"])
    (request,) = _requests(result)
    assert json.loads(request.body)["result"] == "unknown"
    assert result.outcome == "caller_hangup"


def test_undeclared_run_variables_are_visible_with_a_note() -> None:
    result = dialplan.simulate(YAML, inputs=["1"], contact={"targetA": "+33639980042"})
    assert result.variables["targetA"] == "+33639980042"
    notes = [e.message for e in result.effects if isinstance(e, fx.Log)]
    assert "run variable $targetA is not declared by the scenario" in notes
