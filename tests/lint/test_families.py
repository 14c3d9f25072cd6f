"""Conformance of the rule families of spec §6.1-§6.7: each owns exactly the spec's codes, and
every code has a trigger fixture reporting it at the marked lines and a passing fixture
reporting nothing of its family; the §6.1-§6.3 documented examples behave as documented (the
§6.4-§6.6 ones are checked by ``test_docs.py``).

Fixture conventions are described in ``tests/lint/_support.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._support import (
    assert_doc_examples,
    assert_trigger,
    code_of,
    ok_fixtures,
    owned_codes,
    reported,
    trigger_fixtures,
)

SPEC_CODES: dict[str, set[str]] = {
    "attributes": {
    "E020", "E021", "E022", "E023", "W024", "W025",
    "W026", "I027", "W028", "W029", "E02A", "W02B",
},
    "names": {"E030", "E031", "E032", "I033"},
    "structure": {
    "E002", "E003", "W004", "E005", "E006", "W007", "W008",
    "E009", "W010", "E011", "E012", "E013", "W014", "W01B",
},
    "menus": {"E040", "E041", "W042", "E043", "I044", "W045"},
    "numbers": {"E050", "W051", "I052", "W053"},
    "variables": {
    "W060", "W061", "W062", "E063", "W064", "E065", "W066", "W067", "I068", "W069",
},
    "flow": {"W070", "E071", "W072", "W073", "I074", "I075", "W076", "W077"},
}  # fmt: skip
#: the Callr YAML front-end's rules in the same families (tests/lint/test_callr_rules.py,
#: fixtures/callr/*.yaml; docs/callr-yaml.md)
CALLR_CODES: dict[str, set[str]] = {
    "structure": {"E00A", "E00B"},
    "attributes": {"E02C", "E02D"},
    "names": {"E034"},
    "flow": {"W078"},
}
#: families whose docstrings use the ``Fails::``/``Passes::`` example convention
DOC_EXAMPLE_FAMILIES = ("attributes", "flow", "names", "structure")

FIXTURES = [(family, path) for family in SPEC_CODES for path in trigger_fixtures(family)]
OK_FIXTURES = [(family, path) for family in SPEC_CODES for path in ok_fixtures(family)]
CODES = [(family, code) for family, codes in SPEC_CODES.items() for code in sorted(codes)]


@pytest.mark.parametrize("family", sorted(SPEC_CODES))
def test_family_has_exactly_the_spec_codes(family: str) -> None:
    assert owned_codes(family) == SPEC_CODES[family] | CALLR_CODES.get(family, set())


@pytest.mark.parametrize(("family", "path"), FIXTURES, ids=lambda v: getattr(v, "name", v))
def test_trigger_fixture_reports_its_code_at_the_marked_lines(family: str, path: Path) -> None:
    assert_trigger(path)


@pytest.mark.parametrize(("family", "path"), OK_FIXTURES, ids=lambda v: getattr(v, "name", v))
def test_passing_fixture_reports_nothing(family: str, path: Path) -> None:
    assert reported(path, owned_codes(family)) == {}


@pytest.mark.parametrize(("family", "code"), CODES, ids=lambda v: v)
def test_every_code_has_a_trigger_fixture(family: str, code: str) -> None:
    assert any(code_of(p) == code for p in trigger_fixtures(family))


@pytest.mark.parametrize(
    ("family", "code"), [fc for fc in CODES if fc[0] in DOC_EXAMPLE_FAMILIES], ids=lambda v: v
)
def test_documented_examples_behave_as_documented(family: str, code: str) -> None:
    assert_doc_examples(code)
