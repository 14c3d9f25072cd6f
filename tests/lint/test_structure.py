"""Rules of spec §6.1 (structure): one trigger fixture and one passing fixture per code.

Fixture conventions are described in ``tests/lint/_support.py``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialplan.lint import LintConfig, lint_source

from ._support import (
    at,
)


def test_unknown_root_is_reported_once_as_e002() -> None:
    diags = lint_source("<foo><play type='tts'>x</play></foo>")
    assert [d.code for d in diags if d.code in ("E002", "E003")] == ["E002"]


def test_unknown_tag_suggests_the_case_insensitive_match() -> None:
    (diag,) = lint_source("<dialplan>\n  <HangUp/></dialplan>", config=LintConfig(select=("E003",)))
    assert (diag.line, diag.column) == (2, 3)
    assert "<hangup>" in diag.message


def test_lowercase_camel_tags_are_w004_and_still_run_as_their_tag() -> None:
    from dialplan.model import Equal, build_plan
    from dialplan.parse import parse_any

    xml = '<dialplan><notequal var="1" expr="2"><hangup/></notequal></dialplan>'
    assert at(xml, "W004") == [(1, 11)]
    assert at(xml, "E003") == []
    node = build_plan(parse_any(xml)).nodes[1]
    assert isinstance(node, Equal) and node.negate


def test_sdk_tags_in_their_canonical_spelling_are_w004_not_e003() -> None:
    for tag in ("gotoXML", "dtmf", "wait", "analytics", "gtalk", "text"):
        xml = f"<dialplan><{tag}>1</{tag}></dialplan>"
        assert at(xml, "W004") == [(1, 11)], tag
        assert at(xml, "E003") == [], tag


def test_documented_tags_are_not_w004() -> None:
    xml = (
        '<dialplan><menu><play type="tts">x</play><keypress pressed="1"><hangup/></keypress>'
        '</menu><notEqual var="1" expr="2"><hangup/></notEqual></dialplan>'
    )
    assert at(xml, "W004") == []


def test_text_in_container_points_at_the_text_after_a_comment() -> None:
    xml = "<dialplan>\n  <!-- note -->  oops\n  <hangup/>\n</dialplan>"
    assert at(xml, "E011") == [(2, 18)]


def test_text_after_a_nested_container_is_located_after_its_end() -> None:
    xml = "<dialplan><if expr='1'>\n<if expr='a &gt; b'><hangup/></if> tail\n</if></dialplan>"
    assert at(xml, "E011") == [(2, 36)]


def test_entity_encoded_markup_and_cdata_in_text_tags_are_fine() -> None:
    xml = '<dialplan><play type="tts"><![CDATA[<b>bold</b>]]></play></dialplan>'
    assert at(xml, "E012") == []
    assert at(xml, "E013") == []


def test_keypress_inside_an_unknown_container_is_e005() -> None:
    xml = "<dialplan><Menu><keypress pressed='1'/></Menu></dialplan>"
    assert at(xml, "E005") == [(1, 17)]


# ---- robustness: any well-formed document, any spelling -------------------------------------

_TAGS = ["dialplan", "menu", "keypress", "play", "goto", "if", "else", "amd", "live", "machine",
         "catch", "setvar", "notequal", "Play", "x:y", "gotoXML"]  # fmt: skip
_ATTRS = ["name", "type", "pressed", "goto", "value", "maxdigits", "timeout", "expr", "Type"]
_VALUES = ["", " ", "1", "1000", "tts", "url", "Root", "${a}", "a > b", "&amp;", "x y"]


@st.composite
def _element(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(st.sampled_from(_TAGS))
    attrs = draw(st.dictionaries(st.sampled_from(_ATTRS), st.sampled_from(_VALUES), max_size=3))
    spaced = draw(st.sampled_from([" ", "\n  ", "  "]))
    head = tag + "".join(f'{spaced}{k}="{v}"' for k, v in attrs.items())
    if tag == "x:y":
        head += ' xmlns:x="urn:x"'
    if (depth > 3 or draw(st.booleans())) and draw(st.booleans()):
        return f"<{head}/>"
    parts = draw(
        st.lists(
            st.one_of(
                st.sampled_from(["", "text", "\n  ", "<!-- c -->", "<![CDATA[<b>]]>", "&lt;"]),
                _element(depth + 1) if depth < 4 else st.just(""),
            ),
            max_size=4,
        )
    )
    return f"<{head}>{''.join(parts)}</{tag}>"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_element())
def test_any_well_formed_document_lints_and_locations_are_inside_it(xml: str) -> None:
    lines = xml.splitlines() or [""]
    for d in lint_source(xml):
        assert 1 <= d.line <= len(lines), (d, xml)
        assert 1 <= d.column <= len(lines[d.line - 1]) + 1, (d, xml)
