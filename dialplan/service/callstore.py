"""Single calls: their rows, the events a runner reports, webhooks and sync-mode waiters.

Status moves ``queued`` → ``in-progress`` → ``completed``, or ``queued`` → ``busy`` |
``no-answer`` | ``failed`` | ``canceled`` when the call is not answered. A call is final once it has
``ended_at``. A call runs in the server that took it (its ``owner``); calls left unfinished by a
server that is gone are marked ``failed`` ("interrupted") by a live one (:mod:`.servers`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from dataclasses import asdict, dataclass
from typing import Any

from . import enablex_events
from .outbox import Deliverer, add_event, new_event_id
from .problems import ProblemError
from .runner import CallEvents, CallOrder, CallRunner
from .servers import PEER_TIMEOUT_S, new_server_id, orphaned_calls, release_claims, take_over
from .sql import Connection, Row
from .sql import ServiceDatabase as Database
from .storage import iso, now

FINAL_FAILURES = {
    "busy": "busy",
    "no-answer": "no-answer",
    "failed": "failed",
    "canceled": "canceled",
}


@dataclass(frozen=True, slots=True)
class CallRequest:
    """The stored request of a call (what the client asked for)."""

    to: str
    caller_id: str
    variables: dict[str, str]
    detect_answering_machine: bool
    mode: str
    webhook_url: str | None
    webhook_secret: str | None
    simulation: dict[str, Any]
    #: how webhook events are shaped: ``outbound`` (this API) or ``enablex``
    style: str = "outbound"
    #: the compatibility request that started this call with others (EnableX's broadcast)
    batch: dict[str, Any] | None = None


class CallBook(CallEvents):
    """Creates calls, records what runners report, queues webhooks, wakes sync waiters."""

    def __init__(
        self,
        db: Database,
        runner: CallRunner,
        deliverer: Deliverer | None,
        owner: str | None = None,
        peer_timeout_s: float = PEER_TIMEOUT_S,
    ) -> None:
        self.db = db
        #: this server's id: the ``owner`` of the calls it creates
        self.owner = owner or new_server_id()
        self.peer_timeout_s = peer_timeout_s
        self.runner = runner
        self.deliverer = deliverer
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._lock = threading.Lock()

    def recover(self) -> int:
        """End the calls that servers now gone left unfinished (failed, "interrupted"), with
        their webhook events, and free those servers' webhook claims; return how many calls."""
        booked = 0
        for call_id, owner in orphaned_calls(self.db, self.owner, self.peer_timeout_s):
            if take_over(self.db, self.owner, call_id, owner, self.peer_timeout_s):
                self.failed(call_id, "interrupted")
                self.ended(call_id, None)
                booked += 1
        if release_claims(self.db, self.owner, self.peer_timeout_s):
            self._kick()
        return booked

    # -- creating and reading -------------------------------------------------------------

    def create(self, account: str, flow_id: str, flow_version: int, request: CallRequest) -> str:
        call_id = "call_" + secrets.token_hex(10)
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO calls (id, account, flow_id, flow_version, request, status,"
                " created_at, owner) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)",
                (
                    call_id,
                    account,
                    flow_id,
                    flow_version,
                    json.dumps(asdict(request)),
                    now(),
                    self.owner,
                ),
            )
        return call_id

    def place(self, order: CallOrder) -> None:
        self.runner.place(order, self)

    def get(self, account: str, call_id: str) -> dict[str, Any]:
        """The call as the API shows it; 404 when the account has no such call."""
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT * FROM calls WHERE id = ? AND account = ?", (call_id, account)
            ).fetchone()
        if row is None:
            raise ProblemError(404, "not-found", f"no call {call_id!r}")
        return _call_out(row)

    def list(self, account: str, limit: int, offset: int) -> list[dict[str, Any]]:
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT * FROM calls WHERE account = ? ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
                (account, limit, offset),
            ).fetchall()
        return [_call_out(r) for r in rows]

    # -- sync mode --------------------------------------------------------------------------

    def waiter(self, call_id: str) -> asyncio.Event:
        """An event set when the call ends (register it *before* placing the call)."""
        event = asyncio.Event()
        with self._lock:
            self._waiters.setdefault(call_id, []).append((asyncio.get_running_loop(), event))
        return event

    def forget(self, call_id: str, event: asyncio.Event) -> None:
        with self._lock:
            left = [(lp, ev) for lp, ev in self._waiters.get(call_id, []) if ev is not event]
            if left:
                self._waiters[call_id] = left
            else:
                self._waiters.pop(call_id, None)

    def _notify(self, call_id: str) -> None:
        with self._lock:
            waiting = self._waiters.pop(call_id, [])
        for loop, event in waiting:
            loop.call_soon_threadsafe(event.set)

    # -- CallEvents ---------------------------------------------------------------------------

    def _running_here(self, conn: Connection, call_id: str) -> bool:
        """True while the call is unfinished and this server's: a server that stalled past the
        peer timeout finds its calls booked by another, and must not book them again."""
        row = conn.execute(
            "SELECT 1 FROM calls WHERE id = ? AND owner = ? AND ended_at IS NULL",
            (call_id, self.owner),
        ).fetchone()
        return row is not None

    def answered(self, call_id: str, answered_by: str | None) -> None:
        with self.db.write() as conn:
            if not self._running_here(conn, call_id):
                return
            conn.execute(
                "UPDATE calls SET status = 'in-progress', answered_by = ?, answered_at = ?"
                " WHERE id = ?",
                (answered_by, now(), call_id),
            )
            self._event(conn, call_id, "call.answered", answered_by=answered_by)
        self._kick()

    def failed(self, call_id: str, reason: str) -> None:
        status = FINAL_FAILURES.get(reason, "failed")
        with self.db.write() as conn:
            if not self._running_here(conn, call_id):
                return
            conn.execute(
                "UPDATE calls SET status = ?, failure_reason = ? WHERE id = ?",
                (status, reason, call_id),
            )
            self._event(conn, call_id, "call.failed", reason=reason)
        self._kick()

    def prompt(self, call_id: str, state: str, prompt_ref: str | None) -> None:
        with self.db.write() as conn:
            if not self._running_here(conn, call_id):
                return
            self._event(conn, call_id, "call.prompt", state=state, prompt_ref=prompt_ref)
        self._kick()

    def ended(self, call_id: str, result: dict[str, Any] | None) -> None:
        with self.db.write() as conn:
            if not self._running_here(conn, call_id):
                return
            if result is not None:
                conn.execute(
                    "UPDATE calls SET status = 'completed', result = ?, ended_at = ? WHERE id = ?",
                    (json.dumps(result), now(), call_id),
                )
            else:
                conn.execute("UPDATE calls SET ended_at = ? WHERE id = ?", (now(), call_id))
            row = conn.execute("SELECT * FROM calls WHERE id = ?", (call_id,)).fetchone()
            out = _call_out(row)
            self._event(
                conn,
                call_id,
                "call.ended",
                status=out["status"],
                outcome=(result or {}).get("outcome"),
                duration_s=(result or {}).get("duration_s"),
                responses=(result or {}).get("responses", []),
            )
        self._kick()
        self._notify(call_id)

    def _event(self, conn: Connection, call_id: str, event: str, **fields: Any) -> None:
        row = conn.execute("SELECT * FROM calls WHERE id = ?", (call_id,)).fetchone()
        request = json.loads(row["request"])
        if request.get("mode") != "webhook" or not request.get("webhook_url"):
            return
        if request.get("style") == "enablex":
            for body in enablex_events.bodies(conn, event, row, request, fields):
                add_event(conn, call_id, request["webhook_url"], request["webhook_secret"], body)
            return
        if event == "call.prompt":
            return  # not an event of this API
        body = {
            "event": event,
            "event_id": new_event_id(),
            "call_id": call_id,
            "flow_id": row["flow_id"],
            "to": request["to"],
            "caller_id": request["caller_id"],
            "timestamp": iso(now()),
            **fields,
        }
        add_event(conn, call_id, request["webhook_url"], request["webhook_secret"], body)

    def _kick(self) -> None:
        """Tell the deliverer about new events (after their transaction committed)."""
        if self.deliverer is not None:
            self.deliverer.wake()


def _call_out(row: Row) -> dict[str, Any]:
    request = json.loads(row["request"])
    return {
        "id": row["id"],
        "flow_id": row["flow_id"],
        "flow_version": row["flow_version"],
        "to": request["to"],
        "caller_id": request["caller_id"],
        "mode": request["mode"],
        "variables": request["variables"],
        "detect_answering_machine": request["detect_answering_machine"],
        "webhook_url": request["webhook_url"],
        "status": row["status"],
        "final": row["ended_at"] is not None,
        "answered_by": row["answered_by"],
        "failure_reason": row["failure_reason"],
        "result": json.loads(row["result"]) if row["result"] else None,
        "created_at": iso(row["created_at"]),
        "answered_at": iso(row["answered_at"]),
        "ended_at": iso(row["ended_at"]),
    }
