"""Conformance of the rule families of spec §6.4-§6.6: each owns exactly the spec's codes, every
code's trigger fixture reports it at the marked line, and its passing fixture does not."""

from __future__ import annotations

import pytest

from .support import check_passing, check_trigger, family_codes

SPEC_CODES: dict[str, list[str]] = {
    "menus": ["E040", "E041", "W042", "E043", "I044", "W045"],
    "numbers": ["E050", "W051", "I052", "W053"],
    "variables": ["W060", "W061", "W062", "E063", "W064", "E065", "W066", "W067", "I068"],
}  # fmt: skip

CODES = [code for codes in SPEC_CODES.values() for code in codes]


@pytest.mark.parametrize("family", sorted(SPEC_CODES))
def test_family_holds_exactly_the_spec_codes(family: str) -> None:
    assert family_codes(family) == sorted(SPEC_CODES[family])


@pytest.mark.parametrize("code", CODES)
def test_trigger_fixture_reports_its_code_at_the_marked_line(code: str) -> None:
    check_trigger(code)


@pytest.mark.parametrize("code", CODES)
def test_passing_fixture_does_not_report_the_code(code: str) -> None:
    check_passing(code)
