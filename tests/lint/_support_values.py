"""Helpers shared by the lint2 tests: lint a fixture or a snippet, keep only our families' codes."""

from __future__ import annotations

import re
from pathlib import Path

from dialplan.diagnostics import Diagnostic
from dialplan.lint.linter import lint_source
from dialplan.lint.registry import all_rules

FIXTURES = Path(__file__).parent / "fixtures"
#: The rule families this directory tests (spec §6.4–6.6).
FAMILIES = ("menus", "numbers", "variables")


def family_codes(family: str) -> list[str]:
    return sorted(code for code, r in all_rules().items() if r.family == family)


OWN_CODES = frozenset(code for family in FAMILIES for code in family_codes(family))


def lint_own(src: str | Path) -> list[Diagnostic]:
    """Diagnostics of our families for a fixture path or an XML string."""
    found = lint_source(str(src) if isinstance(src, Path) else src)
    return [d for d in found if d.code in OWN_CODES]


def codes(src: str | Path) -> set[str]:
    return {d.code for d in lint_own(src)}


def trigger_fixture(code: str) -> Path:
    (path,) = [p for p in FIXTURES.glob(f"{code}_*.xml") if not p.name.endswith("_ok.xml")]
    return path


def passing_fixture(code: str) -> Path:
    return FIXTURES / f"{code}_ok.xml"


def expected_lines(path: Path) -> list[int]:
    """Lines the fixture's author marked with ``<!-- expect -->``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [i for i, line in enumerate(lines, 1) if re.search(r"<!--\s*expect\s*-->", line)]


def check_trigger(code: str) -> None:
    path = trigger_fixture(code)
    found = lint_own(path)
    assert {d.code for d in found} == {code}, found
    assert sorted({d.line for d in found}) == expected_lines(path), found


def check_passing(code: str) -> None:
    found = lint_own(passing_fixture(code))
    assert code not in {d.code for d in found}, found
