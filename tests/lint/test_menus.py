"""Menu and keypress-pattern rules (spec §6.4): E040, E041, W042, E043, I044, W045."""

from __future__ import annotations

import pytest

from ._support import codes, lint_values


def menu(*pressed: str, max_digits: str | None = None) -> str:
    attr = f' maxDigits="{max_digits}"' if max_digits else ""
    keys = "".join(f'<keypress pressed="{p}"><hangup/></keypress>' for p in pressed)
    return f'<dialplan><menu{attr}><play type="tts">x</play>{keys}</menu></dialplan>'


@pytest.mark.parametrize(
    "pattern",
    ["", "abc", "9-3", "1,2", "1-", "-5", "1-2-3", "1 2", "def ault", "1-#"],
)
def test_invalid_patterns(pattern: str) -> None:
    assert "E040" in codes(menu(pattern))


@pytest.mark.parametrize(
    "pattern", ["0", "#", "*", "321", "*9", "4-6", "5-5", "default", "TIMEOUT"]
)
def test_valid_patterns(pattern: str) -> None:
    assert "E040" not in codes(menu(pattern))


@pytest.mark.parametrize(
    ("pattern", "explanation"),
    [("9-3", "runs backwards (9 > 3)"), ("1 - 3", "without spaces: 1-3"), ("1,2", "comma")],
)
def test_invalid_pattern_explains_why(pattern: str, explanation: str) -> None:
    (found,) = [d for d in lint_values(menu(pattern)) if d.code == "E040"]
    assert explanation in found.message


def test_missing_pressed_is_not_e040() -> None:
    # a missing attribute is E020 (attributes family), not an invalid pattern
    xml = (
        '<dialplan><menu><play type="tts">x</play><keypress><hangup/></keypress></menu></dialplan>'
    )
    assert "E040" not in codes(xml)


@pytest.mark.parametrize(
    ("patterns", "duplicates"),
    [
        (("1", "1"), 1),
        (("timeout", "Timeout", "TIMEOUT"), 2),
        (("1-3", "01-3"), 1),  # the same numeric range
        (("1", "01"), 0),  # literals compare as strings (spec §3.3)
        (("default", "timeout"), 0),
    ],
)
def test_duplicates(patterns: tuple[str, ...], duplicates: int) -> None:
    found = [d for d in lint_values(menu(*patterns, max_digits="3")) if d.code == "E041"]
    assert len(found) == duplicates


def test_duplicates_are_per_menu() -> None:
    xml = (
        '<dialplan><menu><play type="tts">a</play><keypress pressed="1"><hangup/></keypress></menu>'
        '<menu><play type="tts">b</play><keypress pressed="1"><hangup/></keypress></menu></dialplan>'
    )
    assert "E041" not in codes(xml)


@pytest.mark.parametrize(
    ("patterns", "overlap"),
    [
        (("2", "1-3"), True),  # literal inside a later range
        (("1-3", "2"), True),  # literal after the range
        (("1-5", "5-9"), True),  # ranges sharing one value
        (("1-4", "5-9"), False),
        (("0", "1-9"), False),
        (("#", "1-9"), False),
        (("05", "1-9"), True),  # all-digit input "05" is the number 5
        (("1", "1"), False),  # a duplicate is E041, not W042
    ],
)
def test_overlaps(patterns: tuple[str, ...], overlap: bool) -> None:
    assert ("W042" in codes(menu(*patterns, max_digits="2"))) is overlap


def test_overlap_reported_once_on_the_later_keypress() -> None:
    xml = menu("1-9", "2", max_digits="1")
    found = [d for d in lint_values(xml) if d.code == "W042"]
    assert len(found) == 1
    assert 'pressed="2"' in found[0].message


@pytest.mark.parametrize(
    ("patterns", "max_digits", "dead"),
    [
        (("12",), "1", True),
        (("10-99",), "1", True),
        (("1-10",), "1", False),  # 1-9 can still be entered
        (("9999",), None, False),  # no maxDigits: the longest pattern sets it (spec §2.3)
        (("123",), "3", False),
        (("default", "timeout"), "1", False),
    ],
)
def test_pattern_longer_than_max_digits(
    patterns: tuple[str, ...], max_digits: str | None, dead: bool
) -> None:
    assert ("E043" in codes(menu(*patterns, max_digits=max_digits))) is dead


@pytest.mark.parametrize(
    ("pattern", "info"), [("Default", True), ("TimeOut", True), ("default", False)]
)
def test_capitalised_spelling(pattern: str, info: bool) -> None:
    assert ("I044" in codes(menu(pattern))) is info


@pytest.mark.parametrize(
    ("pattern", "warn"), [("1#", True), ("#1", True), ("#", False), ("**", False), ("*#*", True)]
)
def test_hash_inside_multi_key_pattern(pattern: str, warn: bool) -> None:
    assert ("W045" in codes(menu(pattern, max_digits="3"))) is warn


def test_location_points_at_the_pressed_attribute() -> None:
    xml = '<dialplan>\n<menu maxDigits="1"><play type="tts">x</play>\n  <keypress  pressed="1,2"/></menu></dialplan>'
    (found,) = [d for d in lint_values(xml) if d.code == "E040"]
    assert (found.line, found.column) == (3, 14)
