"""The typed model: builder defaults, patterns, durations, and the completion rules."""

from __future__ import annotations

import pytest

from dialplan.model import InputPhase, PatternKind, build_plan, parse_duration_ms, parse_pattern
from dialplan.model import nodes as n
from dialplan.parse import parse_any

from ..conftest import corpus_files


def plan_of(xml: str):
    return build_plan(parse_any(xml))


@pytest.mark.parametrize(
    ("raw", "kind", "width"),
    [
        ("1", PatternKind.LITERAL, 1),
        ("#", PatternKind.LITERAL, 1),
        ("321", PatternKind.LITERAL, 3),
        ("4-6", PatternKind.RANGE, 1),
        ("1000000000-9999999999", PatternKind.RANGE, 10),
        ("Default", PatternKind.DEFAULT, 0),
        (" timeout ", PatternKind.TIMEOUT, 0),
        ("6-4", PatternKind.INVALID, 0),
        ("1,2", PatternKind.INVALID, 0),
        ("", PatternKind.INVALID, 0),
    ],
)
def test_patterns(raw: str, kind: PatternKind, width: int) -> None:
    pattern = parse_pattern(raw)
    assert pattern.kind is kind
    assert pattern.width == width


def test_pattern_matching_literals_as_strings_ranges_numerically() -> None:
    assert parse_pattern("1").matches("1") and not parse_pattern("1").matches("01")
    assert parse_pattern("300-315").matches("301") and not parse_pattern("300-315").matches("3*1")


@pytest.mark.parametrize(
    ("raw", "ms"),
    [
        (None, 5000),
        ("5", 5000),
        ("3500", 3500),
        ("1000", 1000),
        ("999", 999_000),
        ("x", 5000),
        ("0", 5000),
    ],
)
def test_timeout_unit_rule(raw: str | None, ms: int) -> None:
    assert parse_duration_ms(raw, 5000) == ms


def test_menu_defaults_come_from_patterns() -> None:
    plan = plan_of(
        '<dialplan><menu><play type="tts">p</play><keypress pressed="700"><hangup/></keypress>'
        '<keypress pressed="1-3"><hangup/></keypress></menu></dialplan>'
    )
    menu = plan.nodes[1]
    assert isinstance(menu, n.Menu)
    assert (menu.max_digits, menu.timeout_ms) == (3, 5000)
    assert [k.pattern.text for k in menu.keypresses] == ["700", "1-3"]


def test_case_tolerant_spellings_are_canonicalised() -> None:
    plan = plan_of(
        '<dialplan><menu maxdigits="2"><play type="TTS">x</play></menu>'
        '<notequal var="1" expr="2"><hangup/></notequal></dialplan>'
    )
    menu, play, neq = plan.nodes[1], plan.nodes[2], plan.nodes[3]
    assert (
        isinstance(menu, n.Menu)
        and menu.max_digits == 2
        and menu.raw_attrs["maxDigits"] == "maxdigits"
    )
    assert isinstance(play, n.Play) and play.kind == "tts"
    assert isinstance(neq, n.Equal) and neq.negate and neq.raw_tag == "notequal"


def test_tts_whitespace_is_collapsed_and_values_trimmed() -> None:
    plan = plan_of(
        '<dialplan><play type="tts">\n  Hello\n   world  </play><goto>\n  x\n</goto></dialplan>'
    )
    assert plan.nodes[1].value.source == "Hello world"
    assert plan.nodes[2].target == "x"


def test_after_follows_the_completion_rules() -> None:
    plan = plan_of(
        """<dialplan name="R">
          <amd><live><play name="L" type="tts">l</play></live><machine><hangup/></machine></amd>
          <menu name="M"><play name="P1" type="tts">a</play><play name="P2" type="tts">b</play>
            <keypress pressed="1"><play name="K" type="tts">k</play></keypress>
          </menu>
          <if expr="1"><play name="T" type="tts">t</play><else><play name="E" type="tts">e</play></else></if>
          <play name="Last" type="tts">z</play>
        </dialplan>"""
    )
    r = plan.resolve
    assert plan.after(r("L")) is r("M")  # live branch done → after the amd
    assert plan.after(r("P1")) is r("P2")
    assert plan.after(r("P2")) == InputPhase(r("M"))  # prompts done → input phase
    assert plan.after(r("K")).tag == "if"  # keypress body done → after the menu
    assert plan.after(r("T")) is r("Last")  # true branch skips the else
    assert plan.after(r("E")) is r("Last")
    assert plan.after(r("Last")) is None  # off the root: implicit hangup


def test_every_corpus_file_builds() -> None:
    for path in corpus_files():
        plan = build_plan(parse_any(path))
        assert plan.nodes[0].tag == "dialplan"
        assert all(node.parent is not None for node in plan.nodes[1:])
