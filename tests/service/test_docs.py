"""The curl examples of docs/api.md run against a live server (needs curl and jq; skipped without)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT, Server

DOC = ROOT / "docs" / "api.md"
#: placeholders a reader replaces (an elided id, a file of their own, an example key id)
PLACEHOLDERS = ("…", "@call.json", "3f9c2a1b7e0d")


def shell_commands() -> list[str]:
    """Every curl/jq command of the doc's ``sh`` blocks, continuation lines joined."""
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S):
        current = ""
        for line in block.splitlines():
            code = re.sub(r"\s+#\s.*$", "", line).rstrip()  # trailing comments
            current += code.rstrip("\\") + (" " if code.endswith(("\\", "|")) else "")
            if code.endswith(("\\", "|")):
                continue
            if current.lstrip().startswith(("curl", "jq")):
                commands.append(current.strip())
            current = ""
    return commands


def test_the_doc_has_curl_examples() -> None:
    commands = shell_commands()
    assert len(commands) >= 15
    assert any("Idempotency-Key" in c for c in commands)


@pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("jq") is None, reason="needs curl and jq"
)
def test_curl_examples_work(server: Server, tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # the doc's paths; outputs stay here
    env = {
        **os.environ,
        "KEY": server.key("docs", "write"),
        "ADMIN": server.key("docs", "admin"),
        "ACCOUNT": "docs",  # Kaleyra's SID
        "FLOW": "",
    }
    # the doc's flow is uploaded by its first example; later ones use $FLOW
    prelude = "curl() { command curl --noproxy '*' -sS --fail-with-body \"$@\"; }\n"
    ran = 0
    for command in shell_commands():
        if any(p in command for p in PLACEHOLDERS):
            continue
        command = command.replace("http://127.0.0.1:8080", server.url)
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", prelude + command],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
        if not env["FLOW"] and '"id": "flw_' in done.stdout.replace('"id":"', '"id": "'):
            env["FLOW"] = re.search(r'"id": ?"(flw_[0-9a-f]+)"', done.stdout).group(1)  # type: ignore[union-attr]
        ran += 1
    assert env["FLOW"], "the upload example did not create a flow"
    assert ran >= 12
