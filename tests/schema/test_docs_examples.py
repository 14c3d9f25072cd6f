"""Example outputs in the docs are real: each ```xml plan followed by "gives, with
`dialplan lint plan.xml …`:" and an output block is linted and compared line by line (issue 13
item 20: docs/schema.md showed an E040 message the program never printed)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from dialplan.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLE = re.compile(
    r"```xml\n(?P<plan>.*?)```\s*\ngives, with `(?P<command>dialplan lint plan\.xml[^`]*)`:\s*\n"
    r"```\n(?P<output>.*?)```",
    re.S,
)


def examples() -> list[tuple[str, str, str, str]]:
    found = []
    for doc in sorted(DOCS.glob("*.md")):
        for m in EXAMPLE.finditer(doc.read_text(encoding="utf-8")):
            found.append((doc.name, m["plan"], m["command"], m["output"]))
    return found


def test_the_schema_page_has_a_checked_example() -> None:
    assert any(name == "schema.md" and "E040" in out for name, _, _, out in examples())


@pytest.mark.parametrize(("doc", "plan", "command", "output"), examples())
def test_documented_output_is_real(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    doc: str,
    plan: str,
    command: str,
    output: str,
) -> None:
    (tmp_path / "plan.xml").write_text(plan, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    with pytest.raises(SystemExit):
        main(shlex.split(command)[1:])
    assert capsys.readouterr().out == output, f"{doc}: the example output differs"
