"""The inbound server as a user runs it (`python -m dialplan answer` in a child process on a
free loopback port, stopped by its PID), and real SIPp/baresip callers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dialplan.inbound.store import CallRecord, InboundStore
from tools.sip_peers import Sipp, sipp_uac_scenario

from ..sip.conftest import baresip, require, sipp  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
PLANS = Path(__file__).parent / "plans"


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    db: Path
    log: Path

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.port}"

    def calls(self) -> list[CallRecord]:
        store = InboundStore(self.db)
        try:
            return list(store.calls())
        finally:
            store.close()

    def wait_finished(self, n: int, timeout: float = 30.0) -> list[CallRecord]:
        """The stored calls once ``n`` of them have ended (or fail after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            calls = self.calls()
            if sum(1 for c in calls if c.ended_at is not None) >= n:
                return calls
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(calls)} calls stored, not {n} finished: {calls}")
            time.sleep(0.1)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.log.read_text(errors="replace")


@pytest.fixture
def answer_server(tmp_path: Path, prompt_dir: Path) -> Iterator[Callable[..., Server]]:
    """Factory: ``answer_server(numbers_toml_text)`` → a running ``dialplan answer``."""
    started: list[Server] = []

    def start(numbers: str, name: str = "srv") -> Server:
        folder = tmp_path / name
        folder.mkdir()
        for plan in PLANS.glob("*.xml"):
            (folder / plan.name).write_text(plan.read_text())
        text = numbers.replace("@PROMPTS@", str(prompt_dir))
        (folder / "numbers.toml").write_text(text)
        db = folder / "inbound.sqlite"
        log = folder / "server.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dialplan",
                    "answer",
                    "--numbers",
                    "numbers.toml",
                    "--listen",
                    "udp:127.0.0.1:0",
                    "--db",
                    str(db),
                    "--allow-private",
                ],
                cwd=folder,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if " on udp:127.0.0.1:" in text:
                port = int(text.split(" on udp:127.0.0.1:")[1].split()[0])
                server = Server(proc, port, db, log)
                started.append(server)
                return server
            if proc.poll() is not None:
                raise RuntimeError(f"dialplan answer exited: {text}")
            time.sleep(0.05)
        proc.kill()
        raise TimeoutError("dialplan answer did not start")

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def prompt_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("inbound-prompts")


@pytest.fixture
def caller(tmp_path: Path) -> Iterator[Callable[..., Sipp]]:
    """Factory: ``caller(server, number, calls=1, rate=…, **scenario)`` → a SIPp UAC run."""
    started: list[Sipp] = []

    def start(
        server: Server,
        number: str,
        calls: int = 1,
        limit: int | None = None,
        rate: int | None = None,
        name: str | None = None,
        **scenario: Any,
    ) -> Sipp:
        require("sipp")
        directory = tmp_path / (name or f"caller{len(started)}")
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "uac.xml"
        path.write_text(sipp_uac_scenario(**scenario))
        extra = ["-s", number]
        if rate:
            extra += ["-r", str(rate)]
        extra += ["-l", str(limit or calls)]
        if scenario.get("auth"):
            extra += ["-au", "trunk", "-ap", "s3cret"]
        peer = Sipp(path, directory, max_calls=calls, remote=server.hostport, extra=extra)
        peer.start()
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.stop()
