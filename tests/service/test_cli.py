"""`dialplan keys` and `dialplan serve` from the command line: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from click.testing import CliRunner

from dialplan.cli import cli
from dialplan.service.keys import digest

from .conftest import ROOT, start_server, stop_server


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    code, out, err = run("keys", "create", "--db", db, "--account", "acme", "--scope", "write",
                         "--label", "ci")  # fmt: skip
    assert code == 0
    secret = out.strip()
    assert secret.startswith("dpk_") and len(secret) > 50
    key_id = secret.split("_")[1]
    assert f"key {key_id} for account acme" in err
    code, out, _ = run("keys", "list", "--db", db, "--format", "json")
    listed = json.loads(out)
    assert [(k["id"], k["account"], k["scopes"], k["revoked"]) for k in listed] == [
        (key_id, "acme", ["write"], False)
    ]
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("s.sqlite*"))  # with its WAL
    assert secret.encode() not in raw and digest(secret).encode() in raw  # only the digest is kept
    code, out, _ = run("keys", "list", "--db", db)
    assert key_id in out and "acme" in out and "active" in out and secret not in out
    assert run("keys", "revoke", "--db", db, key_id)[0] == 0
    assert "revoked" in run("keys", "list", "--db", db)[1]
    code, _, err = run("keys", "revoke", "--db", db, key_id)
    assert code == 1 and "no active key" in err


def test_keys_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    code, _, err = run("keys", "create", "--db", str(tmp_path / "s.sqlite"), "--account", "a b")
    assert code == 2
    assert err.strip().count("\n") == 0 and "bad account 'a b'" in err
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    code, _, err = run("keys", "list", "--db", str(junk))
    assert code == 2 and err.startswith("dialplan: error: ") and str(junk) in err
    assert "Traceback" not in err
    assert junk.read_bytes() == b"this is not a database" * 100  # nothing written over it


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dialplan", "serve", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )


def test_serve_on_a_busy_port_is_one_line_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = serve("--db", str(tmp_path / "s.sqlite"), "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"dialplan: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )


def test_serve_refuses_a_file_that_is_not_its_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not sqlite\n" * 100)
    done = serve("--db", str(junk), "--port", "0")
    assert done.returncode == 2
    assert done.stderr.startswith("dialplan: error: ") and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0


def test_serve_binds_loopback_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert httpx.get(server.url + "/v1/health", trust_env=False).status_code == 200
    finally:
        stop_server(server)
    # uvicorn shuts down gracefully, then re-raises the signal (the shell's usual 143)
    assert server.process.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in server.log.read_text()


def test_serve_driver_sip_refuses_a_bad_sip_table(tmp_path: Path) -> None:
    # no trunk at all is fine (single calls to sip: URIs); a broken [sip] table is not
    config = tmp_path / "sip.toml"
    config.write_text('[sip]\nproxy = "127.0.0.1:5080"\nlocal_port = "x"\n', encoding="utf-8")
    done = serve("--db", str(tmp_path / "s.sqlite"), "--port", "0", "--driver", "sip",
                 "--sip-config", str(config))  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith(f"dialplan: error: {config}: ")
    assert "Traceback" not in done.stderr and done.stderr.strip().count("\n") == 0
