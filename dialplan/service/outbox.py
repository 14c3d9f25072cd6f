"""Signed call webhooks, delivered at least once from the persisted ``outbox`` table.

Events are added in the same transaction as the call state they report (:func:`add_event`), so a
crash never loses one. :class:`Deliverer` (a background thread) POSTs each due event with
``X-Dialplan-Signature`` (HMAC-SHA256 of the raw body, :func:`dialplan.broadcast.webhooks.sign`),
``X-Dialplan-Event-Id`` and ``X-Dialplan-Attempt``, through the private-address guard
(:func:`dialplan.netguard.guarded_transport`). A 2xx answer delivers it; anything else is retried
with exponential backoff (:class:`~dialplan.broadcast.webhooks.RetryPolicy`) up to
:data:`MAX_ATTEMPTS` attempts. Receivers de-duplicate by ``event_id``.

Several servers may share the outbox (PostgreSQL): a deliverer first claims the due events it is
about to send (``claimed_by`` its server, ``claimed_until`` a lease), inside a serialised write,
so no event is sent by two servers at once. A claim ends with the attempt; the claims of a server
that stops answering are released by the others (:mod:`.servers`), and a lease that runs out
frees its event anyway: after a crash every event is still delivered (at least once).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any

import httpx

from ..broadcast.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    USER_AGENT,
    RetryPolicy,
    canonical_json,
    sign,
)
from ..netguard import UnsafeUrl, guarded_transport
from .sql import Connection, Row
from .sql import ServiceDatabase as Database
from .storage import iso, now

ATTEMPT_HEADER = "X-Dialplan-Attempt"
MAX_ATTEMPTS = 12
log = logging.getLogger("dialplan.service")


def add_event(conn: Connection, call_id: str, url: str, secret: str, body: dict[str, Any]) -> str:
    """Queue one event (inside the caller's transaction); return its id."""
    event_id = str(body["event_id"])
    conn.execute(
        "INSERT INTO outbox (id, call_id, url, secret, body, next_at) VALUES (?, ?, ?, ?, ?, ?)",
        (event_id, call_id, url, secret, canonical_json(body), now()),
    )
    return event_id


def deliveries(db: Database, call_id: str) -> list[dict[str, Any]]:
    """The events of one call and how their delivery stands, oldest first."""
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT * FROM outbox WHERE call_id = ? ORDER BY rowid", (call_id,)
        ).fetchall()
    return [
        {
            "event_id": r["id"],
            "event": json.loads(r["body"])["event"],
            "attempts": r["attempts"],
            "delivered": r["delivered_at"] is not None,
            "delivered_at": iso(r["delivered_at"]),
            "last_error": r["last_error"],
        }
        for r in rows
    ]


def new_event_id() -> str:
    return str(uuid.uuid4())


class Deliverer:
    """Drains the outbox on a background thread until :meth:`close`."""

    def __init__(
        self,
        db: Database,
        allow_private: bool = False,
        policy: RetryPolicy | None = None,
        timeout_s: float = 10.0,
        owner: str = "",
        batch: int = 10,
    ) -> None:
        self.db = db
        self.owner = owner
        self.batch = batch
        #: how long a claim holds: every attempt of a batch, with room to spare
        self.lease_s = timeout_s * batch + 30.0
        self.policy = policy or RetryPolicy(initial_s=0.5, max_s=300.0)
        self._client = httpx.Client(
            transport=guarded_transport(allow_private),
            timeout=timeout_s,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="webhook-outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """New events were added: look now rather than at the next poll."""
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        self._client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # keep delivering whatever one bad row does
                log.exception("webhook delivery loop failed")
                busy = False
            if not busy:
                self._wake.wait(0.25)
                self._wake.clear()

    def run_once(self) -> bool:
        """Claim and attempt the due events (up to ``batch``); True when there were any."""
        rows = self.claim()
        for row in rows:
            if self._stop.is_set():
                break
            self._attempt(row)
        return bool(rows)

    def claim(self) -> list[Row]:
        """The due events no other deliverer holds, now held by this one for ``lease_s``."""
        with self.db.write() as conn:
            t = now()
            rows: list[Row] = conn.execute(
                "SELECT * FROM outbox WHERE delivered_at IS NULL AND attempts < ? AND next_at <= ?"
                " AND (claimed_until IS NULL OR claimed_until < ?)"
                " ORDER BY next_at, rowid LIMIT ?",
                (MAX_ATTEMPTS, t, t, self.batch),
            ).fetchall()
            if rows:
                conn.executemany(
                    "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id = ?",
                    [(self.owner, t + self.lease_s, r["id"]) for r in rows],
                )
        return rows

    def _attempt(self, row: Row) -> None:
        attempt = row["attempts"] + 1
        body: bytes = row["body"]
        error: str | None = None
        try:
            answer = self._client.post(
                row["url"],
                content=body,
                headers={
                    SIGNATURE_HEADER: sign(body, row["secret"]),
                    EVENT_ID_HEADER: row["id"],
                    ATTEMPT_HEADER: str(attempt),
                },
            )
            if not 200 <= answer.status_code < 300:
                error = f"HTTP {answer.status_code}"
        except UnsafeUrl as exc:
            error = str(exc)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self.db.write() as conn:
            if error is None:
                conn.execute(
                    "UPDATE outbox SET attempts = ?, delivered_at = ?, last_error = NULL,"
                    " claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                    (attempt, now(), row["id"]),
                )
            else:
                conn.execute(
                    "UPDATE outbox SET attempts = ?, next_at = ?, last_error = ?,"
                    " claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                    (attempt, now() + self.policy.backoff(attempt), error, row["id"]),
                )
