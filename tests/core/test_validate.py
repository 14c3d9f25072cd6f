"""The validation stage: xmlschema's shape, and ``load``, ``lint`` and the stage agree on every file."""

from __future__ import annotations

from pathlib import Path

import pytest

import dialplan
from dialplan import validate
from dialplan.diagnostics import Severity
from dialplan.errors import InvalidDialplan
from dialplan.parse import parse_any

from ..conftest import CORPUS, ROOT, corpus_files

VALID = '<dialplan name="root">\n<play type="tts">hi</play>\n<hangup/>\n</dialplan>'
#: a rule error (E031, line 2) and a schema-only error (E018, line 3) in one file
INVALID = '<dialplan name="root">\n<goto>nowhere</goto>\n<hangup>bye</hangup>\n</dialplan>'
FIXTURES = sorted((ROOT / "tests" / "lint" / "fixtures").glob("*.xml"))


def test_a_valid_plan_has_no_errors_and_validates_to_its_model() -> None:
    assert list(validate.iter_errors(VALID)) == []
    assert validate.is_valid(VALID)
    plan = validate.validate(VALID)
    assert isinstance(plan, dialplan.Plan) and [n.tag for n in plan.nodes][-1] == "hangup"


def test_rule_and_schema_errors_come_from_one_pass_sorted_by_position() -> None:
    errors = list(validate.iter_errors(INVALID, "p.xml"))
    assert [(d.code, d.line, d.rule, d.file) for d in errors] == [
        ("E031", 2, "goto-target-not-found", "p.xml"),
        ("E018", 3, "schema-violation", "p.xml"),
    ]
    assert not validate.is_valid(INVALID)
    with pytest.raises(InvalidDialplan) as caught:
        validate.validate(INVALID, "p.xml")
    assert caught.value.diagnostics == errors


def test_warnings_and_infos_are_not_errors() -> None:
    xml = '<dialplan name="root">\n<play type="tts" speed="2">hi</play>\n</dialplan>'  # W024, I074
    assert {d.severity for d in dialplan.lint(xml)} == {Severity.WARNING, Severity.INFO}
    assert validate.is_valid(xml) and list(validate.iter_errors(xml)) == []


def test_an_unparsable_document_yields_the_parser_error() -> None:
    (d,) = validate.iter_errors("<dialplan>", "broken.xml")
    assert (d.code, d.rule, d.file) == ("E001", "not-well-formed", "broken.xml")
    assert not validate.is_valid("<dialplan>")
    with pytest.raises(InvalidDialplan):
        validate.validate(b"")


def test_a_parsed_document_is_accepted_as_it_is() -> None:
    doc = parse_any(INVALID, "doc.xml")
    assert [d.code for d in validate.iter_errors(doc)] == ["E031", "E018"]


def _agree(path: Path, name: str) -> None:
    errors = list(validate.iter_errors(path, name))
    linted = [d for d in dialplan.lint(path, name) if d.severity is Severity.ERROR]
    assert errors == linted
    if errors:
        with pytest.raises(InvalidDialplan) as caught:
            dialplan.load(path, name)
        assert caught.value.diagnostics == errors
    else:
        assert isinstance(dialplan.load(path, name), dialplan.Plan)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_stage_load_and_lint_agree_on_every_corpus_file(path: Path) -> None:
    _agree(path, path.relative_to(CORPUS).as_posix())


def test_the_corpus_holds_files_to_agree_on() -> None:
    if not corpus_files():
        pytest.skip("../shared/corpus is not available")
    assert any(not validate.is_valid(p) for p in corpus_files())  # SimpleTransfer2: E041


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_stage_load_and_lint_agree_on_every_rule_fixture(path: Path) -> None:
    _agree(path, path.name)
