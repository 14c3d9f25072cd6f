"""Test helpers: a fake clock, a loopback webhook receiver and a tiny SQLite outbox (test-only)."""

from __future__ import annotations

import http.server
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialplan.broadcast.webhooks.delivery import SIGNATURE_HEADER, verify_signature
from dialplan.broadcast.webhooks.outbox import OutboxEvent


class FakeClock:
    """``now``/``sleep`` pair: sleeping only advances the clock."""

    def __init__(self, start: float = 1_775_000_000.0) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.t += seconds


@dataclass
class Received:
    event_id: str
    body: bytes
    signature: str | None
    attempt: str | None
    user_agent: str | None
    content_type: str | None
    client_port: int = 0


@dataclass
class Receiver:
    """What a loopback receiver saw. ``plan(n)`` says how to answer the n-th request (0-based):
    an int status, ``"drop"`` (close without answering, nothing recorded), ``"record-drop"`` (record,
    then close: the sender cannot know it arrived), or ``("sleep", s)`` (record, answer 200 after s)."""

    plan: Callable[[int], Any]
    received: list[Received] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay_s: float = 0.0

    def unique_ids(self) -> set[str]:
        with self.lock:
            return {r.event_id for r in self.received}


def make_handler(receiver: Receiver) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with receiver.lock:
                n = len(receiver.outcomes)
                action = receiver.plan(n)
                receiver.outcomes.append(repr(action))
            record = Received(
                event_id=json.loads(body)["event_id"],
                body=body,
                signature=self.headers.get(SIGNATURE_HEADER),
                attempt=self.headers.get("X-Dialplan-Attempt"),
                user_agent=self.headers.get("User-Agent"),
                content_type=self.headers.get("Content-Type"),
                client_port=self.client_address[1],
            )
            if receiver.delay_s:
                time.sleep(receiver.delay_s)
            if action == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status = action if isinstance(action, int) else 200
            if 200 <= status < 300:
                with receiver.lock:
                    receiver.received.append(record)
            if action == "record-drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if isinstance(action, tuple) and action[0] == "sleep":
                time.sleep(action[1])
            payload = b'{"ok":true}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class LoopbackServer:
    """A threaded HTTP receiver on 127.0.0.1 (ephemeral port)."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(receiver))
        self.server.daemon_threads = True
        # Clients that timed out or were killed leave broken pipes behind: expected, not news.
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def all_signatures_valid(received: list[Received], secret: str) -> bool:
    return all(verify_signature(r.body, r.signature, secret) for r in received)


class SqliteOutbox:
    """Test-only SQLite outbox (the broadcast store has the real one): every call commits."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, timeout=10)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " event_id TEXT NOT NULL UNIQUE, url TEXT NOT NULL, body BLOB NOT NULL,"
            " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL,"
            " delivered_at REAL, last_error TEXT)"
        )

    def add(self, event_id: str, url: str, body: bytes, now: float) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO outbox (event_id, url, body, next_attempt_at) VALUES (?,?,?,?)",
            (event_id, url, body, now),
        )

    def due(self, now: float, limit: int) -> list[OutboxEvent]:
        rows = self.db.execute(
            "SELECT id, event_id, url, body, attempts, next_attempt_at FROM outbox"
            " WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            (now, limit),
        ).fetchall()
        return [OutboxEvent(r[0], r[1], r[2], bytes(r[3]), r[4], r[5]) for r in rows]

    def delivered(self, id: int, now: float) -> None:
        self.db.execute(
            "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1"
            " WHERE id = ? AND delivered_at IS NULL",
            (now, id),
        )

    def retry_later(self, id: int, next_attempt_at: float, error: str) -> None:
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
            " WHERE id = ? AND delivered_at IS NULL",
            (next_attempt_at, error, id),
        )

    def pending_count(self) -> int:
        return int(
            self.db.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]
        )

    def close(self) -> None:
        self.db.close()
