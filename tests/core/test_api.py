"""The public API: explicit ``__all__``, load/lint behaviour, and the exception tree."""

from __future__ import annotations

import pytest

import dialplan
from dialplan import InvalidDialplan

GOOD = '<dialplan name="x"><play type="tts">Hello</play><hangup/></dialplan>'


def test_all_is_explicit_and_importable() -> None:
    assert sorted(dialplan.__all__) == sorted(set(dialplan.__all__))
    for name in dialplan.__all__:
        assert hasattr(dialplan, name), name
    assert {"load", "lint", "simulate", "Diagnostic", "InvalidDialplan", "Plan"} <= set(
        dialplan.__all__
    )


def test_load_returns_a_plan_with_names_resolved() -> None:
    plan = dialplan.load(
        '<dialplan><menu name="M"><play type="tts">a</play></menu><goto>M</goto></dialplan>'
    )
    assert isinstance(plan, dialplan.Plan)
    assert plan.resolve("M") is plan.nodes[1]
    assert plan.resolve("m") is None  # exact, case-sensitive (spec §2.2)


def test_load_of_a_plan_returns_it_unchanged() -> None:
    plan = dialplan.load(GOOD)
    assert dialplan.load(plan) is plan


def test_load_raises_with_all_diagnostics_for_malformed_xml() -> None:
    with pytest.raises(InvalidDialplan) as info:
        dialplan.load("<dialplan><play type='tts'>unclosed</dialplan>")
    assert [d.code for d in info.value.diagnostics] == ["E001"]
    assert info.value.exit_code == 1
    assert "E001" in str(info.value)


def test_load_reads_files(tmp_path) -> None:
    path = tmp_path / "plan.xml"
    path.write_text(GOOD, encoding="utf-8")
    assert dialplan.load(path).source == str(path)
    assert dialplan.load(str(path)).root.name == "x"


def test_lint_returns_sorted_diagnostics_with_file_names(tmp_path) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(b"<dialplan>")
    (diag,) = dialplan.lint(path)
    assert (diag.code, diag.rule, diag.file, diag.line) == ("E001", "not-well-formed", str(path), 1)
    assert diag.severity is dialplan.Severity.ERROR


def test_exception_tree_exit_codes() -> None:
    assert issubclass(InvalidDialplan, dialplan.DialplanError)
    assert dialplan.UsageError.exit_code == 2
    assert dialplan.CampaignError.exit_code == 2
