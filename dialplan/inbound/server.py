"""The inbound server: answers INVITEs to configured numbers and runs their dialplans.

One :class:`InboundServer` owns one SIP endpoint (one UDP socket) and serves any number of
concurrent calls. Routing: the Request-URI user (else the ``To`` user) picks the number;
unknown → 404, a blacklisted caller → 603, the number's ``max_concurrent`` calls already up →
486, a trunk that fails digest authentication → 401 (then 403). Accepted calls get 100 and
180, ring ``answer_after_s``, are answered (200 with SDP) and run the number's dialplan (or
its out-of-hours dialplan) with the same media as outbound calls. Every call is stored as it
happens (a row at the INVITE, updated at the answer and at the end) and produces signed
``ringing``/``connected``/``disconnected`` webhooks through the store's outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ..broadcast import webhooks
from ..drivers.sip import digest
from ..drivers.sip.driver import END_GRACE_S, SipDriver
from ..drivers.sip.message import SipMessage, response_to
from ..engine import events as ev
from ..engine.context import CallContext
from ..model import Plan
from .bridge import InboundRun
from .numbers import NumberConfig, NumbersFile
from .store import CallRecord, InboundStore
from .uas import InboundCall

log = logging.getLogger("dialplan.inbound")

NORMAL_CLEARING = 16
#: why an answered call ended, in words (None: the dialplan hung up, nothing to explain)
_END_REASONS: dict[str, str | None] = {
    "local": None,
    "remote": "the caller hung up",
    "rtp-timeout": "no RTP from the caller: hung up",
    "max-duration": "maximum call duration reached: hung up",
    "shutdown": "the server was stopped: hung up",
    "abandoned": "internal error: the call did not end in time",
}


@dataclass
class ServerStats:
    """Counters of one server's life (the benchmark and the shutdown summary read them)."""

    invites: int = 0
    answered: int = 0
    rejected: dict[int, int] = field(default_factory=dict)
    finished: int = 0


