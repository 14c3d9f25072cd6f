"""Live-call controls (play, hang up) carried out by the server that runs the call, whichever server took the request.

A call runs in one server (its ``owner``, :mod:`.callstore`). On PostgreSQL several servers share
the database, and a control may reach any of them. The one that receives it, if it is not the
owner, queues the command in ``call_controls`` and waits (:meth:`ControlDesk.forward`); the
owner's desk takes it, runs it on its SIP runner and writes the outcome. Nothing travels between
servers but rows: no addresses to configure, nothing leaves the database.

* **Wake-ups**: ``NOTIFY dp_call_controls`` with ``new <owner>`` (a command for that server) and
  ``done <id>`` (an outcome to read). Each desk LISTENs on a connection of its own and, as a
  fallback for a notification lost with a dropped connection, looks for its commands every
  :data:`POLL_S` seconds; a waiting requester reads its row at least every :data:`RECHECK_S`.
* **Exactly once**: the owner takes a command with ``UPDATE … SET state = 'running' WHERE
  state = 'pending'`` (one row, one winner), and only before its ``deadline``.
* **Bounded wait**: when the owner has not taken the command after ``ack_wait_s`` the requester
  cancels it (``pending`` → ``cancelled``, again one winner) and answers 503 with Retry-After: a
  command never runs late, after its client was told it failed. If the owner took it first, the
  requester waits for the outcome (as a local control would, up to the runner's own timeout).
* The ``deadline`` is on the database's clock (both servers read the same one) and also stops a
  command whose requester died before it could cancel.

A SQLite service is one process: it runs every call itself and never forwards (the table exists
there only to keep the two engines' schemas alike).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .runner import CONTROL_TIMEOUT_S, CallRunner, Control, HangUp, NotControllable, PlayAudio
from .sql import ServiceDatabase
from .storage import now

log = logging.getLogger("dialplan.service")

CHANNEL = "dp_call_controls"
#: seconds the receiving server waits for the owner to take a command (then 503, cancelled)
ACK_WAIT_S = 5.0
#: seconds between an owner's looks for its commands without a notification
POLL_S = 1.0
#: seconds between a waiting requester's reads of its command's row without a notification
RECHECK_S = 0.25
#: seconds a finished command's row is kept (for the record), then deleted by its owner
KEEP_S = 3600.0
#: the database's clock, which every server reads alike (deadlines)
_DB_NOW = "EXTRACT(EPOCH FROM clock_timestamp())"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a control came to: 200, or the problem (status, ``type`` kind, detail) to answer."""

    status: int = 200
    kind: str = ""
    detail: str = ""
    retry_after_s: int | None = None

    def to_json(self) -> str:
        return json.dumps({"status": self.status, "kind": self.kind, "detail": self.detail})

    @classmethod
    def from_json(cls, text: str) -> Outcome:
        data = json.loads(text)
        return cls(int(data["status"]), str(data["kind"]), str(data["detail"]))


def encode(command: Control) -> str:
    """A command as its row stores it."""
    if isinstance(command, HangUp):
        return json.dumps({"type": "hangup"})
    return json.dumps(
        {
            "type": "play",
            "kind": command.kind,
            "value": command.value,
            "voice": command.voice,
            "prompt_ref": command.prompt_ref,
        }
    )


def decode(text: str) -> Control:
    data = json.loads(text)
    if data["type"] == "hangup":
        return HangUp()
    return PlayAudio(data["kind"], data["value"], data["voice"], data["prompt_ref"])


def run_here(runner: CallRunner, call_id: str, command: Control) -> Outcome:
    """Run ``command`` on a call of this server's runner; what it came to."""
    try:
        runner.control(call_id, command)
    except NotControllable as exc:
        return Outcome(409, "not-controllable", f"call {call_id}: {exc}")
    except ValueError as exc:
        return Outcome(422, "invalid-request", str(exc))
    except TimeoutError:
        return Outcome(503, "control-timeout", "the control did not finish in time", 1)
    return Outcome()


