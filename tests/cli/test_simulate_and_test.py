"""``dialplan simulate`` and ``dialplan test`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialplan.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "pharmacy-refill.xml"
SCENARIOS = ROOT / "examples" / "pharmacy-refill.calltest.toml"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def test_simulate_json_has_the_documented_fields() -> None:
    code, out = run(
        "simulate", str(EXAMPLE), "--input", "1", "--input", "5",
        "--contact", "firstName=Rosa", "--format", "json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert {"outcome", "error", "prompts", "responses", "variables", "transfer", "effects",
            "steps"} <= set(data)  # fmt: skip
    assert data["outcome"] == "hangup" and data["error"] is None
    assert data["responses"] == [
        {"question": "refill", "response": "yes"},
        {"question": "pickup", "response": "Friday"},
    ]
    assert data["prompts"][-1] == "See you on Friday. Goodbye."
    assert data["variables"]["day"] == "Friday"
    assert data["transfer"] is None
    assert data["effects"][0] == {
        "type": "Play", "play_id": 1, "kind": "tts", "value": data["prompts"][0], "voice": None,
        "cache": True, "barge_in": True, "node": "PharmacyRefill/catch[1]/Ask/play[1]",
    }  # fmt: skip


def test_simulate_text_transcript_shows_speech_keys_and_jumps() -> None:
    code, out = run("simulate", str(EXAMPLE), "--input", "0", "--contact", "firstName=Rosa")
    assert code == 0
    assert "says: Hello Rosa, your prescription is ready." in out
    assert "caller  presses 0" in out
    assert "catch digit: goto Pharmacist" in out
    assert "outcome: transfer" in out
    assert "transfer: 15550103000 (ringall, callerid 15555550100) -> answered" in out


def test_simulate_machine_and_variables() -> None:
    code, out = run(
        "simulate", str(EXAMPLE), "--amd", "machine", "--var", "x=1", "--format", "json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["prompts"] == [
        "Hello , your prescription at Main Street Pharmacy is ready for pick-up. Thank you."
    ]
    assert data["variables"] == {"tries": "0", "x": "1"}


def test_simulate_bad_input_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["simulate", str(EXAMPLE), "--input", "12a"])
    assert result.exit_code != 0
    assert "bad input '12a'" in str(result.exception) + result.output


def test_simulate_runtime_error_exits_1(tmp_path: Path) -> None:
    plan = tmp_path / "loop.xml"
    plan.write_text(
        '<dialplan><menu name="m"><play type="tts">Hello?</play>'
        '<keypress pressed="timeout"><goto>m</goto></keypress></menu></dialplan>'
    )
    code, out = run("simulate", str(plan), "--format", "json", "--max-steps", "50")
    assert code == 1
    assert json.loads(out)["error"] == "step limit exceeded: more than 50 tags executed"


def test_calltest_passes_and_reports_coverage() -> None:
    code, out = run("test", str(SCENARIOS), "--coverage")
    assert code == 0, out
    assert "7 passed, 0 failed" in out
    assert "12/12 branches (100%)" in out


def test_calltest_failure_and_missed_branches(tmp_path: Path) -> None:
    (tmp_path / "plan.xml").write_text(EXAMPLE.read_text())
    (tmp_path / "s.calltest.toml").write_text(
        'dialplan = "plan.xml"\n'
        '[[case]]\nname = "wrong expectation"\ninputs = ["2"]\n'
        '[case.expect]\nresponses = { refill = "yes" }\noutcome = "transfer"\n'
    )
    code, out = run("test", str(tmp_path), "--coverage")
    assert code == 1
    assert "FAIL  wrong expectation" in out
    assert "outcome: expected 'transfer', got 'hangup'" in out
    assert "never reached: line 6: <amd>: answered by a machine" in out
    assert "0 passed, 1 failed" in out


@pytest.mark.parametrize("amd", ["live", "machine"])
def test_transcript_amd_line_only_with_an_amd_tag(tmp_path: Path, amd: str) -> None:
    without = tmp_path / "plain.xml"
    without.write_text('<dialplan><play type="tts">Hi</play></dialplan>')
    code, out = run("simulate", str(without), "--amd", amd)
    assert code == 0
    lines = [ln.split(None, 2)[1:] for ln in out.splitlines() if ln.strip()]
    assert ["call", f"answered ({amd})"] in lines
    assert not any(text.startswith("amd:") for _, text in (ln for ln in lines if len(ln) == 2))
    with_amd = tmp_path / "amd.xml"
    with_amd.write_text(
        '<dialplan><amd><live><play type="tts">Hi</play></live>'
        '<machine><play type="tts">Message</play></machine></amd></dialplan>'
    )
    code, out = run("simulate", str(with_amd), "--amd", amd)
    assert code == 0
    lines = [ln.split(None, 2)[1:] for ln in out.splitlines() if ln.strip()]
    assert lines.index(["call", f"answered ({amd})"]) < lines.index(["ivr", f"amd: {amd}"])
    said = "Hi" if amd == "live" else "Message"
    assert ["ivr", f"says: {said}"] in lines


def test_calltest_bad_scenario_file(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text('dialplan = "x.xml"\n[[case]]\nbogus = 1\n')
    result = CliRunner().invoke(cli, ["test", str(tmp_path / "s.toml")])
    assert result.exit_code == 2  # a usage error: one line, no traceback
    assert "unknown key(s) bogus" in result.output


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ('inputs = ["zz"]', "bad input 'zz'"),
        ('amd = "robot"', "bad amd 'robot'"),
        ('transfer = ["answered", "maybe"]', "bad transfer outcome 'maybe'"),
        ('now = "tomorrow"', "bad time 'tomorrow'"),
    ],
)
def test_calltest_bad_value_in_a_case_is_a_usage_error(
    tmp_path: Path, case: str, message: str
) -> None:
    (tmp_path / "p.xml").write_text('<dialplan><play type="tts">Hi</play></dialplan>')
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        f'dialplan = "p.xml"\n[[case]]\nname = "fine"\n[[case]]\nname = "odd one"\n{case}\n'
    )
    result = CliRunner().invoke(cli, ["test", str(scenario)])
    assert result.exit_code == 2, result.output
    assert f"{scenario}: case 'odd one': {message}" in result.output
    assert "PASS" not in result.output  # reported before any case runs


def test_calltest_invalid_dialplan_fails_its_cases(tmp_path: Path) -> None:
    (tmp_path / "bad.xml").write_text("<dialplan><goto>nowhere</goto>")
    (tmp_path / "s.toml").write_text('dialplan = "bad.xml"\n[[case]]\nname = "a"\n')
    code, out = run("test", str(tmp_path / "s.toml"))
    assert code == 1
    assert "ERROR" in out


def test_simulate_http_answers(tmp_path: Path) -> None:
    plan = tmp_path / "get.xml"
    plan.write_text(
        '<dialplan><get varname="r">http://127.0.0.1/a?x=1&amp;y=2</get>'
        '<post varname="p">http://127.0.0.1/b</post>'
        '<play type="tts">[${r}] [${p}]</play></dialplan>'
    )
    code, out = run(
        "simulate", str(plan), "--http", "http://127.0.0.1/a?x=1&y=2=gold", "--format", "json"
    )
    assert code == 0
    assert json.loads(out)["prompts"] == ["[gold] []"]


def test_the_documented_transcript_is_what_simulate_prints() -> None:
    doc = (ROOT / "docs" / "testing-dialplans.md").read_text(encoding="utf-8")
    start = doc.index("$ dialplan simulate examples/pharmacy-refill.xml")
    block = doc[start : doc.index("```", start)].splitlines()
    args = block[0].split()[2:]
    code, out = run(*[a.replace("examples/", f"{ROOT}/examples/", 1) for a in args])
    assert code == 0
    printed = out.splitlines()
    documented = block[1:]
    assert len(printed) == len(documented)
    for got, want in zip(printed, documented, strict=True):
        if want.endswith(" …"):
            assert got.startswith(want[:-2])
        else:
            assert got == want
