"""The lint path stays light: ``dialplan lint one.xml`` imports no heavy module it does not use.

Start-up is most of a one-file lint (docs/performance.md, cold start). A child process runs the
command as a user does and reports ``sys.modules``; modules of other commands (the service, the
reports, the language server, YAML scenarios, the QuickJS wrapper's thread pool) must be absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: top-level modules the lint of an XML dialplan must not import
HEAVY = (
    "rich",
    "httpx",
    "jinja2",
    "psycopg",
    "yaml",
    "pygls",
    "lsprotocol",
    "sqlite3",
    "asyncio",
    "jsonschema",
    "quickjs",
    "concurrent",
)

PROBE = """
import json, runpy, sys
sys.argv = ["dialplan", *sys.argv[1:]]
try:
    runpy.run_module("dialplan", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _modules_after(tmp_path: Path, xml: str, *args: str) -> set[str]:
    plan = tmp_path / "one.xml"
    plan.write_text(xml, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "lint", *args, str(plan)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, 1), proc.stderr
    return {name.split(".")[0] for name in report["modules"]}


@pytest.mark.parametrize("args", [(), ("--no-cache",), ("--format", "json")])
def test_lint_of_one_xml_file_imports_no_heavy_module(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    xml = '<dialplan name="Root">\n  <play type="tts">Hello</play>\n  <hangup/>\n</dialplan>\n'
    loaded = _modules_after(tmp_path, xml, *args)
    assert "dialplan" in loaded and "lxml" in loaded  # the probe really ran the lint
    assert sorted(loaded.intersection(HEAVY)) == []


def test_javascript_checks_use_quickjs_without_its_thread_pool(tmp_path: Path) -> None:
    xml = (
        '<dialplan name="Root">\n  <if expr="${call.callerid} == 15551234567">\n'
        '    <play type="tts">Hello</play>\n  </if>\n  <hangup/>\n</dialplan>\n'
    )
    loaded = _modules_after(tmp_path, xml)
    assert "_quickjs" in loaded  # the expression was checked by QuickJS
    assert sorted(loaded.intersection(HEAVY)) == []
