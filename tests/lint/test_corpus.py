"""The linter over the real corpus (``../shared/corpus``): no crash, no false positive, real defects.

``OWN_EXPECTED`` lists, per corpus file, every finding of the structure/attributes/names families
(spec §6.1–§6.3) as (code, line); a file not listed must have none. Each entry is a real defect or
a condition the spec asks the validator to point out, with the reason next to it.
``OTHER_EXPECTED`` is the place for the menus/numbers/variables/flow families (§6.4–§6.7): those
entries are checked only once the code is registered, and only for presence.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from dialplan.diagnostics import Diagnostic, Severity
from dialplan.lint import LintConfig, all_rules, lint_source
from dialplan.lint.registry import PIPELINE_CODES

from ..conftest import CORPUS, corpus_file, corpus_files
from ._support import STRUCTURE_FAMILIES, owned_codes

SEED = "seeds/nonprofit-charity-ivr.xml"
IVR = "callfire-ivr-samples/"

OWN_EXPECTED: dict[str, list[tuple[str, int]]] = {
    # spec §6.1 W007 cites this tutorial menu: a play and a transfer, no keypress ...
    SEED: [("W007", 36), ("W008", 40)],  # ... and the transfer is a prompt-phase child
    # spec §2.3: timeout="1000" is ambiguous (read as 1000 ms) and the validator warns
    IVR + "Appointment Reminders/Appointment2.xml": [("W025", 9)],
    IVR + "Polls and Surveys/CustomerSatisfaction.xml": [("W025", 11), ("W025", 24)],
    IVR + "Polls and Surveys/JobInterviewSurvey.xml": [("W025", 13)],
    # PROVENANCE: goto into a node nested in another menu's keypress (goodbye)
    IVR + "Inbound-only Campaigns/DNCModule.xml": [("I033", 64)],
    # PROVENANCE: goto to the 2nd prompt of another menu (options)
    IVR + "Utilities/NestedVariables.xml": [("I033", 25)],
}

# ---- place for the other rule families (§6.4–§6.7): add (code, line) entries here ----------
OTHER_EXPECTED: dict[str, list[tuple[str, int]]] = {
    # PROVENANCE: two <keypress pressed="default"> in one menu; the second is the duplicate
    IVR + "Utilities/SimpleTransfer2.xml": [("E041", 12)],
}
# ---------------------------------------------------------------------------------------------


def _rel(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


def _lint(path: Path) -> list[Diagnostic]:
    return lint_source(path, _rel(path), LintConfig())


@pytest.mark.parametrize("path", corpus_files(), ids=_rel)
def test_every_corpus_file_lints_with_registered_codes_only(path: Path) -> None:
    diags = _lint(path)
    known = set(all_rules()) | set(PIPELINE_CODES)
    lines = path.read_text(encoding="utf-8").splitlines()
    for d in diags:
        assert d.code in known, d
        assert 1 <= d.line <= len(lines) and 1 <= d.column <= len(lines[d.line - 1]) + 1, d


@pytest.mark.parametrize("path", corpus_files(), ids=_rel)
def test_own_findings_are_exactly_the_known_ones(path: Path) -> None:
    mine = owned_codes(STRUCTURE_FAMILIES)
    found = Counter((d.code, d.line) for d in _lint(path) if d.code in mine)
    assert found == Counter(OWN_EXPECTED.get(_rel(path), []))


def test_expectation_tables_name_existing_files(corpus: Path) -> None:
    for rel in (*OWN_EXPECTED, *OTHER_EXPECTED):
        assert (corpus / rel).is_file(), rel


def test_seed_has_no_error() -> None:
    diags = _lint(corpus_file(SEED))
    assert [d for d in diags if d.severity is Severity.ERROR] == []


@pytest.mark.parametrize(
    ("rel", "code", "line"),
    [(rel, code, line) for rel, items in OTHER_EXPECTED.items() for code, line in items],
)
def test_other_families_find_their_defects(rel: str, code: str, line: int) -> None:
    if code not in all_rules():
        pytest.skip(f"{code} is not registered in this checkout")
    found = {(d.code, d.line) for d in _lint(corpus_file(rel))}
    assert (code, line) in found


def test_case_only_goto_mismatch_in_the_seed_is_e031_with_a_suggestion() -> None:
    """The R-API Java sample's defect (``<goto>Live</goto>`` vs ``name="live"``) on the seed."""
    text = corpus_file(SEED).read_text(encoding="utf-8")
    broken = text.replace('name="Live"', 'name="live"')
    diags = [d for d in lint_source(broken, "seed") if d.code == "E031"]
    assert [d.line for d in diags] == [7, 33]
    assert all('"live"' in d.message for d in diags)
