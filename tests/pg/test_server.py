"""The throwaway server itself: removed afterwards; skipped only outside CI without binaries."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tools.pg_server import ThrowawayServer

ROOT = Path(__file__).resolve().parents[2]


def test_a_server_listens_on_loopback_without_fsync_and_leaves_nothing_behind() -> None:
    server = ThrowawayServer.start()
    try:
        with psycopg.connect(server.dsn()) as conn:
            settings = dict(
                conn.execute(
                    "SELECT name, setting FROM pg_settings WHERE name IN"
                    " ('listen_addresses', 'fsync', 'port')"
                ).fetchall()
            )
        assert settings == {
            "listen_addresses": "127.0.0.1",
            "fsync": "off",
            "port": str(server.port),
        }
    finally:
        server.stop()
    assert not server.folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.dsn(), connect_timeout=2)


@pytest.mark.parametrize(("ci", "outcome"), [("", "1 skipped"), ("1", "1 error")])
def test_missing_binaries_skip_outside_ci_and_fail_in_ci(
    tmp_path: Path, ci: str, outcome: str
) -> None:
    (tmp_path / "conftest.py").write_text("from tests.pgfixtures import pg_server  # noqa: F401\n")
    (tmp_path / "test_needs_pg.py").write_text("def test_it(pg_server):\n    pass\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env |= {"DIALPLAN_PG_BINDIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    if ci:
        env["CI"] = ci
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert outcome in done.stdout, done.stdout
    if ci:
        assert "CI must run the PostgreSQL tests" in done.stdout


def test_a_server_whose_owner_is_killed_is_stopped_and_removed() -> None:
    # a test run killed with SIGKILL never reaches stop(): the watchdog does it
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1])\n"
        "from tools.pg_server import ThrowawayServer\n"
        "s = ThrowawayServer.start(); print(s.folder, s.port, flush=True); time.sleep(600)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", code, str(ROOT)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        folder_text, port = owner.stdout.readline().split()
        folder = Path(folder_text)
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres").close()
    finally:
        owner.kill()
        owner.wait()
    deadline = time.monotonic() + 20
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2)
