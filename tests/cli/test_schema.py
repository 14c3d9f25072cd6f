"""``dialplan schema``: print the XSD, its path, or a normalised document."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialplan.cli import cli
from tests.conftest import ROOT

XSD = ROOT / "xsd" / "dialplan.xsd"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_prints_the_bundled_xsd() -> None:
    code, out = run("schema")
    assert code == 0
    assert out == XSD.read_text(encoding="utf-8")


def test_path_names_a_readable_copy_of_the_xsd() -> None:
    code, out = run("schema", "--path")
    assert code == 0
    path = Path(out.strip())
    assert path.name == "dialplan.xsd"
    assert path.read_bytes() == XSD.read_bytes()


def test_normalise_prints_canonical_spelling(tmp_path: Path) -> None:
    plan = tmp_path / "p.xml"
    plan.write_text(
        '<dialplan><menu maxdigits="1"><play type="URL">http://x/a.wav</play>'
        '<keypress pressed="Default"><hangup/></keypress></menu></dialplan>',
        encoding="utf-8",
    )
    code, out = run("schema", "--normalise", str(plan))
    assert code == 0
    assert 'maxDigits="1"' in out and 'type="url"' in out and 'pressed="default"' in out


def test_normalise_of_a_broken_file_is_a_diagnostic_with_exit_1(tmp_path: Path) -> None:
    plan = tmp_path / "p.xml"
    plan.write_text("<dialplan>", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "dialplan", "schema", "--normalise", str(plan)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 1
    assert "E001" in proc.stderr and "Traceback" not in proc.stderr


def test_path_and_normalise_together_is_a_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dialplan", "schema", "--path", "--normalise", "x.xml"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 2 and "cannot be combined" in proc.stderr


@pytest.mark.skipif(shutil.which("xmllint") is None, reason="xmllint not installed")
def test_documented_xmllint_pipeline_works(tmp_path: Path) -> None:
    plan = tmp_path / "p.xml"
    plan.write_text(
        '<dialplan><notequal var="a" expr="b"><play type="TTS">x</play></notequal></dialplan>',
        encoding="utf-8",
    )
    xsd = subprocess.run(
        [sys.executable, "-m", "dialplan", "schema", "--path"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout.strip()
    raw = subprocess.run(
        ["xmllint", "--noout", "--schema", xsd, str(plan)], capture_output=True, check=False
    )
    assert raw.returncode != 0  # lower-case notequal and TTS are only tolerated spellings
    normalised = subprocess.run(
        [sys.executable, "-m", "dialplan", "schema", "--normalise", str(plan)],
        capture_output=True,
        cwd=ROOT,
        check=True,
    ).stdout
    fixed = subprocess.run(
        ["xmllint", "--noout", "--schema", xsd, "-"],
        input=normalised,
        capture_output=True,
        check=False,
    )
    assert fixed.returncode == 0, fixed.stderr
