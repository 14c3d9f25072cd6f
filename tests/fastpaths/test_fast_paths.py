"""The lint speed-ups keep behaviour: immutable nodes, lazy locations, template parsing, W070
on long blocks, and config discovery that skips unrelated pyproject.toml files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from dialplan.expr.template import Literal, Ref, TemplateError, parse_template
from dialplan.lint.config import discover_config
from dialplan.lint.linter import lint_source
from dialplan.model import build_plan
from dialplan.parse import parse_any

from ..conftest import corpus_files

MIXED = """<dialplan name="Root">
  <menu name="Main" maxdigits="1" timeout="3"><play type="tts" voice="female1">Hi &amp;
    there</play><keypress pressed="1"><goto>Root</goto></keypress></menu>
  <play type="tts"><!-- note -->a<![CDATA[<b>]]>c</play>
  <setvar varname="x" name="S">${y}</setvar>
</dialplan>"""


def _docs() -> list[str | Path]:
    return [MIXED, *corpus_files()]


@pytest.mark.parametrize(
    "src", _docs(), ids=lambda s: Path(s).name if isinstance(s, Path) else "mixed"
)
def test_lazy_locations_match_the_documents_positions(src: str | Path) -> None:
    doc = parse_any(src)
    plan = build_plan(doc)
    elements = [e for e in doc.root.iter() if isinstance(e.tag, str)]
    assert len(elements) == len(plan.nodes)
    for node, el in zip(plan.nodes, elements, strict=True):
        assert node.element is el
        assert node.loc == doc.location(el)
        assert node.text_loc == doc.text_location(el)
        for raw in el.attrib:
            local = etree.QName(raw).localname
            canon = next(k for k, v in node.raw_attrs.items() if v.lower() == local.lower())
            if node.raw_attrs[canon] == local:  # the first spelling of an attribute wins
                assert node.attr_loc(canon) == doc.attr_location(el, local)
        assert node.attr_loc("no-such-attribute") == node.loc


def test_nodes_are_read_only() -> None:
    plan = build_plan(parse_any(MIXED))
    menu = plan.nodes[1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        menu.name = "Other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del menu.tag  # type: ignore[misc]
    assert (menu.tag, menu.name, menu.max_digits, menu.timeout_ms) == ("menu", "Main", 1, 3000)
    assert menu.raw_attrs["maxDigits"] == "maxdigits"
    play = plan.nodes[2]
    assert play.text == "Hi &\n    there" and play.value.source == "Hi & there"
    assert plan.nodes[5].text == "a<b>c"  # comment skipped, CDATA kept
    assert all(c.parent is menu for c in menu.children)


def _reference_parts(text: str, pos: int, nested: bool) -> tuple[list[object], int]:
    """The template grammar written character by character (the oracle for the fast parser)."""
    parts: list[object] = []
    buf = ""
    while pos < len(text):
        if text.startswith("${", pos):
            if buf:
                parts.append(Literal(buf))
                buf = ""
            inner, end = _reference_parts(text, pos + 2, nested=True)
            if end >= len(text) or text[end] != "}":
                raise TemplateError("unterminated '${'", pos)
            parts.append(Ref(tuple(inner), pos))  # type: ignore[arg-type]
            pos = end + 1
        elif nested and text[pos] == "}":
            break
        else:
            buf += text[pos]
            pos += 1
    if buf:
        parts.append(Literal(buf))
    return parts, pos


@given(st.text(alphabet="${}ab .", max_size=24))
def test_template_parser_matches_the_grammar(text: str) -> None:
    try:
        expected: object = tuple(_reference_parts(text, 0, nested=False)[0])
    except TemplateError as exc:
        expected = ("error", exc.offset)
    try:
        got: object = parse_template(text).parts
    except TemplateError as exc:
        got = ("error", exc.offset)
    assert got == expected


def test_w070_reports_once_for_a_long_unreachable_block() -> None:
    plays = "".join(f'\n<play type="tts">n{i}</play>' for i in range(3000))
    diags = lint_source(f"<dialplan>\n<hangup/>{plays}\n</dialplan>")
    w070 = [d for d in diags if d.code == "W070"]
    assert [(d.line, d.column) for d in w070] == [(3, 1)]
    assert "follows <hangup/> on line 2" in w070[0].message


@pytest.mark.parametrize(
    ("toml", "select"),
    [
        ('[project]\nname = "dialplan"\n[tool.ruff]\nline-length = 99\n', ()),
        ('[tool.dialplan.lint]\nselect = ["E"]\n', ("E",)),
        ('[ tool . "dialplan" ]\nlint = { select = ["W07"] }\n', ("W07",)),
        ('[tool]\ndialplan = { lint = { select = ["I"] } }\n', ("I",)),
    ],
)
def test_config_discovery(tmp_path: Path, toml: str, select: tuple[str, ...]) -> None:
    (tmp_path / "pyproject.toml").write_text(toml, encoding="utf-8")
    assert discover_config(tmp_path).select == select
