"""``dialplan keys`` and the workers use modules of ``dialplan.service`` without the web app: the
package imports FastAPI (and every route) only when ``create_app``/``Settings`` is asked for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import dialplan.service.keys, dialplan.service.autoreplies, dialplan.cli
assert "fastapi" not in sys.modules, "fastapi imported"
from dialplan.service import Settings, create_app
assert "fastapi" in sys.modules and callable(create_app) and Settings.__name__ == "Settings"
"""


def test_the_service_modules_import_without_the_web_app() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_an_unknown_name_is_an_attribute_error() -> None:
    import dialplan.service

    try:
        dialplan.service.nothing_here  # noqa: B018
    except AttributeError as exc:
        assert "nothing_here" in str(exc)
    else:
        raise AssertionError("no AttributeError")
