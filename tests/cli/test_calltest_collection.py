"""``dialplan test DIR`` collects ``*.calltest.toml`` only (issue 13 item 15): a campaign file
or ``pyproject.toml`` beside the call tests is not a scenario. Explicit files of any name are
still run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.clirun import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The examples directory as a user has it: dialplans, call tests, a campaign, pyproject."""
    for path in EXAMPLES.iterdir():
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "ivr"\n[tool.dialplan.lint]\nignore = ["W070"]\n', encoding="utf-8"
    )
    nested = tmp_path / "more"
    nested.mkdir()
    shutil.copy(EXAMPLES / "pharmacy-refill.xml", nested / "pharmacy-refill.xml")
    shutil.copy(EXAMPLES / "pharmacy-refill.calltest.toml", nested / "again.calltest.toml")
    return tmp_path


def test_directory_runs_only_call_tests(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    code, out, err = run(capsys, "test", str(project))
    assert code == 0, out + err
    assert "charity-drive.toml" not in out and "pyproject.toml" not in out
    assert "pharmacy-refill.calltest.toml" in out and "again.calltest.toml" in out
    assert "appointment-reminder.calltest.toml" in out  # the Callr YAML example (6 cases)
    assert "20 passed, 0 failed" in out


def test_explicit_file_of_any_name_is_still_a_scenario(
    capsys: pytest.CaptureFixture[str], project: Path
) -> None:
    renamed = project / "refill-cases.toml"
    shutil.copy(project / "pharmacy-refill.calltest.toml", renamed)
    code, out, _ = run(capsys, "test", str(renamed))
    assert code == 0
    assert "7 passed, 0 failed" in out


def test_directory_without_call_tests_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    code, out, err = run(capsys, "test", str(tmp_path))
    assert code == 2 and out == ""
    assert err == f"dialplan: error: no call-test files (*.calltest.toml) in {tmp_path}\n"
