"""Rules of spec §6.2 (attributes): one trigger fixture and one passing fixture per code.

Fixture conventions are described in ``tests/lint/_support.py``.
"""

from __future__ import annotations

import pytest

from ._support import (
    at,
    messages,
)


def test_attribute_problems_point_at_the_attribute() -> None:
    xml = '<dialplan>\n  <menu  name="m"\n        timeout="soon">\n  </menu>\n</dialplan>'
    assert at(xml, "E022") == [(3, 9)]


def test_missing_attribute_points_at_the_element() -> None:
    assert at("<dialplan>\n    <play>hi</play></dialplan>", "E020") == [(2, 5)]


def test_value_problems_point_at_the_first_character_of_the_value() -> None:
    xml = '<dialplan><play type="callfireid">\n      abc.wav\n</play></dialplan>'
    assert at(xml, "E02A") == [(2, 7)]


@pytest.mark.parametrize(
    ("tag_attrs", "code"),
    [
        ('play type="TTS"', None),  # play@type is case-insensitive (spec §3.4)
        ('catch type="Hangup" goto="Root"', None),
        ('transfer mode="Waterfall"', None),
        ('transfer continue-after="TRUE"', None),  # compared case-insensitively
        ('transfer continue-after="on"', "E021"),
        ('menu maxDigits="+3"', "E022"),
        ('menu maxDigits="３"', "E022"),  # a non-ASCII digit is not a number here
        ('catch type="digit" value=" 5 " goto="Root"', None),
        ('catch type="digit" value="*" goto="Root"', None),
        ('catch type="digit" value="" goto="Root"', "E020"),
    ],
)
def test_attribute_values(tag_attrs: str, code: str | None) -> None:
    tag = tag_attrs.split()[0]
    xml = f'<dialplan name="Root"><{tag_attrs}>1</{tag}></dialplan>'
    found = {c for c in ("E020", "E021", "E022", "E023") if at(xml, c)}
    assert found == ({code} if code else set())


def test_case_variant_of_a_known_attribute_names_it_and_is_used() -> None:
    from dialplan.model import Menu, build_plan
    from dialplan.parse import parse_any

    xml = '<dialplan><menu maxdigits="4"><play type="tts">x</play></menu></dialplan>'
    (message,) = messages(xml, "W024")
    assert '"maxdigits"' in message and '"maxDigits"' in message
    menu = build_plan(parse_any(xml)).nodes[1]
    assert isinstance(menu, Menu) and menu.max_digits == 4


def test_attributes_of_unknown_tags_and_namespaced_attributes_are_not_w024() -> None:
    xml = '<dialplan xmlns:x="urn:x" x:note="n"><Unknown foo="1"/><hangup x:id="2"/></dialplan>'
    assert at(xml, "W024") == []


def test_timeout_1000_is_w025_but_other_tags_timeouts_are_not() -> None:
    xml = (
        '<dialplan><transfer timeout="1000">2135551212</transfer><record timeout="1000"/>'
        "</dialplan>"
    )
    assert at(xml, "W025") == []


def test_url_check_ignores_variable_parts_but_not_the_scheme() -> None:
    ok = '<dialplan><get varname="a">https://${host}/x</get></dialplan>'
    bad = '<dialplan><get varname="a">${scheme}//host/x ok</get><post>x${host}/y</post></dialplan>'
    assert at(ok, "W02B") == []
    assert at(bad, "W02B") == [(1, 60)]
