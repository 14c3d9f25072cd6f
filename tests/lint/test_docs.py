"""Each rule's documentation (its docstring) is complete, and its examples do what they say."""

from __future__ import annotations

import re

import pytest

from dialplan.lint.registry import all_rules

from ._support import VALUE_CODES, codes

NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def examples(doc: str, heading: str) -> str:
    """The indented XML block under ``Failing…:`` or ``Passing…:`` in a rule's documentation."""
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    block: list[str] = []
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break
        block.append(line)
    return "\n".join(block).strip()


@pytest.mark.parametrize("code", sorted(VALUE_CODES))
def test_documentation_has_summary_and_examples(code: str) -> None:
    rule = all_rules()[code]
    assert NAME.match(rule.name)
    summary, blank, *rest = rule.doc.splitlines()
    assert summary.endswith(".") and blank == "" and rest
    assert examples(rule.doc, "Failing") and examples(rule.doc, "Passing")


@pytest.mark.parametrize("code", sorted(VALUE_CODES))
def test_documented_examples_behave_as_documented(code: str) -> None:
    doc = all_rules()[code].doc
    failing = f"<dialplan>{examples(doc, 'Failing')}</dialplan>"
    passing = f"<dialplan>{examples(doc, 'Passing')}</dialplan>"
    assert code in codes(failing)
    assert code not in codes(passing)
