"""Run the ``dialplan`` console entry point in-process, as a user's shell would (shared by the
CLI tests)."""

from __future__ import annotations

import pytest

from dialplan.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``dialplan ARGS…`` through its entry point: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
