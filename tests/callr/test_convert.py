"""``dialplan convert``: lossless both ways where possible, a one-line refusal (exit 2) otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import dialplan

ROOT = Path(__file__).resolve().parents[2]
MENU_XML = Path(__file__).resolve().parent / "data" / "menu.xml"
SIMPLE_YAML = """\
branches:
  inbound-call:
    actions:
      - label: start
        action: say@v2
        params:
          what: Hello.
      - action: play@v1
        params:
          media: https://example.com/jingle.mp3
      - action: gather@v2
        params:
          maxDigits: 1
          prompt:
            what: Press a key.
      - action: say@v2
        params:
          what: Thanks.
      - action: hangup@v1
"""
SCRIPTS = [["1"], ["2", "1"], ["timeout"], ["9", "timeout"], ["hangup"]]


def convert(path: Path, to: str, out: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "dialplan", "convert", str(path), "--to", to]
    if out is not None:
        args += ["-o", str(out)]
    return subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=60)


def same_calls(a: Path, b: Path) -> None:
    for inputs in SCRIPTS:
        one, two = dialplan.simulate(a, inputs=inputs), dialplan.simulate(b, inputs=inputs)
        assert (one.prompts, one.outcome) == (two.prompts, two.outcome), inputs


def test_xml_menu_converts_to_yaml_that_runs_the_same(tmp_path: Path) -> None:
    out = tmp_path / "menu.yaml"
    done = convert(MENU_XML, "yaml", out)
    assert done.returncode == 0, done.stderr
    assert dialplan.lint(out) == []
    same_calls(MENU_XML, out)


def test_yaml_converts_to_xml_that_runs_the_same(tmp_path: Path) -> None:
    src = tmp_path / "simple.yaml"
    src.write_text(SIMPLE_YAML)
    out = tmp_path / "simple.xml"
    done = convert(src, "xml", out)
    assert done.returncode == 0, done.stderr
    assert "<script" not in out.read_text() and "<runvars" not in out.read_text()
    assert [d for d in dialplan.lint(out) if d.severity.value == "error"] == []
    same_calls(src, out)


@pytest.mark.parametrize(
    ("path", "to", "message"),
    [
        ("examples/appointment-reminder.yaml", "xml", "appointment-reminder.yaml:8:3: cannot "
         "convert to XML: declared `variables`"),
        ("examples/appointment-reminder.xml", "yaml", "appointment-reminder.xml:4:3: cannot "
         "convert to YAML: <setvar>"),
    ],
)  # fmt: skip
def test_what_cannot_be_expressed_is_refused_in_one_line(path: str, to: str, message: str) -> None:
    done = convert(ROOT / path, to)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""