class InboundServer:
    """Answers calls to the numbers of a :class:`NumbersFile`; stores them in ``store``."""

    def __init__(
        self,
        numbers: NumbersFile,
        store: InboundStore,
        *,
        local_host: str | None = None,
        local_port: int | None = None,
    ) -> None:
        self.numbers = numbers
        self.store = store
        config = numbers.sip
        if local_host is not None:
            config = replace(config, local_host=local_host)
        if local_port is not None:
            config = replace(config, local_port=local_port)
        self.driver = SipDriver(config, numbers.options)
        self.active: dict[str, int] = {}
        self.pending: dict[tuple[str, str], InboundCall] = {}  # (Call-ID, branch) until answered
        self.runs: dict[str, InboundRun] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.stats = ServerStats()
        self._nonces: dict[str, float] = {}
        self._stopping = False
        self._webhooks: _WebhookWorker | None = None
        self.idle = asyncio.Event()

    # -- life ---------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.driver.open()
        assert self.driver.endpoint is not None
        self.driver.endpoint.server = self
        hook = self.numbers.webhook
        if hook is not None:
            self._webhooks = _WebhookWorker(self.store.path, hook.secret, hook.allow_private)
            self._webhooks.start()
        self.idle.set()

    @property
    def address(self) -> tuple[str, int]:
        assert self.driver.endpoint is not None
        return self.driver.config.local_host, self.driver.endpoint.local_port

    async def close(self, hangup_grace_s: float = 5.0) -> None:
        """Stop answering; hang up the calls still up (stored with ``ended_by = shutdown``)."""
        self._stopping = True
        for run in list(self.runs.values()):
            run.call.ended_by = run.call.ended_by or "shutdown"
            run.post(ev.CallerHangup())
        for call in list(self.pending.values()):
            if call.state == "ringing":  # answered ones (waiting for the ACK) get a BYE below
                call.reject(503, "Service Unavailable")
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=hangup_grace_s)
        await self.driver.close()
        if self._webhooks is not None:
            await asyncio.to_thread(self._webhooks.stop)

    # -- InviteServer -------------------------------------------------------------------------
    def invite(self, request: SipMessage, addr: tuple[str, int]) -> None:
        endpoint = self.driver.endpoint
        assert endpoint is not None
        self.stats.invites += 1
        if self._stopping:
            endpoint.respond(request, addr, response_to(request, 503, "Service Unavailable"))
            return
        if not self._authorized(request, addr):
            return
        call = InboundCall(endpoint, request, addr)
        call.provisional(100, "Trying")
        config = self.numbers.lookup(call.called)
        now = time.time()
        if config is None:
            self._refuse(call, None, 404, "Not Found", "INVALID", 1, now)
            return
        if self.numbers.blacklisted(config, call.ani) or self.numbers.blacklisted(
            config, call.caller
        ):
            self._refuse(call, config, 603, "Decline", "REJECTED", 21, now)
            return
        plan, path, closed = config.plan_at(datetime.fromtimestamp(now, UTC))
        if plan is None:
            self._refuse(call, config, 480, "Temporarily Unavailable", "CLOSED", 19, now)
            return
        if self.active.get(config.number, 0) >= config.max_concurrent:
            self._refuse(call, config, 486, "Busy Here", "BUSY", 17, now)
            return
        self.active[config.number] = self.active.get(config.number, 0) + 1
        self.idle.clear()
        self.pending[(call.call_id, request.branch)] = call
        record = CallRecord(
            call_id=call.call_id,
            number=config.number,
            caller=call.caller,
            caller_name=call.caller_name,
            started_at=now,
            dialplan=path,
            out_of_hours=closed,
        )
        task = asyncio.get_running_loop().create_task(self._serve(call, config, plan, record))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def cancel(self, request: SipMessage, addr: tuple[str, int]) -> bool:
        call = self.pending.get((request.call_id, request.branch))
        if call is None:
            return False
        assert self.driver.endpoint is not None
        self.driver.endpoint.respond(request, addr, response_to(request, 200))
        call.cancelled()
        return True

    # -- the steps of a call ------------------------------------------------------------------
    def _authorized(self, request: SipMessage, addr: tuple[str, int]) -> bool:
        auth = self.numbers.auth
        if auth is None:
            return True
        endpoint = self.driver.endpoint
        assert endpoint is not None
        now = time.monotonic()
        self._nonces = {n: t for n, t in self._nonces.items() if now - t < 300}
        answer = request.get("Authorization")
        if answer and digest.verify(
            answer, request.method, auth.username, auth.password, set(self._nonces)
        ):
            return True
        if answer and any(f'nonce="{n}"' in answer for n in self._nonces):
            endpoint.respond(request, addr, response_to(request, 403, "Forbidden"))
            return False
        nonce = secrets.token_hex(16)
        self._nonces[nonce] = now
        resp = response_to(request, 401, "Unauthorized", to_tag=secrets.token_hex(6))
        resp.add(
            "WWW-Authenticate",
            f'Digest realm="{auth.realm}", nonce="{nonce}", algorithm=MD5, qop="auth"',
        )
        endpoint.respond(request, addr, resp)
        return False

    def _refuse(
        self,
        call: InboundCall,
        config: NumberConfig | None,
        status: int,
        reason: str,
        result: str,
        cause: int,
        now: float,
    ) -> None:
        call.reject(status, reason)
        self.stats.rejected[status] = self.stats.rejected.get(status, 0) + 1
        log.info("%s → %s: %d %s", call.caller, call.called, status, reason)
        record = CallRecord(
            call_id=call.call_id,
            number=config.number if config is not None else call.called,
            caller=call.caller,
            caller_name=call.caller_name,
            started_at=now,
            ended_at=now,
            result=result,
            cause=cause,
            sip_status=status,
            ended_by="rejected",
            error=reason,
        )
        self.store.save(record)

    async def _serve(
        self, call: InboundCall, config: NumberConfig, plan: Plan, record: CallRecord
    ) -> None:
        try:
            await self._serve_call(call, config, plan, record)
        except Exception:  # one broken call never takes the server down
            log.exception("inbound call %s failed", call.call_id)
            record.result = record.result if record.ended_at else "CARRIER_ERROR"
            record.error = record.error or "internal error"
            record.ended_at = record.ended_at or time.time()
            await call.bye(reason="error")
            self.store.save(record)
        finally:
            self.pending.pop((call.call_id, call.invite_request.branch), None)
            self.runs.pop(call.call_id, None)
            self.active[config.number] -= 1
            self.stats.finished += 1
            if not self.pending and not self.runs:
                self.idle.set()

    async def _serve_call(
        self, call: InboundCall, config: NumberConfig, plan: Plan, record: CallRecord
    ) -> None:
        self.store.save(record)
        self._event("ringing", record)
        call.provisional(180, "Ringing")
        if config.answer_after_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(call.hangup_event.wait(), config.answer_after_s)
        if call.state != "ringing":  # CANCELled, or refused because the server stops
            problem = "cancelled" if call.ended_by == "cancelled" else "shutdown"
        else:
            problem = await call.answer()
            if not problem and self._stopping:  # answered as the server stopped
                await call.bye(reason="shutdown")
                problem = "shutdown"
        self.pending.pop((call.call_id, call.invite_request.branch), None)
        if problem:
            self._end_unanswered(call, record, problem)
            return
        self.stats.answered += 1
        record.answered_at = time.time()
        record.result = "LA"
        self.store.save(record)
        self._event("connected", record)
        cfg = self.driver.config
        context = CallContext(
            callerid=call.caller,
            callerid_alpha=call.caller_name,
            ani=call.ani,
            phonenumber=config.number,
            dnis=call.called,
            call_id=call.call_id,
            variables=dict(config.variables),
            max_duration_s=cfg.max_duration_s,
        )
        run = InboundRun(self.driver, call, plan, context, config.transfer)
        self.runs[call.call_id] = run
        bound = cfg.max_duration_s + 64 * cfg.t1 + END_GRACE_S
        try:
            await asyncio.wait_for(run.run(), bound)
        except TimeoutError:
            call.ended_by = "abandoned"
        finally:
            run.cleanup()
            await call.bye(reason="max-duration" if run.over_time else "local")
        result = run.session.result
        record.ended_at = time.time()
        record.duration_s = call.duration_s
        transferred = result.outcome == "transfer" or run.ended_in_bridge
        record.result = "XFER" if transferred else "LA"
        record.cause = NORMAL_CLEARING
        record.sip_status = 200
        record.ended_by = call.ended_by
        record.outcome = result.outcome
        record.error = result.error or _END_REASONS.get(call.ended_by or "", call.ended_by)
        record.responses = result.responses
        record.recordings = list(run.recordings)
        record.variables = dict(result.variables)
        record.transfer = result.transfer
        record.dnc = list(run.dnc)
        record.prompts = list(result.prompts)
        self.store.save(record)
        self._event("disconnected", record)

    def _end_unanswered(self, call: InboundCall, record: CallRecord, problem: str) -> None:
        record.ended_at = time.time()
        if problem == "cancelled":
            record.result, record.cause, record.sip_status = "ABANDONED", 16, 487
            record.ended_by = "cancelled"
            record.error = "the caller hung up before the answer (CANCEL)"
        elif problem == "shutdown":
            status = 200 if call.times.answered is not None else 503
            record.result, record.cause, record.sip_status = "CARRIER_ERROR", 41, status
            record.ended_by = "shutdown"
            record.error = "the server was stopped before the answer"
        else:
            record.result, record.cause, record.sip_status = "CARRIER_ERROR", 65, 488
            record.ended_by = "media"
            record.error = problem
        self.store.save(record)
        self._event("disconnected", record)

    # -- webhooks -----------------------------------------------------------------------------
    def _event(self, name: str, record: CallRecord) -> None:
        hook = self.numbers.webhook
        if hook is None:
            return
        common: dict[str, Any] = {
            "event_id": webhooks.stable_event_id("inbound", record.call_id, name),
            "broadcast_id": f"inbound:{record.number}",
            "voice_id": record.call_id,
            "to": record.number,
            "from_": record.caller or "anonymous",
            "timestamp": time.time(),
            "custom_data": {"direction": "inbound", "number": record.number},
        }
        if name == "ringing":
            body = webhooks.ringing(**common)
        elif name == "connected":
            body = webhooks.connected(**common)
        else:
            body = webhooks.disconnected(
                **common,
                call_duration=round(record.duration_s, 3),
                disconnect_reason=record.error or "normal clearing",
                disconnect_cause_code=record.cause or NORMAL_CLEARING,
                call_result=record.result,
            )
        self.store.add(str(common["event_id"]), hook.url, body, time.time())
        if self._webhooks is not None:
            self._webhooks.wake.set()


class _WebhookWorker:
    """Delivers the outbox from a thread (its own SQLite connection), so a slow receiver never
    stalls the calls' event loop; at stop it drains for a few seconds."""

    def __init__(self, db_path: object, secret: str, allow_private: bool) -> None:
        self.db_path = db_path
        self.secret = secret
        self.allow_private = allow_private
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="inbound-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, drain_s: float = 5.0) -> None:
        self._stop.set()
        self.wake.set()
        self._thread.join(drain_s + 15.0)

    def _run(self) -> None:
        store = InboundStore(self.db_path)  # type: ignore[arg-type]
        try:
            with webhooks.WebhookDeliverer(
                store, self.secret, allow_private=self.allow_private, timeout_s=5.0
            ) as deliverer:
                while not self._stop.is_set():
                    deliverer.run_once(time.time())
                    self.wake.wait(0.5)
                    self.wake.clear()
            webhooks.deliver_pending(
                store, self.secret, allow_private=self.allow_private, max_wait_s=5.0, timeout_s=5.0
            )
        finally:
            store.close()
