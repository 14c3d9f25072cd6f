"""Broadcast webhooks: event bodies, HMAC signatures and the at-least-once delivery worker.

Event bodies (store the returned bytes in the outbox; they are what gets signed)
-------------------------------------------------------------------------------
One builder per event, keyword-only, returning canonical JSON bytes (compact, sorted keys, UTF-8)::

    ringing(event_id=, broadcast_id=, voice_id=, to=, timestamp=, custom_data=None, from_=None, channel_id=None)
    connected(... same ..., call_answered_by=None)              # "HUMAN" | "MACHINE" | None (no AMD)
    playstate(... same ..., playstate=, prompt_ref=, prompt_name=None)  # "initiated" | "playfinished"
    disconnected(... same ..., call_duration=, disconnect_reason=, disconnect_cause_code=,
                 call_answered_by=None, call_result=None)  # call_result: CallFire code (LA, BUSY …)
    broadcastcall_complete(event_id=, broadcast_id=, timestamp=, broadcast_call_info=[CallInfo …],
                           custom_data=None, call_blacklisted=(), country_not_allowed=())

Every body has ``event`` (and ``state``, the same value, as EnableX names it), ``event_id``, ``broadcast_id``, ``custom_data`` (``{}`` when none) and
``timestamp`` (ISO 8601 UTC with milliseconds, ``2026-04-08T15:24:10.670Z``; pass epoch seconds or an
aware ``datetime``). Per-call events also carry ``voice_id`` and ``to`` (``from`` when given);
``broadcastcall_complete`` has neither: it summarises every leg in ``broadcast_call_info``. Field names
follow EnableX's broadcast webhooks. ``event_id`` is chosen by the caller: :func:`stable_event_id` derives
a deterministic one from parts such as ``(broadcast_id, voice_id, "connected")`` so a resumed campaign
re-creates the same ids (and the outbox's idempotent ``add`` drops the duplicates); :func:`new_event_id`
gives a random one. Builders raise ``ValueError`` on values outside the contract.

Signatures
----------
``X-Dialplan-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the webhook secret>``.
:func:`sign` computes the header value; :func:`verify_signature` checks one in constant time (receivers).

Delivery
--------
:func:`deliver_pending` drains an :class:`~dialplan.broadcast.webhooks.outbox.Outbox` until it is empty or
``max_wait_s`` is over, and returns a :class:`DeliveryReport` (``pending`` = how many are still
undelivered). Each due event is POSTed with ``Content-Type: application/json``, the signature,
``X-Dialplan-Event-Id``, ``X-Dialplan-Attempt`` and a ``User-Agent``. A 2xx answer means delivered;
anything else (other statuses, redirects — never followed —, timeouts, connection errors, refused
addresses) is a failed attempt, rescheduled with :class:`RetryPolicy` (exponential backoff, capped,
jittered from a seedable random source). Delivery is at least once: a receiver must de-duplicate by
``event_id``. While a URL fails at transport level (refused, reset, timeout) the other events for the
same URL wait too (one probe per backoff step instead of one timeout per event). Time comes from the
``now``/``sleep`` callables (the same clock the outbox timestamps use); HTTP goes through a swappable
httpx transport (default: :func:`~dialplan.broadcast.netguard.guarded_transport`, which refuses private
addresses unless ``allow_private``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

import httpx

from ... import __version__
from ...netguard import Resolver, UnsafeUrl, guarded_transport
from . import contract
from .outbox import Outbox, OutboxEvent

__all__ = [
    "EVENTS",
    "EVENT_ID_HEADER",
    "SIGNATURE_HEADER",
    "USER_AGENT",
    "CallInfo",
    "DeliveryReport",
    "RetryPolicy",
    "WebhookDeliverer",
    "broadcastcall_complete",
    "canonical_json",
    "connected",
    "deliver_pending",
    "disconnected",
    "iso_timestamp",
    "new_event_id",
    "playstate",
    "ringing",
    "sign",
    "stable_event_id",
    "verify_signature",
]

EventName = Literal["ringing", "connected", "playstate", "disconnected", "broadcastcall_complete"]
# The contract's facts come from the published JSON Schema (webhook_contract), never restated here.
EVENTS: Final = contract.EVENTS
ANSWERED_BY: Final = contract.allowed("connected", "call_answered_by")
PLAYSTATES: Final = contract.allowed("playstate", "playstate")

SIGNATURE_HEADER: Final = "X-Dialplan-Signature"
EVENT_ID_HEADER: Final = "X-Dialplan-Event-Id"
ATTEMPT_HEADER: Final = "X-Dialplan-Attempt"
USER_AGENT: Final = f"dialplan-webhooks/{__version__}"

_MAX_RESPONSE_BODY: Final = 64 * 1024

# Namespace of stable_event_id (a fixed random UUID: ids never change between releases).
_EVENT_ID_NAMESPACE: Final = uuid.UUID("5c8a1e0e-7b52-4d1f-9a43-3f1d2b6c9e71")


# ---------------------------------------------------------------------------------------------
# Event bodies


def canonical_json(obj: Any) -> bytes:
    """Compact JSON with sorted keys, UTF-8, no NaN/Infinity: the bytes that are stored and signed."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def iso_timestamp(when: float | datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z`` (``2026-04-08T15:24:10.670Z``), as EnableX writes it."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError("timestamp datetime must be timezone-aware")
        moment = when.astimezone(UTC)
    else:
        if not math.isfinite(when):
            raise ValueError(f"timestamp must be finite, got {when!r}")
        moment = datetime.fromtimestamp(when, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_event_id() -> str:
    """A random event id (UUID 4)."""
    return str(uuid.uuid4())


def stable_event_id(*parts: str | int) -> str:
    """A deterministic event id (UUID 5) from parts, e.g. ``(broadcast_id, voice_id, "connected", 0)``.

    Same parts → same id, so re-running a crashed campaign re-creates ids the outbox already has.
    """
    if not parts:
        raise ValueError("stable_event_id needs at least one part")
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, "\x1f".join(str(p) for p in parts)))


