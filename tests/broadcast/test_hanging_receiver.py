"""A webhook receiver that hangs never holds up dialling.

On the real clock events go out from their own asyncio task: calls keep starting, at the
campaign's rate, while the receiver sits on a request. In virtual time the dial schedule is the
same with and without the hanging receiver (no timing assertions there)."""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dialplan.broadcast.campaign import Campaign, load_campaign
from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.telephony.port import AttemptOutcome, CallRequest
from dialplan.broadcast.telephony.simulated import SimulatedDriver

from .helpers import fake_runner, write_campaign

HANG_S = 6.0


@pytest.fixture
def hanging() -> Iterator[tuple[list[float], str]]:
    """A receiver whose first request hangs for HANG_S seconds; the others get 204 at once."""
    arrivals: list[float] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                arrivals.append(time.time())
                first = len(arrivals) == 1
            if first:
                time.sleep(HANG_S)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield arrivals, f"http://127.0.0.1:{server.server_address[1]}/events"
    finally:
        server.shutdown()
        server.server_close()


def _campaign(tmp: Path, url: str | None, n: int) -> Path:
    tables: dict[str, dict[str, Any]] = {"network": {"allow_private": True}}
    if url is not None:
        tables["webhook"] = {"url": url, "secret": "s"}
    rows = [{"phone_number": f"(212) 555-{i:04d}", "sim_result": "BUSY"} for i in range(n)]
    return write_campaign(tmp, rows, max_active=n, calls_per_second=2, tables=tables)


def _starts(db: Path) -> list[float]:
    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute("SELECT started_at FROM attempts ORDER BY started_at")]
    finally:
        con.close()


class Stopwatch(SimulatedDriver):
    """The simulated driver on the real clock, noting the wall time of every dial."""

    def __init__(self, campaign: Campaign) -> None:
        super().__init__(campaign, fake_runner, lived=True)
        self.dialled: list[float] = []

    def place(self, call: CallRequest, at: float) -> AttemptOutcome:
        self.dialled.append(time.time())
        return super().place(call, at)


def test_calls_keep_starting_while_the_receiver_hangs(
    tmp_path: Path, hanging: tuple[list[float], str]
) -> None:
    arrivals, url = hanging
    camp = load_campaign(_campaign(tmp_path, url, 12))
    driver = Stopwatch(camp)
    run_campaign(camp, tmp_path / "db.sqlite", driver=driver, clock="real", max_wait=0)
    starts = driver.dialled  # when calls were really placed, not when they were due
    assert len(starts) == len(_starts(tmp_path / "db.sqlite")) == 12 and arrivals
    hung_until = arrivals[0] + HANG_S
    during = [s for s in starts if arrivals[0] < s < hung_until]
    assert len(during) >= 3  # dialling went on while the receiver held its first request
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert max(gaps) < 1.5  # 2 calls per second throughout: no stall behind the receiver


def test_virtual_dial_schedule_is_the_same_with_a_hanging_receiver(
    tmp_path: Path, hanging: tuple[list[float], str]
) -> None:
    _, url = hanging
    runs = []
    for name, hook in (("with", url), ("without", None)):
        path = _campaign(tmp_path / name, hook, 30)
        run_campaign(
            load_campaign(path), tmp_path / name / "db.sqlite", runner=fake_runner, max_wait=0
        )
        con = sqlite3.connect(tmp_path / name / "db.sqlite")
        runs.append(
            con.execute(
                "SELECT recipient_id, attempt_no, started_at, ended_at, result FROM attempts"
                " ORDER BY recipient_id, attempt_no"
            ).fetchall()
        )
        con.close()
    assert runs[0] == runs[1] and len(runs[0]) == 30
