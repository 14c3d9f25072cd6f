"""``broadcast run`` delivers its signed events to a loopback receiver, and a receiver
outage loses nothing: the events wait in the outbox and the next run delivers them."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.service import run_campaign

from .helpers import fake_runner, write_campaign

SECRET = "webhook-secret"


class Receiver:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.down = False
        self.lock = threading.Lock()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if rec.down:
                self.send_response(503)
                self.end_headers()
                return
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            with rec.lock:
                if not hmac.compare_digest(expected, self.headers.get("X-Dialplan-Signature", "")):
                    rec.bad_signatures += 1
                rec.events.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec, f"http://127.0.0.1:{server.server_address[1]}/events"
    finally:
        server.shutdown()
        server.server_close()


ROWS = [
    {"phone_number": "2125550101", "sim_result": "LA", "sim_inputs": "1"},
    {"phone_number": "2125550102", "sim_result": "AM"},
    {"phone_number": "3125550103", "sim_result": "BUSY"},
    {"phone_number": "4155550104", "sim_result": "NO_ANS"},
]


def _campaign(tmp: Path, url: str) -> Any:
    return load_campaign(
        write_campaign(
            tmp,
            ROWS,
            tables={
                "retry_config": {"max_attempts": 2, "minutes_between_attempts": 10},
                "webhook": {"url": url, "secret": SECRET},
                "network": {"allow_private": True},
                "custom_data": {"booking_id": 12345},
            },
        )
    )


def test_run_delivers_signed_events(tmp_path: Path, receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    report = run_campaign(_campaign(tmp_path, url), tmp_path / "db.sqlite", runner=fake_runner)
    assert report.events_pending == 0
    assert rec.bad_signatures == 0
    ids = [e["event_id"] for e in rec.events]
    assert len(ids) == len(set(ids))
    kinds = [e["event"] for e in rec.events]
    assert kinds.count("disconnected") == 1 + 1 + 2 + 2  # retries of BUSY and NO_ANS
    assert kinds.count("broadcastcall_complete") == 1
    assert all(e["custom_data"] == {"booking_id": 12345} for e in rec.events)
    connected = [e for e in rec.events if e["event"] == "connected"]
    assert sorted(e["call_answered_by"] for e in connected) == ["HUMAN", "MACHINE"]


def test_receiver_outage_loses_nothing(tmp_path: Path, receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    c = _campaign(tmp_path, url)
    rec.down = True
    first = run_campaign(c, tmp_path / "db.sqlite", runner=fake_runner, max_wait=0.5)
    assert first.events_pending > 0 and rec.events == []
    rec.down = False
    # the campaign is finished; running it again only delivers what is pending
    second = run_campaign(c, tmp_path / "db.sqlite", runner=fake_runner, max_wait=30)
    assert second.resumed and second.events_pending == 0
    ids = {e["event_id"] for e in rec.events}
    assert len(ids) == first.events_pending  # every event arrived (at least once)
    assert rec.bad_signatures == 0