@dataclass(frozen=True, slots=True)
class CallInfo:
    """One leg's summary in ``broadcastcall_complete.broadcast_call_info`` (EnableX field names on the wire)."""

    voice_id: str
    to: str
    call_duration: float
    call_state: str
    disconnect_reason: str
    disconnect_reason_code: int
    call_answered_by: str | None = None
    #: The CallFire result code of the leg (``LA``, ``AM``, ``BUSY`` …), when known.
    call_result: str | None = None

    def to_json(self) -> dict[str, Any]:
        fields = {
            "voice_id": ("voice_id", self.voice_id),
            "to": ("to", self.to),
            "callDuration": ("call_duration", self.call_duration),
            "callState": ("call_state", self.call_state),
            "disconnectReason": ("disconnect_reason", self.disconnect_reason),
            "disconnectReasonCode": ("disconnect_reason_code", self.disconnect_reason_code),
            "call_answered_by": ("call_answered_by", self.call_answered_by),
            "callResult": ("call_result", self.call_result),
        }
        item = contract.field("broadcastcall_complete", "broadcast_call_info", "items")
        return {
            key: contract.check(value, contract.resolve(item["properties"][key]), name)
            for key, (name, value) in fields.items()
            if value is not None or key in item["required"]
        }


def _field(event: EventName, key: str, value: Any, name: str | None = None) -> Any:
    """``value`` checked against field ``key`` of an ``event`` body in the published schema."""
    return contract.check(value, contract.field(event, key), name or key)


def _listed(key: str, number: str) -> str:
    """One number of ``blacklistednumber.<key>`` in ``broadcastcall_complete``."""
    spec = contract.field("broadcastcall_complete", "blacklistednumber", key, "items")
    return contract.check(number, spec, key)  # type: ignore[no-any-return]


def _common(
    event: EventName,
    *,
    event_id: str,
    broadcast_id: str,
    timestamp: float | datetime,
    custom_data: Mapping[str, Any] | None,
) -> dict[str, Any]:
    if custom_data is not None and not isinstance(custom_data, Mapping):
        raise ValueError(f"custom_data must be a mapping, got {type(custom_data).__name__}")
    return {
        "event": event,
        "state": event,  # EnableX receivers switch on ``state``
        "event_id": _field(event, "event_id", event_id),
        "broadcast_id": _field(event, "broadcast_id", broadcast_id),
        "custom_data": dict(custom_data or {}),
        "timestamp": iso_timestamp(timestamp),
    }


