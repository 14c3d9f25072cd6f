"""Phone-number rules (spec §6.5): E050, W051, I052, W053."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialplan.lint.rules.numbers import Verdict, classify, split_items

from ._support import codes, lint_values


@pytest.mark.parametrize(
    ("item", "verdict"),
    [
        ("2135551212", Verdict.NANP),
        ("12135551212", Verdict.NANP),
        ("+1 (213) 555-1212", Verdict.NANP),
        ("213.555.1212", Verdict.NANP),
        ("5551234567", Verdict.NANP),  # fictional 555 numbers are fine: only the shape is checked
        ("2135551212x25", Verdict.NANP),
        ("2135551212x${call.lastinput}", Verdict.NANP),
        ("2135551212X 25", Verdict.NANP),
        ("${contact.D}", Verdict.VARIABLE),
        (" ${call.phonenumber} ", Verdict.VARIABLE),
        ("1${contact.D}", Verdict.PARTLY_VARIABLE),
        ("+44 20 7946 0958", Verdict.INTERNATIONAL),
        ("33142685300", Verdict.INTERNATIONAL),  # France without the plus
        ("+33 1 42 68 53 00", Verdict.INTERNATIONAL),
        ("011 44 20 7946 0958", Verdict.INTERNATIONAL),  # the NANP international prefix
        ("+011 44 20 7946 0958", Verdict.INVALID),
        ("213555121", Verdict.INVALID),  # 9 digits
        ("999555121234", Verdict.INVALID),  # 12 digits, no such country code
        ("22135551212", Verdict.INVALID),  # 11 digits not starting with 1
        ("+2135551212", Verdict.INVALID),  # with +, 10 digits are country code + number
        ("", Verdict.INVALID),
        ("   ", Verdict.INVALID),
        ("call me", Verdict.INVALID),
        ("2135551212x", Verdict.INVALID),
        ("2135551212xabc", Verdict.INVALID),
        ("213-555-12a2", Verdict.INVALID),
        ("1234", Verdict.INVALID),
        ("213555121３", Verdict.INVALID),  # a non-ASCII digit cannot be dialled
    ],
)
def test_classify(item: str, verdict: Verdict) -> None:
    assert classify(item)[0] is verdict


def test_split_items_keeps_offsets_and_ignores_commas_in_references() -> None:
    assert split_items("a, b,,${x,y}") == [("a", 0), (" b", 2), ("", 5), ("${x,y}", 6)]


def test_each_transfer_item_is_checked_and_located() -> None:
    xml = "<dialplan>\n<transfer>2135551212, 12345,\n  99</transfer></dialplan>"
    found = [(d.code, d.line, d.column) for d in lint_values(xml)]
    assert found == [("E050", 2, 23), ("E050", 3, 3)]


def test_empty_item_between_commas_is_an_error() -> None:
    assert codes("<dialplan><transfer>2135551212,,3105551212</transfer></dialplan>") == {"E050"}


def test_dnc_and_sms_are_checked() -> None:
    xml = '<dialplan><dnc>555-1212</dnc><sms to="12345">hi</sms></dialplan>'
    found = sorted((d.code, d.column) for d in lint_values(xml))
    assert found == [("E050", 16), ("E050", 35)]  # the text value; the "to" attribute


def test_sms_to_variable_is_information() -> None:
    xml = '<dialplan><sms to="${call.phonenumber}">hi</sms><dnc>${call.callerid}</dnc></dialplan>'
    assert [d.code for d in lint_values(xml)] == ["I052", "I052"]


def test_empty_values_are_left_to_structure_rules() -> None:
    # an empty transfer/dnc is E013, a missing sms@to E020: not a phone-number problem
    xml = '<dialplan><transfer> </transfer><dnc/><sms to="">x</sms><sms>y</sms></dialplan>'
    assert codes(xml) == set()


@pytest.mark.parametrize(
    ("callerid", "warn"),
    [
        ("1234", True),
        ("ACME", True),
        ("2135551212x1", True),
        ("2135551212", False),
        ("1 (213) 555-1212", False),
        ("${call.callerid}", False),
        ("${contact.B}", False),
    ],
)
def test_callerid(callerid: str, warn: bool) -> None:
    xml = f'<dialplan><transfer callerid="{callerid}">2135551212</transfer></dialplan>'
    assert ("W053" in codes(xml)) is warn


def test_text_alias_of_sms_is_checked() -> None:
    assert codes('<dialplan><text to="12345">hi</text></dialplan>') == {"E050"}


@given(
    st.lists(st.sampled_from("0123456789"), min_size=10, max_size=10),
    st.lists(st.sampled_from(["", " ", "-", ".", "(", ")", "  "]), min_size=11, max_size=11),
    st.booleans(),
)
def test_any_separated_ten_digit_number_is_nanp(
    digits: list[str], separators: list[str], country: bool
) -> None:
    text = "".join(s + d for s, d in zip(separators, digits, strict=False)) + separators[-1]
    if country:
        text = "+1 " + text
    assert classify(text)[0] is Verdict.NANP
