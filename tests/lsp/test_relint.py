"""The language server lints a document again only when its text (or its configuration) changed:
saving, or undoing back to the text last linted, reuses the findings."""

from __future__ import annotations

from pathlib import Path

from dialplan.lsp import analysis

BROKEN = '<dialplan name="Root">\n  <goto>Nowhere</goto>\n</dialplan>\n'
FIXED = '<dialplan name="Root">\n  <hangup/>\n</dialplan>\n'


def test_the_same_text_is_not_linted_twice(tmp_path: Path) -> None:
    path = tmp_path / "plan.xml"
    first = analysis.lint_text(BROKEN, str(path), path)
    assert [d.code for d in first] == ["E031"]
    assert analysis.lint_text(BROKEN, str(path), path) is first  # didSave: the same findings
    assert analysis.lint_text(FIXED, str(path), path) == []  # an edit lints afresh
    again = analysis.lint_text(BROKEN, str(path), path)
    assert again is not first and again == first  # only the last text is kept
    analysis.forget(str(path))
    assert analysis.lint_text(BROKEN, str(path), path) is not again  # closed: forgotten


def test_documents_do_not_share_findings(tmp_path: Path) -> None:
    one, two = tmp_path / "one.xml", tmp_path / "two.xml"
    found = analysis.lint_text(BROKEN, str(one), one)
    assert analysis.lint_text(BROKEN, str(two), two) is not found
    assert {d.file for d in analysis.lint_text(BROKEN, str(two), two)} == {str(two)}