class ControlDesk:
    """This server's end of ``call_controls``: forwards controls to owners, runs its own."""

    def __init__(
        self,
        db: ServiceDatabase,
        dsn: str,
        owner: str,
        runner: CallRunner,
        ack_wait_s: float = ACK_WAIT_S,
        poll_s: float = POLL_S,
    ) -> None:
        self.db = db
        self.dsn = dsn
        self.owner = owner
        self.runner = runner
        self.ack_wait_s = ack_wait_s
        self.poll_s = poll_s
        self._waiters: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="call-control")
        self._thread = threading.Thread(target=self._loop, name="call-controls", daemon=True)
        self._swept_at = 0.0

    # -- the requester's side ---------------------------------------------------------------

    def forward(self, call_id: str, owner: str, command: Control) -> Outcome:
        """Have ``owner`` run ``command`` on ``call_id``; its outcome, or 503 when it did not
        take the command within ``ack_wait_s`` (the command is then cancelled)."""
        control_id = "ctl_" + secrets.token_hex(10)
        event = threading.Event()
        with self._lock:
            self._waiters[control_id] = event
        try:
            with self.db.connect() as conn:  # one round trip: queued, and its owner woken
                conn.execute(
                    "WITH queued AS (INSERT INTO call_controls (id, call_id, owner, command,"
                    " state, created_at, deadline)"
                    f" VALUES (?, ?, ?, ?, 'pending', ?, {_DB_NOW} + ?) RETURNING owner)"
                    " SELECT pg_notify(?, 'new ' || owner) FROM queued",
                    (control_id, call_id, owner, encode(command), now(), self.ack_wait_s, CHANNEL),
                )
            event.wait(RECHECK_S)  # the outcome's notification, most often
            return self._await(control_id, event)
        finally:
            with self._lock:
                self._waiters.pop(control_id, None)

    def _await(self, control_id: str, event: threading.Event) -> Outcome:
        ack_by = time.monotonic() + self.ack_wait_s
        done_by: float | None = None
        while True:
            event.clear()
            with self.db.connect() as conn:
                row = conn.execute(
                    "SELECT state, outcome FROM call_controls WHERE id = ?", (control_id,)
                ).fetchone()
            state = row["state"] if row is not None else "gone"
            t = time.monotonic()
            if state == "done":
                return Outcome.from_json(row["outcome"])
            if state not in ("pending", "running") or (state == "pending" and t >= ack_by):
                if state != "pending" or self._cancel(control_id):
                    return Outcome(
                        503,
                        "owner-unavailable",
                        f"the server running the call did not take the control within"
                        f" {self.ack_wait_s:g} s; it was cancelled and will not run",
                        max(1, round(self.ack_wait_s)),
                    )
                continue  # taken at the last moment: wait for its outcome
            if state == "running":
                done_by = done_by or t + CONTROL_TIMEOUT_S + 5.0
                if t >= done_by:
                    return Outcome(503, "control-timeout", "the control did not finish in time", 1)
            wake_at = ack_by if state == "pending" else (done_by or t)
            event.wait(max(0.0, min(RECHECK_S, wake_at - t)))

    def _cancel(self, control_id: str) -> bool:
        with self.db.connect() as conn:
            cancelled: int = conn.execute(
                "UPDATE call_controls SET state = 'cancelled', done_at = ?"
                " WHERE id = ? AND state = 'pending'",
                (now(), control_id),
            ).rowcount
        return cancelled == 1

    # -- the owner's side -------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start listening (returns once the LISTEN is in place, or after ``timeout``)."""
        self._thread.start()
        self._listening.wait(timeout)

    def close(self) -> None:
        self._stop.set()
        try:
            with self.db.connect() as conn:  # wake the listener now
                conn.execute("SELECT pg_notify(?, ?)", (CHANNEL, f"stop {self.owner}"))
        except Exception:  # the listener then stops at its next poll
            log.debug("waking the call-control listener failed", exc_info=True)
        if self._thread.is_alive():
            self._thread.join(timeout=self.poll_s + 5)
        self._pool.shutdown(wait=True)

    def _loop(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as listener:
                    listener.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    self._listen(listener)
            except Exception:  # a dropped connection: poll, then listen again
                log.exception("call-control listener failed")
                self._take()
                self._stop.wait(self.poll_s)

    def _listen(self, listener: Any) -> None:
        self._take()  # what was queued before the LISTEN
        looked = time.monotonic()
        while not self._stop.is_set():
            take = False
            for note in listener.notifies(timeout=self.poll_s, stop_after=1):
                kind, _, arg = str(note.payload).partition(" ")
                if kind == "new" and arg == self.owner:
                    take = True
                elif kind == "done":
                    with self._lock:
                        event = self._waiters.get(arg)
                    if event is not None:
                        event.set()
            # the poll (also under a stream of other servers' notes): a command whose
            # notification was lost with a dropped connection is found here
            if take or time.monotonic() - looked >= self.poll_s:
                if self._stop.is_set():
                    return
                self._take()
                looked = time.monotonic()

    def _take(self) -> None:
        """Take this server's pending commands (each exactly once) and run them."""
        try:
            with self.db.connect() as conn:
                rows = conn.execute(
                    "UPDATE call_controls SET state = 'running'"
                    f" WHERE owner = ? AND state = 'pending' AND deadline > {_DB_NOW}"
                    " RETURNING id, call_id, command",
                    (self.owner,),
                ).fetchall()
                if time.monotonic() - self._swept_at > 60.0:
                    self._swept_at = time.monotonic()
                    conn.execute(
                        "DELETE FROM call_controls WHERE owner = ? AND created_at < ?",
                        (self.owner, now() - KEEP_S),
                    )
        except Exception:
            log.exception("taking call controls failed")
            return
        for row in rows:
            self._pool.submit(self._run, row["id"], row["call_id"], row["command"])

    def _run(self, control_id: str, call_id: str, command: str) -> None:
        try:
            outcome = run_here(self.runner, call_id, decode(command))
        except Exception as exc:  # a bug must still answer the waiting server
            log.exception("call control %s crashed", control_id)
            outcome = Outcome(500, "server-error", f"the control failed: {type(exc).__name__}")
        try:
            with self.db.connect() as conn:
                conn.execute(
                    "WITH done AS (UPDATE call_controls SET state = 'done', outcome = ?,"
                    " done_at = ? WHERE id = ? RETURNING id)"
                    " SELECT pg_notify(?, 'done ' || id) FROM done",
                    (outcome.to_json(), now(), control_id, CHANNEL),
                )
        except Exception:
            log.exception("recording call control %s failed", control_id)