def _leg(
    event: EventName,
    *,
    event_id: str,
    broadcast_id: str,
    voice_id: str,
    to: str,
    timestamp: float | datetime,
    custom_data: Mapping[str, Any] | None,
    from_: str | None,
) -> dict[str, Any]:
    body = _common(
        event,
        event_id=event_id,
        broadcast_id=broadcast_id,
        timestamp=timestamp,
        custom_data=custom_data,
    )
    body["voice_id"] = _field(event, "voice_id", voice_id)
    body["to"] = _field(event, "to", to)
    if from_ is not None:
        body["from"] = _field(event, "from", from_)
    return body


def ringing(
    *,
    event_id: str,
    broadcast_id: str,
    voice_id: str,
    to: str,
    timestamp: float | datetime,
    custom_data: Mapping[str, Any] | None = None,
    from_: str | None = None,
    channel_id: str | None = None,
) -> bytes:
    """The call leg started ringing at the recipient."""
    body = _leg(
        "ringing",
        event_id=event_id,
        broadcast_id=broadcast_id,
        voice_id=voice_id,
        to=to,
        timestamp=timestamp,
        custom_data=custom_data,
        from_=from_,
    )
    if channel_id is not None:
        body["channel_id"] = _field("ringing", "channel_id", channel_id)
    return canonical_json(body)


def connected(
    *,
    event_id: str,
    broadcast_id: str,
    voice_id: str,
    to: str,
    timestamp: float | datetime,
    custom_data: Mapping[str, Any] | None = None,
    from_: str | None = None,
    call_answered_by: str | None = None,
) -> bytes:
    """The recipient answered; ``call_answered_by`` (HUMAN/MACHINE) only when AMD ran."""
    body = _leg(
        "connected",
        event_id=event_id,
        broadcast_id=broadcast_id,
        voice_id=voice_id,
        to=to,
        timestamp=timestamp,
        custom_data=custom_data,
        from_=from_,
    )
    if call_answered_by is not None:
        body["call_answered_by"] = _field("connected", "call_answered_by", call_answered_by)
    return canonical_json(body)


def playstate(
    *,
    event_id: str,
    broadcast_id: str,
    voice_id: str,
    to: str,
    timestamp: float | datetime,
    playstate: str,
    prompt_ref: str,
    custom_data: Mapping[str, Any] | None = None,
    from_: str | None = None,
    prompt_name: str | None = None,
) -> bytes:
    """A prompt started (``initiated``) or finished (``playfinished``); ``prompt_ref`` names it."""
    _field("playstate", "playstate", playstate)
    body = _leg(
        "playstate",
        event_id=event_id,
        broadcast_id=broadcast_id,
        voice_id=voice_id,
        to=to,
        timestamp=timestamp,
        custom_data=custom_data,
        from_=from_,
    )
    body["playstate"] = playstate
    body["prompt_ref"] = _field("playstate", "prompt_ref", prompt_ref)
    if prompt_name is not None:
        body["prompt_name"] = _field("playstate", "prompt_name", prompt_name)
    return canonical_json(body)


def disconnected(
    *,
    event_id: str,
    broadcast_id: str,
    voice_id: str,
    to: str,
    timestamp: float | datetime,
    call_duration: float,
    disconnect_reason: str,
    disconnect_cause_code: int,
    custom_data: Mapping[str, Any] | None = None,
    from_: str | None = None,
    call_answered_by: str | None = None,
    call_result: str | None = None,
) -> bytes:
    """The leg ended: duration in seconds, Q.850 cause (16 Normal Clearing, 17 User Busy, 19 No Answer …)."""
    _field("disconnected", "call_duration", call_duration)
    _field("disconnected", "disconnect_cause_code", disconnect_cause_code)
    body = _leg(
        "disconnected",
        event_id=event_id,
        broadcast_id=broadcast_id,
        voice_id=voice_id,
        to=to,
        timestamp=timestamp,
        custom_data=custom_data,
        from_=from_,
    )
    body["call_duration"] = call_duration
    body["disconnect_reason"] = _field("disconnected", "disconnect_reason", disconnect_reason)
    body["disconnect_cause_code"] = disconnect_cause_code
    if call_answered_by is not None:
        body["call_answered_by"] = _field("disconnected", "call_answered_by", call_answered_by)
    if call_result is not None:
        body["call_result"] = _field("disconnected", "call_result", call_result)
    return canonical_json(body)


