"""The Callr YAML rules: one failing and one passing fixture per code (``fixtures/callr``).

A failing fixture marks each expected finding's line with ``# expect: CODE``; it must report
exactly those findings of the YAML codes, and a passing fixture none of its code.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from dialplan.lint import LintConfig, all_rules, lint_source

from ._support import assert_doc_examples

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "callr"
CODES = ("E00A", "E00B", "E02C", "E02D", "E034", "W078")
_MARK = re.compile(r"#\s*expect:\s*([A-Z0-9 ,]+?)\s*$")


def expected(path: Path) -> Counter[tuple[str, int]]:
    found: Counter[tuple[str, int]] = Counter()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = _MARK.search(line)
        if m:
            for code in m.group(1).split(","):
                found[(code.strip(), number)] += 1
    return found


def reported(path: Path) -> Counter[tuple[str, int]]:
    diags = lint_source(path, path.name, LintConfig())
    return Counter((d.code, d.line) for d in diags if d.code in CODES)


@pytest.mark.parametrize("code", CODES)
def test_failing_fixture_reports_exactly_its_markers(code: str) -> None:
    (path,) = [p for p in FIXTURES.glob(f"{code}_*.yaml") if not p.stem.endswith("_ok")]
    want = expected(path)
    assert code in {c for c, _ in want}
    assert reported(path) == want


@pytest.mark.parametrize("code", CODES)
def test_passing_fixture_reports_no_finding_of_its_family(code: str) -> None:
    path = FIXTURES / f"{code}_ok.yaml"
    family = all_rules()[code].family
    found = [d for d in lint_source(path, path.name) if all_rules().get(d.code)]
    assert [d for d in found if all_rules()[d.code].family == family] == []


@pytest.mark.parametrize("code", CODES)
def test_documentation_examples_fail_and_pass(code: str) -> None:
    assert_doc_examples(code)


def test_xml_files_cannot_use_the_yaml_front_ends_tags() -> None:
    for tag in ("script", "runvars", "fetch", "log"):
        found = lint_source(f"<dialplan><{tag}>x</{tag}></dialplan>")
        assert ("E003", 1, 11) in [(d.code, d.line, d.column) for d in found], tag
