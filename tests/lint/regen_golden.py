"""Regenerate the golden outputs of ``dialplan lint`` (``tests/lint/golden/sample.<format>``).

Run from the repository root: ``python -m tests.lint.regen_golden``, then review the diff: the
findings must still be the ones ``test_cli.test_golden_findings_are_the_spec_ones`` lists.
"""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from dialplan.cli import cli

GOLDEN = Path(__file__).resolve().parent / "golden"
FORMATS = {
    "text": "txt",
    "concise": "concise",
    "json": "json",
    "sarif": "sarif",
    "github": "github",
}


def render(fmt: str) -> tuple[int, str]:
    """Exit code and output of ``dialplan lint --format FMT sample.xml`` run inside golden/."""
    runner = CliRunner(env={"NO_COLOR": "1", "FORCE_COLOR": None})
    here = Path.cwd()
    os.chdir(GOLDEN)
    try:
        result = runner.invoke(
            cli, ["lint", "--config", "lint.toml", "--format", fmt, "sample.xml"]
        )
    finally:
        os.chdir(here)
    return result.exit_code, result.output


def golden_path(fmt: str) -> Path:
    return GOLDEN / f"sample.{FORMATS[fmt]}"


def main() -> None:
    for fmt in FORMATS:
        _, output = render(fmt)
        golden_path(fmt).write_text(output, encoding="utf-8")
        print(f"wrote {golden_path(fmt)}")


if __name__ == "__main__":
    main()
