"""A live ``dialplan serve`` on 127.0.0.1 (a real uvicorn subprocess), keys, flows and a receiver."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from dialplan.service.keys import create_key
from dialplan.service.sql import open_database

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Server:
    """A running server: its base URL, database (a SQLite path or a PostgreSQL DSN) and log."""

    url: str
    db_path: Path | str
    log: Path
    process: subprocess.Popen[bytes]

    def key(self, account: str = "acme", *scopes: str, rate_per_s: float | None = None) -> str:
        db = open_database(self.db_path)
        try:
            _, secret = create_key(db, account, list(scopes or ("write",)), rate_per_s=rate_per_s)
        finally:
            db.close()
        return secret

    def client(self, key: str | None = None, **kw: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, trust_env=False, timeout=30, **kw)


def start_server(tmp: Path, *options: str, db: str | None = None) -> Server:
    """Start ``python -m dialplan serve --port 0`` and wait until it answers (on ``db``, else
    ``service.sqlite`` in ``tmp``; ``tmp`` also gets the log, named after ``db`` being shared)."""
    db_path: Path | str = db or tmp / "service.sqlite"
    log = tmp / ("server.log" if db is None else f"server-{time.monotonic_ns()}.log")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dialplan",
                "serve",
                "--db",
                str(db_path),
                "--port",
                "0",
                "--no-access-log",
                *options,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp,
        )
    # a bound against a server that never comes up, not a speed check: at a load of 7 on 2
    # cores a server on PostgreSQL answered after 5-8 s (3-5 s of it importing), and with two
    # more servers busy on the same database one took over 30 s
    deadline = time.monotonic() + 120
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        found = re.search(r"serving (http://127\.0\.0\.1:\d+)", log.read_text())
        if found:
            url = found.group(1)
            try:
                if httpx.get(url + "/v1/health", trust_env=False, timeout=2).status_code == 200:
                    return Server(url, db_path, log, process)
            except httpx.HTTPError:
                pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"server did not start ({url}): {log.read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


#: The options of the shared test server (short sync limit, small body limit, loopback webhooks).
SERVER_OPTIONS = ("--allow-private", "--sync-limit", "1", "--max-body", "65536")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("serve"), *SERVER_OPTIONS)
    yield running
    stop_server(running)


@pytest.fixture(scope="session")
def acme(server: Server) -> str:
    """A write key of account ``acme``."""
    return server.key("acme", "write")


@pytest.fixture(scope="session")
def globex(server: Server) -> str:
    """A write key of another account, ``globex``."""
    return server.key("globex", "write")


def charity_xml() -> str:
    return (EXAMPLES / "charity-drive.xml").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def flow_id(server: Server, acme: str) -> str:
    """acme's charity-drive flow."""
    with server.client(acme) as c:
        r = c.post("/v1/flows", json={"name": "charity", "xml": charity_xml()})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


# ---------------------------------------------------------------------------------------------
# A loopback webhook receiver


@dataclass
class Receiver:
    """Records every POST; ``statuses`` answers them in order (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def bodies(self) -> list[dict[str, object]]:
        with self.lock:
            return [json.loads(body) for _, body in self.received]

    def wait_for(
        self, test: Callable[[list[dict[str, object]]], bool], timeout: float = 15
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if test(self.bodies()):
                return
            time.sleep(0.05)
        raise AssertionError(f"receiver never saw the expected events: {self.bodies()}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with rec.lock:
                rec.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = rec.statuses.pop(0) if rec.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield rec
    httpd.shutdown()
    httpd.server_close()
    thread.join()
