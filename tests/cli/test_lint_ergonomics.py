"""ruff-like ergonomics of ``dialplan lint``: suppressions, per-file config, stdin, snippets, cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dialplan.cli import cli
from dialplan.lint.cache import LintCache
from dialplan.lint.config import ConfigFinder, LintConfig, load_config
from dialplan.lint.linter import lint_run, lint_source

# W024 on line 2 (unknown attribute), E031 on line 3 (unknown goto target)
BROKEN = (
    '<dialplan name="Root">\n'
    '  <play type="tts" colour="red">Hello</play>\n'
    "  <goto>Nowhere</goto>\n"
    "</dialplan>\n"
)


def run(*args: str, input: str | None = None) -> Result:
    runner = CliRunner(env={"NO_COLOR": "1", "FORCE_COLOR": None})
    return runner.invoke(cli, list(args), input=input)


def found(result: Result) -> list[tuple[str, str, int]]:
    return [(Path(d["file"]).name, d["code"], d["line"]) for d in json.loads(result.stdout)]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIALPLAN_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


# ---- inline suppressions ----------------------------------------------------------------------


def codes_of(text: str, config: LintConfig | None = None) -> list[tuple[str, int]]:
    return [(d.code, d.line) for d in lint_source(text, "t.xml", config)]


def test_ignore_comment_silences_the_next_tag_only() -> None:
    text = BROKEN.replace("  <play", "  <!-- dialplan: ignore[W024] -->\n  <play")
    assert codes_of(text) == [("E031", 4)]
    twice = text.replace("</dialplan>", '  <play type="tts" colour="x">Bye</play>\n</dialplan>')
    assert ("W024", 5) in codes_of(twice)  # a later tag is not covered


def test_ignore_comment_covers_every_line_of_a_multiline_start_tag() -> None:
    text = BROKEN.replace(
        '  <play type="tts" colour="red">',
        '  <!-- dialplan: ignore[W024] -->\n  <play type="tts"\n        colour="red">',
    )
    assert codes_of(text) == [("E031", 5)]


def test_trailing_ignore_comment_covers_its_own_line() -> None:
    text = BROKEN.replace("</goto>", "</goto> <!-- dialplan: ignore[E031] -->")
    assert codes_of(text) == [("W024", 2)]


def test_ignore_file_silences_a_code_everywhere_and_bare_ignore_all_codes() -> None:
    text = BROKEN.replace("</dialplan>", "<!-- dialplan: ignore-file[W024,E031] -->\n</dialplan>")
    assert codes_of(text) == []
    bare = BROKEN.replace("  <goto>", "  <!-- dialplan: ignore -->\n  <goto>")
    assert codes_of(bare) == [("W024", 2)]


def test_unused_and_unknown_suppressions_are_reported() -> None:
    text = BROKEN.replace("  <goto>", "  <!-- dialplan: ignore[E031, W070] -->\n  <goto>")
    text = text.replace("</dialplan>", "<!-- dialplan: ignore-file[W999] -->\n</dialplan>")
    diags = lint_source(text, "t.xml")
    w01a = [(d.line, d.message) for d in diags if d.code == "W01A"]
    assert [line for line, _ in w01a] == [3, 5]
    assert "W070" in w01a[0][1] and "unknown rule code 'W999'" in w01a[1][1]
    # not reported for a code that is not selected anyway, nor when W01A itself is ignored
    assert not [
        d
        for d in lint_source(text, "t.xml", LintConfig(ignore=("W070", "W01A")))
        if d.code == "W01A"
    ]
    assert [
        d.line for d in lint_source(text, "t.xml", LintConfig(ignore=("W070",))) if d.code == "W01A"
    ] == [5]


# ---- configuration ----------------------------------------------------------------------------


def test_config_is_discovered_from_each_files_folder(work: Path) -> None:
    (work / "pyproject.toml").write_text('[tool.dialplan.lint]\nignore = ["W024"]\n')
    nested = work / "team" / "deep"
    nested.mkdir(parents=True)
    (work / "team" / "dialplan.toml").write_text('[lint]\nignore = ["E031"]\n')
    (work / "top.xml").write_text(BROKEN)
    (nested / "inner.xml").write_text(BROKEN)
    result = run("lint", "--format", "json", ".")
    assert found(result) == [("inner.xml", "W024", 2), ("top.xml", "E031", 3)]
    # run from inside the nested folder: same configuration per file
    os.chdir(nested)
    assert found(run("lint", "--format", "json", "inner.xml", "../../top.xml")) == [
        ("top.xml", "E031", 3),
        ("inner.xml", "W024", 2),
    ]


def test_per_file_ignores_and_extend_select(work: Path) -> None:
    (work / "pyproject.toml").write_text(
        "[tool.dialplan.lint]\n"
        'select = ["E"]\n'
        'extend-select = ["W024"]\n'
        '[tool.dialplan.lint.per-file-ignores]\n"legacy/*.xml" = ["E031"]\n'
    )
    (work / "legacy").mkdir()
    (work / "legacy" / "old.xml").write_text(BROKEN)
    (work / "new.xml").write_text(BROKEN)
    assert found(run("lint", "--format", "json", ".")) == [
        ("old.xml", "W024", 2),
        ("new.xml", "W024", 2),
        ("new.xml", "E031", 3),
    ]
    # --extend-select on the command line adds to the configured selection too
    assert ("new.xml", "W01A", 1) not in found(run("lint", "--format", "json", "new.xml"))


def test_config_option_accepts_the_readme_table(work: Path) -> None:
    (work / "lint.toml").write_text(
        '[tool.dialplan.lint]\nselect = ["E", "W"]\nignore = ["W024"]\n'
    )
    (work / "a.xml").write_text(BROKEN)
    result = run("lint", "--format", "json", "--config", "lint.toml", "a.xml")
    assert result.exit_code == 1, result.output
    assert found(result) == [("a.xml", "E031", 3)]


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[lint]\nselct = ["E"]\n', "unknown lint setting: 'selct' (did you mean 'select'?)"),
        ("[lint]\nper-file-ignore = {}\n", "(did you mean 'per-file-ignores'?)"),
        (
            "[lint.rules.unreachable-nod]\nx = 1\n",
            "'unreachable-nod' (did you mean 'unreachable-node'?)",
        ),
        ('[lint]\nextend-select = ["X1"]\n', "'extend-select': not a rule code or prefix"),
    ],
)
def test_unknown_settings_are_named_with_did_you_mean(work: Path, toml: str, expected: str) -> None:
    (work / "dialplan.toml").write_text(toml)
    (work / "a.xml").write_text(BROKEN)
    result = run("lint", "a.xml")
    assert result.exit_code == 2
    assert expected in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_finder_prefers_dialplan_toml_and_skips_pyproject_without_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.dialplan.lint]\nselect = ["W"]\n')
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert ConfigFinder().for_folder(sub).select == ("W",)
    (tmp_path / "dialplan.toml").write_text('[lint]\nselect = ["I"]\n')
    assert ConfigFinder().for_folder(sub).select == ("I",)
    assert load_config(tmp_path / "pyproject.toml").select == ("W",)


# ---- stdin, snippets, summary, statistics -----------------------------------------------------


def test_stdin_with_stdin_filename_through_a_real_process(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "dialplan.toml").write_text('[lint]\nignore = ["W024"]\n')
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "dialplan", "lint", "-", "--stdin-filename", "sub/plan.xml"],
        input=BROKEN.encode(),
        capture_output=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout.decode()
    assert out.startswith("sub/plan.xml:3:9: E031 error")
    assert "W024" not in out  # the configuration of sub/ applies to the stdin file
    assert "3 |   <goto>Nowhere</goto>\n  |         ^^^^^^^\n" in out


def test_text_output_has_a_snippet_with_caret_and_a_summary(work: Path) -> None:
    (work / "a.xml").write_text(BROKEN)
    (work / "clean.xml").write_text('<dialplan name="R">\n  <hangup/>\n</dialplan>\n')
    result = run("lint", "--no-cache", "a.xml", "clean.xml")
    assert result.stdout == (
        'a.xml:2:20: W024 warning unknown attribute "colour" on <play>; '
        "<play> takes name, type, voice, cache\n"
        "  |\n"
        '2 |   <play type="tts" colour="red">Hello</play>\n'
        "  |                    ^^^^^^\n"
        'a.xml:3:9: E031 error <goto> target "Nowhere" not found\n'
        "  |\n"
        "3 |   <goto>Nowhere</goto>\n"
        "  |         ^^^^^^^\n"
        "found 1 error, 1 warning, 0 info in 1 of 2 files checked\n"
    )


def test_caret_keeps_tabs_aligned() -> None:
    from dialplan.lint.formatters import snippet

    assert snippet('\t<goto a="1">', 1, 8) == ["  |", '1 | \t<goto a="1">', "  | \t      ^"]


def test_statistics_counts_per_code(work: Path) -> None:
    (work / "a.xml").write_text(BROKEN)
    (work / "b.xml").write_text(BROKEN)
    result = run("lint", "--statistics", "a.xml", "b.xml")
    assert result.stdout.splitlines() == [
        "2  E031  goto-target-not-found        error",
        "2  W024  unknown-attribute            warning",
        "found 2 errors, 2 warnings, 0 info in 2 of 2 files checked",
    ]


# ---- cache ------------------------------------------------------------------------------------


def test_cache_reuses_findings_until_content_or_config_changes(tmp_path: Path) -> None:
    plans = tmp_path / "plans"
    plans.mkdir()
    for i in range(3):
        (plans / f"p{i}.xml").write_text(BROKEN)
    cache_dir = tmp_path / "cache"
    first = lint_run([plans], cache=LintCache(cache_dir))
    assert (first.files, first.cached) == (3, 0)
    warm = lint_run([plans], cache=LintCache(cache_dir))
    assert (warm.files, warm.cached) == (3, 3) and warm.diagnostics == first.diagnostics
    (plans / "p1.xml").write_text(BROKEN.replace("<goto>Nowhere</goto>", "<hangup/>"))
    changed = lint_run([plans], cache=LintCache(cache_dir))
    assert changed.cached == 2
    assert [d.code for d in changed.diagnostics if d.file.endswith("p1.xml")] == ["W024"]
    other = lint_run([plans], LintConfig(ignore=("W",)), cache=LintCache(cache_dir))
    assert other.cached == 0 and {d.code for d in other.diagnostics} == {"E031"}
    assert (cache_dir / ".gitignore").read_text().endswith("*\n")


def test_cli_cache_dir_and_no_cache(work: Path) -> None:
    (work / "a.xml").write_text(BROKEN)
    run("lint", "--cache-dir", "mine", "a.xml")
    assert list((work / "mine").glob("lint-*.json"))
    run("lint", "--no-cache", "--cache-dir", "other", "a.xml")
    assert not (work / "other").exists()
    (work / "dialplan.toml").write_text('[lint]\ncache-dir = "from-config"\n')
    os.environ.pop("DIALPLAN_CACHE_DIR", None)
    run("lint", "a.xml")
    assert list((work / "from-config").glob("lint-*.json"))
