"""Flow lint rules (spec §6.7): each code fires on its trigger fixture and not on its passing one."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialplan.lint.linter import lint_source
from dialplan.lint.registry import all_rules
from tests.conftest import corpus_file, corpus_files

from ._support import expected

FIXTURES = Path(__file__).parent / "fixtures"
FLOW_CODES = ("W070", "E071", "W072", "W073", "I074", "I075", "W076", "W077")
#: code → its trigger fixture; the lines each must be reported on (exactly) are marked in the
#: fixture with ``<!-- expect: CODE -->`` (derived from spec §6.7, the reason beside each)
TRIGGERS = {
    "W070": "W070_unreachable.xml",
    "E071": "E071_input_free_cycle.xml",
    "W072": "W072_menu_loop.xml",
    "W073": "W073_play_cycle.xml",
    "I074": "I074_implicit_hangup.xml",
    "I075": "I075_amd.xml",
    "W076": "W076_catch_target.xml",
    "W077": "W077_silence_falls_through.xml",
}


def lines(path: Path | str, code: str) -> list[int]:
    return [d.line for d in lint_source(path) if d.code == code]


@pytest.mark.parametrize("code", FLOW_CODES)
def test_trigger_fixture_reports_code_on_expected_lines(code: str) -> None:
    path = FIXTURES / TRIGGERS[code]
    marked = sorted(line for c, line in expected(path).elements() if c == code)
    assert marked, "the fixture marks no line for its code"
    assert lines(path, code) == marked


@pytest.mark.parametrize("code", FLOW_CODES)
def test_passing_fixture_has_no_flow_findings(code: str) -> None:
    found = [d for d in lint_source(FIXTURES / f"{code}_ok.xml") if d.code in FLOW_CODES]
    assert found == []


def test_rules_registered_with_documentation() -> None:
    rules = all_rules()
    for code in FLOW_CODES:
        rule = rules[code]
        assert rule.family == "flow"
        assert "Fails::" in rule.doc and "Passes::" in rule.doc


def test_severity_follows_code_letter() -> None:
    diags = lint_source(FIXTURES / "E071_input_free_cycle.xml")
    assert [d.severity.label for d in diags if d.code == "E071"] == ["error"]


def test_region_reported_once_not_per_descendant() -> None:
    xml = """<dialplan>
  <hangup/>
  <menu name="a"><play type="tts">x</play>
    <keypress pressed="1"><play type="tts">y</play><hangup/></keypress></menu>
  <play type="tts">z</play>
  <if expr="true"><play type="tts">w</play></if>
</dialplan>"""
    assert [(d.code, d.line) for d in lint_source(xml) if d.code == "W070"] == [("W070", 3)]


def test_goto_target_is_not_unreachable_even_after_hangup() -> None:
    xml = """<dialplan>
  <menu name="m"><play type="tts">x</play><keypress pressed="1"><goto>t</goto></keypress>
    <keypress pressed="timeout"><hangup/></keypress></menu>
  <hangup/>
  <play type="tts" name="t">target</play>
  <hangup/>
</dialplan>"""
    assert [d.code for d in lint_source(xml) if d.code in FLOW_CODES] == []


def test_duplicate_or_invalid_keypress_left_to_menu_rules() -> None:
    xml = """<dialplan>
  <menu><play type="tts">x</play>
    <keypress pressed="default"><hangup/></keypress>
    <keypress pressed="default"><hangup/></keypress>
    <keypress pressed="1,2"><hangup/></keypress>
    <keypress pressed="timeout"><hangup/></keypress></menu>
</dialplan>"""
    assert [d.code for d in lint_source(xml) if d.code == "W070"] == []


def test_prompt_that_jumps_away_makes_keypresses_unreachable_once() -> None:
    xml = """<dialplan>
  <menu name="m"><play type="tts">x</play><goto>bye</goto>
    <keypress pressed="1"><hangup/></keypress>
    <keypress pressed="2"><hangup/></keypress></menu>
  <hangup name="bye"/>
