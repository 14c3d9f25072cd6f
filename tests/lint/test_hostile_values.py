"""Values no stage can handle (a 5,000-digit number, ``${`` nested 1,000 deep) are diagnostics
with a position in ``lint`` and one-line refusals elsewhere; linting a directory never stops
at one bad file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialplan.lint import registry
from dialplan.lint.context import LintContext
from dialplan.lint.linter import lint_paths
from dialplan.parse import MAX_NUMBER_DIGITS, MAX_TEMPLATE_DEPTH
from tests.clirun import run

HUGE = "1" * 5000
NESTED = "${" * 1000 + "x" + "}" * 1000


def plan(body: str) -> str:
    return f'<dialplan name="x">\n{body}\n</dialplan>\n'


#: file name → (document, code, line, column)
HOSTILE = {
    "max_digits.xml": (
        plan(
            f'<menu name="m" maxDigits="{HUGE}"><play type="tts">hi</play>'
            '<keypress pressed="1"><hangup/></keypress></menu>'
        ),
        "E019",
        2,
        16,
    ),
    "transfer_timeout.xml": (
        plan(f'<transfer timeout="{HUGE}">15550100</transfer>'),
        "E019",
        2,
        11,
    ),
    "key_range.xml": (
        plan(
            '<menu name="m"><play type="tts">hi</play>'
            f'<keypress pressed="1-{HUGE}"><hangup/></keypress></menu>'
        ),
        "E019",
        2,
        52,
    ),
    "nested_text.xml": (plan(f'<setvar varname="a">{NESTED}</setvar><hangup/>'), "E017", 2, 21),
    "nested_attr.xml": (plan(f'<if expr="{NESTED}"><hangup/></if>'), "E017", 2, 5),
}


@pytest.fixture
def hostile_dir(tmp_path: Path) -> Path:
    for name, (xml, *_) in HOSTILE.items():
        (tmp_path / name).write_text(xml, encoding="utf-8")
    (tmp_path / "good.xml").write_text(plan("<hangup/>"), encoding="utf-8")
    return tmp_path


def test_lint_reports_each_hostile_value_at_its_position(hostile_dir: Path) -> None:
    found = {(Path(d.file).name, d.code, d.line, d.column) for d in lint_paths([hostile_dir])}
    for name, (_, code, line, column) in HOSTILE.items():
        assert (name, code, line, column) in found
    assert not any(name == "good.xml" for name, *_ in found)


def test_lint_cli_lints_the_whole_directory(
    hostile_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "lint", str(hostile_dir))
    assert code == 1
    assert "internal error" not in err
    assert out.count(" E019 ") == 3 and out.count(" E017 ") == 2
    assert "more than 1000 digits" in out and "nest deeper than 32 levels" in out


@pytest.mark.parametrize("command", ["simulate", "graph", "paths"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_other_commands_refuse_in_one_line(
    hostile_dir: Path, capsys: pytest.CaptureFixture[str], command: str, name: str
) -> None:
    _, code, line, column = HOSTILE[name]
    status, _, err = run(capsys, command, str(hostile_dir / name))
    assert status == 1
    assert "internal error" not in err and "Traceback" not in err
    assert f"{name}:{line}:{column}: {code} " in err


def test_call_test_reports_the_refused_dialplan(
    hostile_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (hostile_dir / "t.calltest.toml").write_text(
        'dialplan = "nested_text.xml"\n[[case]]\nname = "any"\n[case.expect]\noutcome = "hangup"\n',
        encoding="utf-8",
    )
    status, out, err = run(capsys, "test", str(hostile_dir / "t.calltest.toml"))
    assert status == 1
    assert "internal error" not in err
    assert "E017" in out


def test_limits_are_generous() -> None:
    """Just inside the limits, documents are accepted and linted normally."""
    number = "9" * MAX_NUMBER_DIGITS
    deep = "${" * MAX_TEMPLATE_DEPTH + "x" + "}" * MAX_TEMPLATE_DEPTH
    xml = plan(
        f'<menu name="m" maxDigits="{number}"><play type="tts">{deep}</play>'
        f'<keypress pressed="1-{number}"><hangup/></keypress></menu>'
    )
    from dialplan.lint.linter import lint_source

    codes = {d.code for d in lint_source(xml)}
    assert not codes & {"E000", "E017", "E019"}


def test_runtime_values_nested_deep_are_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    """A contact value nested 2,000 deep is not re-parsed into a RecursionError."""
    import dialplan

    result = dialplan.simulate(
        plan('<play type="tts">Hi ${contact.firstName}</play><hangup/>'),
        contact={"firstName": "${" * 2000},
    )
    assert result.outcome == "hangup"


@pytest.fixture
def exploding_rule() -> Iterator[None]:
    """A real rule (registered like any other) that fails on files named ``boom``."""

    def explode(ctx: LintContext) -> Iterator[registry.Problem]:
        if "boom" in ctx.doc.source.name:
            raise RuntimeError("rule bug")
        return iter(())

    registry.all_rules()
    registry.rule("E999", "test-explodes")(explode)
    try:
        yield
    finally:
        registry._RULES.pop("E999")
        registry.all_rules()


@pytest.mark.usefixtures("exploding_rule")
def test_an_unexpected_failure_is_a_diagnostic_on_that_file_only(hostile_dir: Path) -> None:
    (hostile_dir / "boom.xml").write_text(plan("<hangup/>"), encoding="utf-8")
    found = lint_paths([hostile_dir])
    boom = [d for d in found if Path(d.file).name == "boom.xml"]
    assert [(d.code, d.rule) for d in boom] == [("E000", "internal-error")]
    assert "RuntimeError: rule bug" in boom[0].message
    assert {Path(d.file).name for d in found} >= {"boom.xml", *HOSTILE}


SUPERSCRIPT = plan(
    '<menu name="m" maxDigits="²" timeout="³"><play type="tts">hi</play>'
    '<keypress pressed="1"><hangup/></keypress></menu><transfer timeout="²">15550100</transfer>'
)


def test_non_ascii_digits_are_not_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``"²".isdigit()`` is true but ``int("²")`` fails: the model reads ASCII digits only."""
    path = tmp_path / "superscript.xml"
    path.write_text(SUPERSCRIPT, encoding="utf-8")
    found = lint_paths([path])
    assert "E000" not in {d.code for d in found}
    assert [d.code for d in found if d.code == "E022"] == ["E022", "E022", "E022"]
    for command, status in (("simulate", 1), ("graph", 0), ("paths", 0)):
        code, _, err = run(capsys, command, str(path))
        assert code == status and "internal error" not in err, (command, err)
    code, _, err = run(capsys, "simulate", str(tmp_path / "superscript.xml"), "--input", "²")
    assert code in (1, 2) and "internal error" not in err


def test_positions_of_many_references_in_one_value_are_exact() -> None:
    """Positions are found by resuming the previous walk (walking from the value's start for
    each reference was quadratic: 5,000 references took 17 s)."""
    from dialplan.lint.config import LintConfig
    from dialplan.lint.linter import lint_source

    refs = "x &amp; ${a} " * 2000
    xml = f'<dialplan name="x"><play type="tts">{refs}</play><hangup/></dialplan>'
    found = lint_source(xml, config=LintConfig(select=("W060",)))
    columns = [d.column for d in found]
    starts = [i + 1 for i in range(len(xml)) if xml.startswith("${a}", i)]
    assert columns == starts


def test_lint_of_a_value_with_many_references_is_linear(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "refs.xml"
    path.write_text(plan(f'<play type="tts">{"${a}" * 30_000}</play><hangup/>'), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "dialplan", "lint", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,  # hang-guard: the quadratic walk took about ten minutes here
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert done.returncode == 0
    assert done.stdout.count('"W060"') == 30_000