def broadcastcall_complete(
    *,
    event_id: str,
    broadcast_id: str,
    timestamp: float | datetime,
    broadcast_call_info: Iterable[CallInfo],
    custom_data: Mapping[str, Any] | None = None,
    call_blacklisted: Sequence[str] = (),
    country_not_allowed: Sequence[str] = (),
) -> bytes:
    """Every leg has ended (terminal event): one :class:`CallInfo` per dialled recipient."""
    body = _common(
        "broadcastcall_complete",
        event_id=event_id,
        broadcast_id=broadcast_id,
        timestamp=timestamp,
        custom_data=custom_data,
    )
    body["broadcast_call_info"] = [info.to_json() for info in broadcast_call_info]
    body["blacklistednumber"] = {
        key: [_listed(key, n) for n in numbers]
        for key, numbers in (
            ("call_blacklisted", call_blacklisted),
            ("country_not_allowed", country_not_allowed),
        )
    }
    return canonical_json(body)


# ---------------------------------------------------------------------------------------------
# Signatures


def _key(secret: str | bytes) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not key:
        raise ValueError("the webhook secret must not be empty")
    return key


def sign(body: bytes, secret: str | bytes) -> str:
    """The ``X-Dialplan-Signature`` value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secret: str | bytes) -> bool:
    """True when ``header`` is the signature of the raw ``body`` under ``secret`` (constant-time compare).

    Pass the body bytes exactly as received (before any JSON parsing). A missing or malformed header is
    simply not valid.
    """
    if not header:
        return False
    scheme, sep, digest = header.strip().partition("=")
    if not sep or scheme.strip().lower() != "sha256":
        return False
    expected = hmac.new(_key(secret), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(
        expected.encode("ascii"), digest.strip().lower().encode("ascii", "replace")
    )


# ---------------------------------------------------------------------------------------------
# Delivery


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff after the n-th failed attempt: ``min(max_s, initial_s * multiplier**(n-1))``, then
    jittered down by up to ``jitter`` (0.25 → a delay in [75 %, 100 %] of that), so it never exceeds ``max_s``."""

    initial_s: float = 1.0
    multiplier: float = 2.0
    max_s: float = 300.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if not (self.initial_s > 0 and self.multiplier >= 1 and self.max_s >= self.initial_s):
            raise ValueError(f"bad retry policy: {self}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be within [0, 1], got {self.jitter}")

    def backoff(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Delay in seconds after ``failures`` (>= 1) consecutive failed attempts."""
        exponent = min(max(failures, 1) - 1, 64)  # 2**64 s is past any cap: avoid float overflow
        base = min(self.max_s, self.initial_s * self.multiplier**exponent)
        return base * (1.0 - self.jitter * rand())


@dataclass(slots=True)
class DeliveryReport:
    """What one :func:`deliver_pending` run did."""

    delivered: int = 0
    failed_attempts: int = 0
    pending: int = 0
    elapsed_s: float = 0.0
    #: The most recent failure messages ("<event_id>: HTTP 500" …), at most 20.
    errors: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """Nothing is left to deliver."""
        return self.pending == 0

    def _error(self, message: str) -> None:
        self.errors.append(message)
        del self.errors[:-20]


@dataclass(slots=True)
class _UrlState:
    failures: int = 0
    blocked_until: float = 0.0
    last_failed_id: int | None = None


#: the secret an event is signed with, by event (events of several campaigns share one outbox)
SecretOf = Callable[[OutboxEvent], "str | bytes"]


class CampaignSecrets:
    """Each event signed with its own campaign's ``[webhook] secret``: the campaign is the one
    whose ``broadcast_id`` the event carries, looked up with ``lookup`` (a store's
    ``webhook_secret``) and kept for ``ttl_s`` seconds; ``fallback`` when there is none (an
    event that names no campaign of the store). Without it, a deliverer working a shared outbox
    signed every campaign's events with its own campaign's secret."""

    def __init__(
        self, fallback: str, lookup: Callable[[str], str | None], ttl_s: float = 5.0
    ) -> None:
        self.fallback, self.lookup, self.ttl_s = fallback, lookup, ttl_s
        self._known: dict[str, tuple[float, str]] = {}

    def __call__(self, event: OutboxEvent) -> str:
        try:
            broadcast_id = json.loads(event.body).get("broadcast_id")
        except (ValueError, AttributeError):
            return self.fallback
        if not isinstance(broadcast_id, str):
            return self.fallback
        now = time.monotonic()
        kept = self._known.get(broadcast_id)
        if kept is None or now - kept[0] > self.ttl_s:
            kept = (now, self.lookup(broadcast_id) or self.fallback)
            self._known[broadcast_id] = kept
        return kept[1]


class DeliveryBook:
    """What every deliverer shares: the outbox, the signing key, the retry policy and the
    per-URL backoff state — which events to try now, their headers, and booking the result.
    ``secret`` is one secret for every event, or a :data:`SecretOf` (such as
    :class:`CampaignSecrets`) that picks each event's."""

    def __init__(
        self,
        outbox: Outbox,
        secret: str | bytes | SecretOf,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        seed: int | None = None,
        batch_size: int = 100,
    ) -> None:
        self.outbox = outbox
        self._secret_of = secret if callable(secret) else None
        self._key = b"" if callable(secret) else _key(secret)
        self.policy = policy or RetryPolicy()
        self._rng = rng if rng is not None else random.Random(seed)
        self.batch_size = batch_size
        self._urls: dict[str, _UrlState] = {}

    def next_unblock_at(self, now: float) -> float | None:
        """The earliest time a URL held back after transport failures may be tried again."""
        times = [s.blocked_until for s in self._urls.values() if s.blocked_until > now]
        return min(times) if times else None

    def headers(self, event: OutboxEvent) -> dict[str, str]:
        key = self._key if self._secret_of is None else _key(self._secret_of(event))
        return {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: "sha256=" + hmac.new(key, event.body, hashlib.sha256).hexdigest(),
            EVENT_ID_HEADER: event.event_id,
            ATTEMPT_HEADER: str(event.attempts + 1),
        }

    def due_now(self, now: float, limit: int | None) -> list[OutboxEvent]:
        """The events to try at ``now``: due, and their URL not held back."""
        batch = min(self.batch_size, limit) if limit is not None else self.batch_size
        due = self.outbox.due(now, batch)
        # The event that failed last on its URL goes after the others, so one event that always
        # hangs the receiver cannot hold back the rest of that URL forever (stable sort: id order).
        due.sort(key=lambda e: e.id == self._urls.get(e.url, _UrlState()).last_failed_id)
        return due

    def held_back(self, event: OutboxEvent, now: float) -> bool:
        return self._urls.setdefault(event.url, _UrlState()).blocked_until > now

    def settle(
        self, event: OutboxEvent, error: str | None, now: float, report: DeliveryReport
    ) -> bool:
        """Book one try of ``event`` (``error`` None: delivered); True when delivered."""
        state = self._urls.setdefault(event.url, _UrlState())
        if error is None:
            self.outbox.delivered(event.id, now)
            state.failures = 0
            state.blocked_until = 0.0
            report.delivered += 1
            return True
        report.failed_attempts += 1
        report._error(f"{event.event_id}: {error}")
        if error.startswith("refused:") or error.startswith("InvalidURL"):
            delay = self.policy.max_s  # will not get better soon: retry at the slowest pace
        else:
            delay = self.policy.backoff(event.attempts + 1, self._rng.random)
        self.outbox.retry_later(event.id, now + delay, error)
        state.last_failed_id = event.id
        if not error.startswith("HTTP "):
            # Transport-level failure: the receiver is down or hanging; hold the URL back.
            state.failures += 1
            state.blocked_until = now + self.policy.backoff(state.failures, self._rng.random)
        return False


def failure(exc: Exception) -> str:
    """Why a POST failed, for the outbox (``timeout (…)``, ``ConnectError: …``, ``refused: …``)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout ({type(exc).__name__})"
    if isinstance(exc, httpx.TransportError):
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, httpx.InvalidURL):
        return f"InvalidURL: {exc}"
    if isinstance(exc, UnsafeUrl):
        return f"refused: {exc.reason}"
    raise exc


class WebhookDeliverer(DeliveryBook):
    """Posts outbox events; one instance keeps the HTTP connection pool and per-URL backoff state.

    Most callers want :func:`deliver_pending`. Use this class directly to interleave delivery with other
    work: call :meth:`run_once` whenever convenient, and :meth:`close` (or use ``with``) at the end.
    """

    def __init__(
        self,
        outbox: Outbox,
        secret: str | bytes | SecretOf,
        *,
        transport: httpx.BaseTransport | None = None,
        allow_private: bool = False,
        resolver: Resolver | None = None,
        timeout_s: float = 10.0,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        seed: int | None = None,
        user_agent: str = USER_AGENT,
        batch_size: int = 100,
    ) -> None:
        super().__init__(outbox, secret, policy, rng, seed, batch_size)
        self._allow_private = allow_private
        if transport is None:
            kwargs: dict[str, Any] = {} if resolver is None else {"resolver": resolver}
            transport = guarded_transport(allow_private, **kwargs)
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": user_agent},
        )

    def __enter__(self) -> WebhookDeliverer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def attempt(self, event: OutboxEvent) -> str | None:
        """POST one event once; ``None`` when the receiver took it (2xx), else why it failed.

        Raises nothing for network trouble; records nothing in the outbox (see :meth:`run_once`).
        """
        try:
            with self._client.stream(
                "POST", event.url, content=event.body, headers=self.headers(event)
            ) as r:
                status = r.status_code
                # Drain a small body so the connection can be reused; give up on big ones (the
                # connection is then closed instead): only the status matters.
                _drain(r)
        except (httpx.TimeoutException, httpx.TransportError, httpx.InvalidURL, UnsafeUrl) as exc:
            return failure(exc)
        if 200 <= status < 300:
            return None
        return f"HTTP {status}"

    def run_once(
        self, now: float, report: DeliveryReport | None = None, limit: int | None = None
    ) -> int:
        """Try every due event once (skipping URLs held back); returns how many were attempted.

        Stops early after ``limit`` successful deliveries. Failures are recorded in the outbox with
        ``retry_later`` and in ``report``.
        """
        report = report if report is not None else DeliveryReport()
        attempted = delivered = 0
        for event in self.due_now(now, limit):
            if self.held_back(event, now):
                continue
            attempted += 1
            if self.settle(event, self.attempt(event), now, report):
                delivered += 1
                if limit is not None and delivered >= limit:
                    break
        return attempted


def _drain(response: httpx.Response) -> None:
    """Read a small response body so its connection can be reused; never raise (status is known)."""
    if response.is_stream_consumed:
        return
    read = 0
    try:
        for chunk in response.iter_raw():
            read += len(chunk)
            if read > _MAX_RESPONSE_BODY:
                return
    except (httpx.HTTPError, httpx.StreamError):
        return


def deliver_pending(
    outbox: Outbox,
    secret: str | bytes,
    *,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    max_wait_s: float = 30.0,
    poll_s: float = 0.5,
    max_deliveries: int | None = None,
    transport: httpx.BaseTransport | None = None,
    allow_private: bool = False,
    resolver: Resolver | None = None,
    timeout_s: float = 10.0,
    policy: RetryPolicy | None = None,
    rng: random.Random | None = None,
    seed: int | None = None,
    user_agent: str = USER_AGENT,
) -> DeliveryReport:
    """Deliver due events until the outbox is empty or ``max_wait_s`` (by ``now``) has passed.

    At least one pass is made, even with ``max_wait_s=0``. Between passes it sleeps (with ``sleep``)
    until the next event may be due, at most ``poll_s`` (the ``Outbox`` protocol cannot say when the
    next retry is due). ``max_deliveries`` stops after that many successful deliveries (for tests and
    batching). Returns a :class:`DeliveryReport`; ``report.pending`` is what is still undelivered.
    ``transport`` replaces the HTTP transport (``httpx.MockTransport`` in tests); ``allow_private`` lets
    the default guarded transport reach loopback/private receivers (local development only).
    """
    start = now()
    deadline = start + max(max_wait_s, 0.0)
    report = DeliveryReport()
    with WebhookDeliverer(
        outbox,
        secret,
        transport=transport,
        allow_private=allow_private,
        resolver=resolver,
        timeout_s=timeout_s,
        policy=policy,
        rng=rng,
        seed=seed,
        user_agent=user_agent,
    ) as deliverer:
        while outbox.pending_count() > 0:
            t = now()
            remaining = None if max_deliveries is None else max_deliveries - report.delivered
            attempted = deliverer.run_once(t, report, remaining)
            if max_deliveries is not None and report.delivered >= max_deliveries:
                break
            t = now()
            if t >= deadline or outbox.pending_count() == 0:
                break
            if attempted == 0:
                wake = min(deadline, t + poll_s)
                unblock = deliverer.next_unblock_at(t)
                if unblock is not None:
                    wake = min(wake, unblock)
                sleep(max(wake - t, 0.0))
    report.pending = outbox.pending_count()
    report.elapsed_s = now() - start
    return report
