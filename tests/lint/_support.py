"""Fixture conventions for the rule tests of spec §6.1–§6.7.

A fixture is ``fixtures/<CODE>_<what>.xml`` (it must trigger ``CODE``) or ``<CODE>_ok.xml`` /
``ok_<what>.xml`` (it must not). The line a finding is expected on carries a comment
``<!-- expect: CODE[, CODE…] -->`` (one entry per expected finding on that line). Tests compare the
(code, line) pairs of every code of §6.1–6.6 and of the fixture's own family with the markers:
nothing missing and nothing extra (flow codes are only looked at in flow fixtures: most other
fixtures end without a hangup, I074). A passing fixture reports no code of its family.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from dialplan.diagnostics import Diagnostic
from dialplan.lint import LintConfig, all_rules, lint_source

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FAMILIES = ("structure", "attributes", "names", "menus", "numbers", "variables", "flow")
#: The families every trigger fixture is compared on (besides its own).
MARKED_FAMILIES = ("structure", "attributes", "names", "menus", "numbers", "variables")
#: The families of spec §6.1–6.3 (document, attributes, names).
STRUCTURE_FAMILIES = ("structure", "attributes", "names")
#: The value families (spec §6.4–6.6), whose other tests look at their own codes only.
VALUE_FAMILIES = ("menus", "numbers", "variables")
_MARK = re.compile(r"<!--\s*expect:\s*([A-Z0-9 ,]+?)\s*-->")
_NAME = re.compile(r"^([EWI]0[0-9A-Z]{2})_")


def owned_codes(family: str | tuple[str, ...] | None = None) -> set[str]:
    """The codes of one family, of several, or of all the families tested here."""
    wanted = FAMILIES if family is None else (family,) if isinstance(family, str) else family
    return {code for code, r in all_rules().items() if r.family in wanted}


def expected(path: Path) -> Counter[tuple[str, int]]:
    """The (code, line) pairs the markers of ``path`` announce."""
    found: Counter[tuple[str, int]] = Counter()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for mark in _MARK.finditer(line):
            for code in mark.group(1).split(","):
                found[(code.strip(), number)] += 1
    return found


def reported(path: Path, codes: set[str] | None = None) -> Counter[tuple[str, int]]:
    """The (code, line) pairs the linter reports for ``path`` among ``codes`` (default: owned)."""
    codes = owned_codes() if codes is None else codes
    diags = lint_source(path, path.name, LintConfig())
    return Counter((d.code, d.line) for d in diags if d.code in codes)


def trigger_fixtures(family: str) -> list[Path]:
    """``<CODE>_*.xml`` fixtures (not ``_ok``) whose code belongs to ``family``."""
    codes = owned_codes(family)
    out = []
    for path in sorted(FIXTURES.glob("*.xml")):
        m = _NAME.match(path.name)
        if m and m.group(1) in codes and not path.stem.endswith("_ok"):
            out.append(path)
    return out


def ok_fixtures(family: str) -> list[Path]:
    """``<CODE>_ok.xml`` of ``family`` plus (for the §6.1-6.3 families) every shared
    ``ok_*.xml``."""
    codes = owned_codes(family)
    shared = family in STRUCTURE_FAMILIES
    out = []
    for path in sorted(FIXTURES.glob("*.xml")):
        m = _NAME.match(path.name)
        if (shared and path.name.startswith("ok_")) or (
            m and m.group(1) in codes and path.stem.endswith("_ok")
        ):
            out.append(path)
    return out


def code_of(path: Path) -> str:
    m = _NAME.match(path.name)
    assert m, path.name
    return m.group(1)


def doc_examples(code: str) -> tuple[str, str]:
    """The failing and the passing example of a rule's docstring (``Fails…::`` / ``Passes::``)."""
    lines = all_rules()[code].doc.splitlines()
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if line.startswith(("Fails", "Passes")) and line.rstrip().endswith("::"):
            current = blocks.setdefault(line.split()[0].rstrip(":"), [])
        elif current is not None and (line.startswith("    ") or not line.strip()):
            current.append(line[4:])
        else:
            current = None
    return "\n".join(blocks["Fails"]).strip(), "\n".join(blocks["Passes"]).strip()


def assert_trigger(path: Path) -> None:
    """``path`` reports exactly its markers (and has one for its own code)."""
    want = expected(path)
    code = code_of(path)
    assert code in {c for c, _ in want}, "fixture has no marker for its own code"
    compared = owned_codes(MARKED_FAMILIES) | owned_codes(all_rules()[code].family)
    assert reported(path, compared) == want


def assert_doc_examples(code: str) -> None:
    """The rule's docstring has a summary line, and its examples fail and pass as they say."""
    rule = all_rules()[code]
    lines = rule.doc.splitlines()
    assert len(lines) > 2 and lines[1] == "", "the first line must be the whole summary"
    assert rule.summary.endswith("."), "the summary is one sentence"
    failing, passing = doc_examples(code)
    only = LintConfig(select=(code,))
    assert [d.code for d in lint_source(failing, config=only)], f"{code}: failing example passes"
    assert lint_source(passing, config=only) == [], f"{code}: passing example fails"


def at(xml: str, code: str) -> list[tuple[int, int]]:
    """(line, column) of each finding of ``code`` in ``xml``."""
    return [(d.line, d.column) for d in lint_source(xml, config=LintConfig(select=(code,)))]


def messages(xml: str, code: str) -> list[str]:
    return [d.message for d in lint_source(xml, config=LintConfig(select=(code,)))]


VALUE_CODES = frozenset(code for code, r in all_rules().items() if r.family in VALUE_FAMILIES)


def lint_values(src: str | Path) -> list[Diagnostic]:
    """Diagnostics of the value families for a fixture path or an XML string."""
    found = lint_source(str(src) if isinstance(src, Path) else src)
    return [d for d in found if d.code in VALUE_CODES]


def codes(src: str | Path) -> set[str]:
    """The value-family codes reported for a fixture path or an XML string."""
    return {d.code for d in lint_values(src)}