</dialplan>"""
    assert [(d.code, d.line) for d in lint_source(xml) if d.code == "W070"] == [("W070", 3)]


def test_loop_with_counter_exit_is_not_an_error() -> None:
    xml = """<dialplan>
  <setvar name="a" varname="n">${n}+1</setvar>
  <if expr="${n} &lt; 5"><goto>a</goto></if>
  <hangup/>
</dialplan>"""
    assert [d.code for d in lint_source(xml) if d.code in ("E071", "W073")] == []


def test_goto_to_goto_cycle_is_an_error() -> None:
    xml = """<dialplan>
  <goto name="a">b</goto>
  <goto name="b">a</goto>
</dialplan>"""
    assert [(d.code, d.line) for d in lint_source(xml) if d.code == "E071"] == [("E071", 2)]


def test_record_in_loop_counts_as_waiting() -> None:
    xml = """<dialplan>
  <play type="tts" name="a">Leave a message</play>
  <record varname="m"/>
  <goto>a</goto>
</dialplan>"""
    assert [d.code for d in lint_source(xml) if d.code in ("E071", "W073")] == []


def test_silent_caller_loop_through_second_menu() -> None:
    # timeout → a second menu whose own silence leads back: still never-ending for silence
    xml = """<dialplan>
  <menu name="m"><play type="tts">x</play>
    <keypress pressed="1"><hangup/></keypress>
    <keypress pressed="timeout"><goto>sure</goto></keypress></menu>
  <hangup/>
  <menu name="sure"><play type="tts">still there? press 1</play>
    <keypress pressed="1"><hangup/></keypress>
    <keypress pressed="timeout"><goto>m</goto></keypress></menu>
</dialplan>"""
    assert sorted(d.line for d in lint_source(xml) if d.code == "W072") == [4, 8]


# -- the real corpus -----------------------------------------------------------------------


def test_corpus_has_no_flow_errors_or_false_warnings() -> None:
    files = corpus_files()
    if not files:
        pytest.skip("shared corpus not available")
    noisy = [
        (f.name, d.code, d.line)
        for f in files
        for d in lint_source(f)
        if d.code in ("W070", "E071", "W072", "W073", "W076")
    ]
    # CallFire's samples replay menus on a wrong key but let silence through, jump into menu
    # prompts and keypress bodies, and keep the DNCModule hangup handler inside its catch:
    # none of that is a flow defect.
    assert noisy == []


def test_bilingual_spanish_menu_reachable_only_by_goto_is_not_dead() -> None:
    path = corpus_file("callfire-ivr-samples/Inbound-only Campaigns/BilingualInboundTree.xml")
    assert lines(path, "W070") == []


def test_charity_seed_findings() -> None:
    path = corpus_file("seeds/nonprofit-charity-ivr.xml")
    found = sorted((d.code, d.line) for d in lint_source(path) if d.code in FLOW_CODES)
    # AMD present (line 4); every route ends in hangup, transfer or goto Hangup: no I074; a
    # silent caller in menu "Live" (line 13, no timeout branch) falls into the sales transfer
    assert found == [("I075", 4), ("W077", 13)]


@pytest.mark.parametrize("code", FLOW_CODES)
def test_documented_examples_behave_as_documented(code: str) -> None:
    from tests.lint._support import assert_doc_examples

    assert_doc_examples(code)


def test_amd_info_exactly_where_provenance_counts_an_amd() -> None:
    # PROVENANCE.md tag counts: amd×1 in these five samples (and the charity seed)
    with_amd = {
        "Appointment1.xml",
        "Appointment2.xml",
        "AppointmentConfirmation1.xml",
        "PoliticalSurvey.xml",
        "SimpleTransfer1.xml",
        "nonprofit-charity-ivr.xml",
    }
    files = corpus_files()
    if not files:
        pytest.skip("shared corpus not available")
    reported = {f.name for f in files if lines(f, "I075")}
    assert reported == with_amd


def test_hangup_handler_running_off_the_end_is_not_an_implicit_hangup() -> None:
    xml = """<dialplan><catch type="hangup" goto="save">
  <menu><play type="tts">x</play><keypress pressed="1"><hangup/></keypress>
    <keypress pressed="timeout"><hangup/></keypress></menu>
  <hangup/>
  <stash name="save" varname="gone">yes</stash>
</catch></dialplan>"""
    assert lines(xml, "I074") == []
