"""Real HTTP on 127.0.0.1: a receiver outage, and a worker killed mid-way (SQLite outbox on disk)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dialplan.broadcast import webhooks as wh
from dialplan.broadcast.webhooks.delivery import RetryPolicy, deliver_pending
from dialplan.broadcast.webhooks.memory_outbox import MemoryOutbox

from .helpers import LoopbackServer, Receiver, SqliteOutbox, all_signatures_valid

ROOT = Path(__file__).resolve().parents[2]
SECRET = "loopback-secret"
FAST = RetryPolicy(initial_s=0.05, multiplier=2, max_s=0.4, jitter=0.25)


def event_bodies(n: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        event_id = wh.stable_event_id("b-1", f"v{i}", "disconnected")
        body = wh.disconnected(
            event_id=event_id,
            broadcast_id="b-1",
            voice_id=f"v{i}",
            to=f"1213555{i:04d}",
            timestamp=1_775_000_000 + i,
            call_duration=float(i),
            disconnect_reason="Normal Clearing",
            disconnect_cause_code=16,
            custom_data={"i": i},
        )
        out.append((event_id, body))
    return out


def test_outage_then_recovery_delivers_everything_at_least_once() -> None:
    # The first 14 requests fail in every way a receiver can fail, then it is healthy.
    failures: list[object] = [500, "drop", ("sleep", 0.5), 502, "record-drop", 503, "drop"] * 2

    def plan(n: int) -> object:
        return failures[n] if n < len(failures) else 200

    receiver = Receiver(plan)
    events = event_bodies(12)
    with LoopbackServer(receiver) as server:
        outbox = MemoryOutbox()
        for event_id, body in events:
            outbox.add(event_id, server.url, body, time.time())
        report = deliver_pending(
            outbox,
            SECRET,
            allow_private=True,
            timeout_s=0.25,
            policy=FAST,
            poll_s=0.02,
            max_wait_s=30,
            seed=42,
        )
    assert report.done, report
    assert report.delivered == len(events)
    assert report.failed_attempts >= len(failures)
    # Every failure mode was really exercised by the receiver.
    outcomes = set(receiver.outcomes)
    assert {"500", "'drop'", "('sleep', 0.5)", "'record-drop'"} <= outcomes
    errors = [e for event_id, _ in events for e in outbox.errors(event_id)]
    assert any(e.startswith("HTTP 5") for e in errors)
    assert any(e.startswith("timeout") for e in errors)
    assert any("RemoteProtocolError" in e or "ReadError" in e for e in errors), errors
    # At least once: every event arrived; duplicates exist (record-drop, sleep) but dedupe by id.
    assert receiver.unique_ids() == {event_id for event_id, _ in events}
    assert len(receiver.received) > len(events)
    assert all_signatures_valid(receiver.received, SECRET)
    by_id = dict(events)
    for got in receiver.received:
        assert got.body == by_id[got.event_id]  # the exact stored bytes
        assert got.content_type == "application/json"
        assert got.user_agent == wh.USER_AGENT


WORKER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    from dialplan.broadcast.webhooks.delivery import RetryPolicy, deliver_pending
    from tests.webhooks.helpers import SqliteOutbox

    outbox = SqliteOutbox(sys.argv[2])
    print("started", flush=True)
    deliver_pending(outbox, sys.argv[3], allow_private=True, timeout_s=10,
                    policy=RetryPolicy(initial_s=0.05, max_s=0.2), poll_s=0.02, max_wait_s=60)
    print("finished", flush=True)
    """
)


def test_worker_killed_midway_loses_nothing(tmp_path: Path) -> None:
    """SIGKILL the delivery process after some events arrived; a restarted worker delivers the rest."""
    db = tmp_path / "outbox.sqlite"
    events = event_bodies(40)
    # The 11th request is recorded, then hangs: the worker is killed while waiting for the answer.
    receiver = Receiver(lambda n: ("sleep", 3.0) if n == 10 else 200)
    with LoopbackServer(receiver) as server:
        outbox = SqliteOutbox(db)
        for event_id, body in events:
            outbox.add(event_id, server.url, body, time.time())
        outbox.close()

        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(ROOT), str(db), SECRET],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while len(receiver.received) < 11:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "worker never got going"
                time.sleep(0.005)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL
        assert len(receiver.unique_ids()) == 11

        reopened = SqliteOutbox(db)  # a fresh connection: only what was committed survives
        assert reopened.pending_count() == len(events) - 10  # the 11th was never acknowledged
        report = deliver_pending(
            reopened, SECRET, allow_private=True, policy=FAST, poll_s=0.02, max_wait_s=30
        )
        assert report.done and reopened.pending_count() == 0
        reopened.close()

    assert receiver.unique_ids() == {event_id for event_id, _ in events}
    # Only the event in flight at the kill is delivered twice (same event_id).
    assert len(receiver.received) == len(events) + 1
    assert [r.event_id for r in receiver.received].count(events[10][0]) == 2
    assert all_signatures_valid(receiver.received, SECRET)


def test_crash_between_post_and_commit_redelivers(tmp_path: Path) -> None:
    """The POST succeeded but the process died before recording it: it is sent again, same id."""

    class Crash(Exception):
        pass

    class CrashingOutbox(SqliteOutbox):
        marked = 0

        def delivered(self, id: int, now: float) -> None:
            if self.marked == 5:
                raise Crash
            self.marked += 1
            super().delivered(id, now)

    db = tmp_path / "outbox.sqlite"
    events = event_bodies(8)
    receiver = Receiver(lambda n: 200)
    with LoopbackServer(receiver) as server:
        first = CrashingOutbox(db)
        for event_id, body in events:
            first.add(event_id, server.url, body, time.time())
        with pytest.raises(Crash):
            deliver_pending(first, SECRET, allow_private=True, policy=FAST, max_wait_s=10)
        first.close()
        assert len(receiver.received) == 6  # five recorded + the one in flight

        second = SqliteOutbox(db)
        assert second.pending_count() == 3
        report = deliver_pending(second, SECRET, allow_private=True, policy=FAST, max_wait_s=10)
        second.close()
    assert report.delivered == 3 and report.done
    ids = [r.event_id for r in receiver.received]
    assert len(ids) == 9 and set(ids) == {e for e, _ in events}
    assert ids.count(events[5][0]) == 2  # the in-flight one, deduplicable by event_id


def test_healthy_receiver_gets_everything_over_one_kept_alive_connection() -> None:
    receiver = Receiver(lambda n: 200)
    events = event_bodies(20)
    with LoopbackServer(receiver) as server:
        outbox = MemoryOutbox()
        for event_id, body in events:
            outbox.add(event_id, server.url, body, time.time())
        report = deliver_pending(outbox, SECRET, allow_private=True, max_wait_s=10)
    assert report.done and report.failed_attempts == 0
    assert [r.event_id for r in receiver.received] == [e for e, _ in events]  # in order
    assert len({r.client_port for r in receiver.received}) == 1
    assert {r.attempt for r in receiver.received} == {"1"}
