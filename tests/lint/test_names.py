"""Rules of spec §6.3 (names and references): one trigger and one passing fixture per code.

Fixture conventions are described in ``tests/lint/_support.py``.
"""

from __future__ import annotations

from ._support import (
    at,
    messages,
)


def test_case_only_mismatch_suggests_the_existing_name() -> None:
    xml = '<dialplan><menu name="live"><play type="tts">x</play></menu><goto>Live</goto></dialplan>'
    (message,) = messages(xml, "E031")
    assert '"Live"' in message and '"live"' in message


def test_unrelated_missing_target_has_no_suggestion_of_an_existing_name() -> None:
    xml = '<dialplan><play name="hello" type="tts">x</play><goto>zzz</goto></dialplan>'
    (message,) = messages(xml, "E031")
    assert "hello" not in message


def test_goto_target_is_trimmed_and_located_at_its_text() -> None:
    xml = "<dialplan name='Root'>\n  <goto>\n     Root\n  </goto>\n  <goto>\n     Nope\n  </goto>\n</dialplan>"
    assert at(xml, "E031") == [(6, 6)]


def test_catch_goto_problem_points_at_the_goto_attribute() -> None:
    xml = '<dialplan>\n<catch type="hangup"\n       goto="nowhere"><hangup/></catch></dialplan>'
    assert at(xml, "E031") == [(3, 8)]


def test_duplicate_name_reports_every_later_use_at_its_name_attribute() -> None:
    xml = (
        '<dialplan>\n<play name="a" type="tts">1</play>\n<hangup  name="a"/>\n'
        '<goto name="a">a</goto></dialplan>'
    )
    assert at(xml, "E030") == [(3, 10), (4, 7)]


def test_names_differing_in_case_are_not_duplicates() -> None:
    xml = '<dialplan><menu name="SMS"/><keypress name="sms"/></dialplan>'
    assert at(xml, "E030") == []


def test_dynamic_targets_are_not_also_reported_as_missing() -> None:
    xml = "<dialplan><goto>${next}</goto></dialplan>"
    assert at(xml, "E032") == [(1, 17)]
    assert at(xml, "E031") == []


def test_jump_from_inside_the_same_branch_is_not_i033() -> None:
    xml = '<dialplan><if expr="1"><play name="p" type="tts">x</play><goto>p</goto></if></dialplan>'
    assert at(xml, "I033") == []


def test_jump_into_an_amd_branch_is_i033() -> None:
    xml = (
        "<dialplan><amd><live><play name='hi' type='tts'>hi</play></live>"
        "<machine><goto>hi</goto></machine></amd></dialplan>"
    )
    assert [line for line, _ in at(xml, "I033")] == [1]


def test_jump_to_a_keypress_itself_is_i033_and_names_the_branch() -> None:
    xml = (
        '<dialplan><menu name="m"><play type="tts">x</play>'
        '<keypress name="sales" pressed="1"><hangup/></keypress></menu>\n'
        "<goto>sales</goto></dialplan>"
    )
    (message,) = messages(xml, "I033")
    assert at(xml, "I033") == [(2, 7)]
    assert 'name="sales"' in message
