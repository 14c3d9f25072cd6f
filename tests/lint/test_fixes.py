"""``dialplan lint --fix``: certain repairs only, idempotent, and never changing what a call does.

The corpus proof: every corpus file is "damaged" with the spellings the runtime reads the same
way (``maxdigits``, ``<notequal>``, ``Default``, ``Silent``); ``--fix`` must give back the
original text byte for byte, and every route of the damaged and of the repaired plan (from
``dialplan.model.paths``) simulates to the same call.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import dialplan
from dialplan.cli import cli
from dialplan.lint.config import LintConfig
from dialplan.lint.fixes import fix_source
from dialplan.model.paths import enumerate_routes

from ..conftest import corpus_files

DAMAGE = [
    (re.compile(r"\bmaxDigits="), "maxdigits="),
    (re.compile(r"<(/?)notEqual\b"), r"<\1notequal"),
    (re.compile(r'pressed="default"'), 'pressed="Default"'),
    (re.compile(r'pressed="timeout"'), 'pressed="TIMEOUT"'),
    (re.compile(r'musiconhold="silence"'), 'musiconhold="Silent"'),
]


def damage(text: str) -> str:
    for pattern, repl in DAMAGE:
        text = pattern.sub(repl, text)
    return text


def calls(text: str) -> list[dict[str, object]]:
    """The simulated call of every route of ``text``."""
    plan = dialplan.load(text.encode("utf-8"), "plan.xml")
    out = []
    for route in enumerate_routes(plan, limit=200).routes:
        result = dialplan.simulate(
            plan,
            amd=route.amd or "live",
            inputs=list(route.inputs),
            transfer=(route.transfer or "answered").replace(" ", "_"),
        )
        found = result.to_dict()
        out.append(
            {
                k: found[k]
                for k in (
                    "outcome",
                    "error",
                    "prompts",
                    "responses",
                    "variables",
                    "transfer",
                    "duration_s",
                    "decisions",
                )
            }
        )
    return out


def _valid(text: str) -> bool:
    return dialplan.validate.is_valid(text.encode("utf-8"), "plan.xml")


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_fix_restores_damaged_corpus_files_without_changing_any_call(path: Path) -> None:
    original = path.read_text(encoding="utf-8")
    repaired_original = fix_source(original.encode(), path.name)
    broken = damage(repaired_original.after)
    fixed = fix_source(broken.encode(), path.name)
    assert fixed.after == repaired_original.after
    again = fix_source(fixed.encoded(), path.name)
    assert again.fixed == 0 and again.after == fixed.after  # idempotent
    if broken != fixed.after and _valid(broken):
        assert calls(broken) == calls(fixed.after)
    if repaired_original.changed and _valid(original):
        assert calls(original) == calls(repaired_original.after)


def test_every_corpus_file_has_been_exercised() -> None:
    files = corpus_files()
    if not files:
        pytest.skip("../shared/corpus is not available")
    damaged = sum(
        damage(p.read_text(encoding="utf-8")) != p.read_text(encoding="utf-8") for p in files
    )
    assert damaged >= 10  # the proof above is not vacuous


FIXABLE = """<dialplan name="Root">
  <menu name="m" maxdigits="1" timeout="3000">
    <play type="tts">Press 1</play>
    <keypress pressed="1"><notequal var="${x}" expr="1"><hangup/></notequal></keypress>
    <keypress pressed="Timeout"><transfer musiconhold="Silent">2135551212</transfer></keypress>
  </menu>
  <get varname="r">https://example.com/a?
      b=1</get>
  <hangup/>
</dialplan>
"""
FIXED = (
    FIXABLE.replace("maxdigits", "maxDigits")
    .replace("notequal", "notEqual")
    .replace("Timeout", "timeout")
    .replace("Silent", "silence")
)


def test_fix_repairs_each_certain_finding_and_keeps_the_rest() -> None:
    result = fix_source(FIXABLE.encode(), "f.xml")
    assert result.after == FIXED and result.fixed == 4
    assert {d.code for d in result.diagnostics} >= {"W02B"}
    assert not {"W024", "W004", "I044", "I027"} & {d.code for d in result.diagnostics}
    unsafe = fix_source(FIXABLE.encode(), "f.xml", unsafe=True)
    assert "https://example.com/a?b=1</get>" in unsafe.after and unsafe.fixed == 5


def test_fix_skips_what_is_not_certain() -> None:
    # a case variant that collides with the real attribute, and an unknown attribute
    text = (
        '<dialplan><menu maxDigits="1" maxdigits="2" colr="x"><play type="tts">x</play>'
        '<keypress pressed="1"><hangup/></keypress></menu></dialplan>'
    )
    assert not fix_source(text.encode(), "f.xml").changed
    # findings switched off by the configuration are not fixed
    assert not fix_source(FIXABLE.encode(), "f.xml", LintConfig(ignore=("W", "I"))).changed


def test_fix_keeps_the_encoding_of_the_file() -> None:
    text = FIXABLE.replace("Press 1", "Pulse 1 para espa\u00f1ol")
    data = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n' + text).encode("latin-1")
    result = fix_source(data, "f.xml")
    assert (
        result.encoded()
        .decode("latin-1")
        .endswith(FIXED.replace("Press 1", "Pulse 1 para espa\u00f1ol"))
    )


def test_cli_fix_writes_diff_previews(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f.xml").write_text(FIXABLE)
    runner = CliRunner(env={"NO_COLOR": "1"})
    preview = runner.invoke(cli, ["lint", "--diff", "f.xml"])
    assert preview.exit_code == 1
    assert (
        '-  <menu name="m" maxdigits' in preview.stdout
        and '+  <menu name="m" maxDigits' in preview.stdout
    )
    assert (tmp_path / "f.xml").read_text() == FIXABLE  # --diff changes nothing
    done = runner.invoke(cli, ["lint", "--fix", "f.xml"])
    assert (tmp_path / "f.xml").read_text() == FIXED
    assert done.exit_code == 0 and "fixed 4 findings in 1 file" in done.output
    assert "W02B" in done.stdout  # what is left is reported
    again = runner.invoke(cli, ["lint", "--diff", "f.xml"])
    assert again.exit_code == 0 and "would apply 0 fixes in 0 files" in again.output


def test_cli_fix_from_stdin_prints_the_fixed_text(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["lint", "--fix", "-"], input=FIXABLE)
    assert result.stdout == FIXED
