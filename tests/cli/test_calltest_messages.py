"""A failing call test points at the prompt that differs, not two long lists."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dialplan.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str]:
    try:
        main(["test", str(path)])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().out


def test_first_differing_prompt_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    shutil.copy(EXAMPLES / "pharmacy-refill.xml", tmp_path / "pharmacy-refill.xml")
    text = (EXAMPLES / "pharmacy-refill.calltest.toml").read_text(encoding="utf-8")
    scenario = tmp_path / "t.calltest.toml"
    scenario.write_text(text.replace("See you on Wednesday", "See you on Thursday"), "utf-8")
    code, out = _run(capsys, scenario)
    assert code == 1
    assert "prompts[3]: expected 'See you on Thursday. Goodbye.' in " in out
    assert "(1 of 3 prompts differ)" in out


def test_missing_prompt_is_counted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "pharmacy-refill.xml", tmp_path / "pharmacy-refill.xml")
    text = (EXAMPLES / "pharmacy-refill.calltest.toml").read_text(encoding="utf-8")
    scenario = tmp_path / "t.calltest.toml"
    scenario.write_text(
        text.replace(
            '"See you on Wednesday. Goodbye."]', '"See you on Wednesday. Goodbye.", "More"]'
        ),
        "utf-8",
    )
    code, out = _run(capsys, scenario)
    assert code == 1
    assert "prompts: expected 4 prompts, heard 3" in out
