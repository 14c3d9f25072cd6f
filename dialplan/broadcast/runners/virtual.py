"""The scheduler/dispatcher: who is called when, on a virtual (or real) clock.

Recipients wait in one queue per time-zone key, ordered by (earliest next attempt, input
order); the queues are read from the store in pages (keyset pagination), so memory stays flat.
At each step the dispatcher picks the queue whose head may start first — the first instant at
or after its due time that lies in the campaign schedules and in the recipient's local window —
and places the call when a line is free (``max_active``) and the rate allows it
(``calls_per_second``: starts at least ``1/cps`` apart, at millisecond resolution).

All times inside are integer milliseconds since the epoch. Work is committed in batches
together with the dispatcher state (clock, rate slot, calls in progress), so a crashed run
resumes exactly where its last commit left it; attempts after that commit are recomputed
identically (the simulated driver is seeded per recipient and attempt).
"""

from __future__ import annotations

import heapq
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..campaign import Campaign, split_inputs
from ..loader import column_letter
from ..phones import Normalizer
from ..progress import Progress, ProgressFn, Waiting
from ..scheduler.windows import Windows, windows_for
from ..store.sqlite import Pending, Store
from ..telephony.simulated import AttemptOutcome, CallRequest, TelephonyDriver, voice_id_for
from ..webhooks.events import EventBuilder

PAGE = 1000
#: real-clock waits shorter than this (ms) are not announced (the rate limit, short retries)
ANNOUNCE_WAIT_MS = 1000


class Clock:
    """Virtual time: never waits."""

    real = False

    def wait_until(self, ms: int) -> None:
        return None


class RealClock(Clock):
    """Wall-clock time: waits until the dispatcher's next instant."""

    real = True

    def wait_until(self, ms: int) -> None:
        delay = ms / 1000 - time.time()
        if delay > 0:
            time.sleep(delay)


@dataclass
class _Queue:
    zone_id: int
    windows: Windows
    heap: list[tuple[float, int, Pending]] = field(default_factory=list)
    last: tuple[float, int] = (-1.0, -1)
    exhausted: bool = False
    dead: bool = False
    floor: int = 0  # no call before this instant (ms): the window closed on the queue
    key: tuple[float, int] | None = None  # cached (first possible start ms, head id)


_NEVER: tuple[float, int] = (math.inf, 0)


def _ms(seconds: float) -> int:
    """Seconds → whole milliseconds, rounding up (but not for float noise)."""
    return math.ceil(seconds * 1000 - 1e-6)


class Dispatcher:
    def __init__(
        self,
        store: Store,
        campaign: Campaign,
        campaign_id: int,
        driver: TelephonyDriver,
        broadcast_id: str,
        columns: list[str],
        events: EventBuilder | None = None,
        clock: Clock | None = None,
        progress: ProgressFn | None = None,
        on_commit: Callable[[], None] | None = None,
        commit_every: int = 10_000,
        commit_seconds: float = 2.0,
        results_before: Mapping[str, int] | None = None,
        total: int = 0,
    ) -> None:
        self.store = store
        self.c = campaign
        self.cid = campaign_id
        self.driver = driver
        self.broadcast_id = broadcast_id
        self.events = events
        self.clock = clock or Clock()
        self.progress = progress
        self.on_commit = on_commit
        self.commit_every = commit_every
        self.commit_seconds = commit_seconds
        self.spacing = math.ceil(1000 / campaign.calls_per_second)
        self.retry_ms = round(campaign.retry.minutes_between_attempts * 60_000)
        self.letters = [column_letter(i) for i in range(len(columns))]
        self.columns = columns
        self.queues: list[_Queue] = []
        for zone_id, key in store.campaign_zones(campaign_id):
            self.queues.append(_Queue(zone_id, windows_for(campaign, key.split("|"))))
        self.runtime_dnc = store.dnc_numbers(campaign_id, "runtime")
        normalizer = Normalizer(campaign.default_region)
        self._normalize = lambda raw: normalizer(raw).e164
        self._attempts: list[tuple[Any, ...]] = []
        self._responses: list[tuple[int, int, str, str]] = []
        self._updates: list[tuple[Any, ...]] = []
        self._outbox: list[tuple[str, str, bytes, float]] = []
        self._dnc: list[str] = []
        self.placed = 0
        self.finished = 0
        #: final results (earlier runs included) and the recipients in the campaign, for progress
        self.results: Counter[str] = Counter(results_before or {})
        self.total = total
        self.waiting: Waiting | None = None

    # -- queues -------------------------------------------------------------------------
    def _head(self, q: _Queue) -> Pending | None:
        if not q.heap and not q.exhausted:
            self._flush()
            rows = self.store.pending(self.cid, q.zone_id, q.last, PAGE)
            for r in rows:
                heapq.heappush(q.heap, (r.next_at, r.id, r))
            if rows:
                q.last = (rows[-1].next_at, rows[-1].id)
            if len(rows) < PAGE:
                q.exhausted = True
        return q.heap[0][2] if q.heap else None

    def _requeue(self, q: _Queue, p: Pending) -> None:
        if q.exhausted or (p.next_at, p.id) <= q.last:
            heapq.heappush(q.heap, (p.next_at, p.id, p))
            q.key = None
        # otherwise the next page read from the store will bring it back

    # -- persistence --------------------------------------------------------------------
    def _flush(self) -> None:
        if not (self._attempts or self._updates or self._outbox or self._dnc):
            return
        self.store.begin()
        self.store.record_attempts(self._attempts)
        self.store.record_responses(self._responses)
        self.store.update_recipients(self._updates)
        if self._outbox:
            self.store.add_many(self._outbox)
        if self._dnc:
            self.store.add_dnc(self.cid, self._dnc, "runtime")
        self._attempts, self._responses, self._updates = [], [], []
        self._outbox, self._dnc = [], []

    def _checkpoint(self, now: int, next_slot: int, active: list[int]) -> None:
        self._flush()
        self.store.begin()
        self.store.update_campaign(
            self.cid,
            clock=now / 1000,
            dispatch={
                "columns": self.columns,
                "now": now,
                "next_slot": next_slot,
                "active": sorted(active),
                "floors": {str(q.zone_id): q.floor for q in self.queues if q.floor},
            },
        )
        self.store.commit()
        if self.progress:
            self.progress(self.snapshot(now))
        if self.on_commit:
            self.on_commit()  # e.g. deliver the webhook events that are due

    # -- progress -----------------------------------------------------------------------
    def snapshot(self, now_ms: int) -> Progress:
        """Where the run stands (plain data for a progress display)."""
        return Progress(
            phase="calling",
            done=sum(self.results.values()),
            total=self.total,
            results=dict(self.results),
            attempts=self.placed,
            clock=now_ms / 1000,
            virtual=not self.clock.real,
            waiting=self.waiting,
        )

    def _final(self, p: Pending, n: int, result: str) -> None:
        """``p`` gets its final result after ``n`` attempts."""
        self._updates.append((n, p.next_at, result, p.id))
        self.finished += 1
        self.results[result] += 1

    def _wait_for(self, q: _Queue, now_ms: int, until_ms: int) -> None:
        """Nobody can be dialled before ``until_ms`` (real clock): say so, and why."""
        if until_ms - now_ms < ANNOUNCE_WAIT_MS:
            return
        why = q.windows.blocker(now_ms / 1000)
        reason, zone = why if why is not None else ("retry", self.c.default_time_zone)
        waiting = Waiting(until_ms / 1000, reason, zone)
        if waiting != self.waiting:
            self.waiting = waiting
            if self.progress:
                self.progress(self.snapshot(now_ms))

    # -- the loop -----------------------------------------------------------------------
    def _key(self, q: _Queue) -> tuple[float, int]:
        """When the head of ``q`` may first be called (ms), and its id (cached per head)."""
        key = q.key
        if key is None:
            head = self._head(q)
            if head is None:
                key = _NEVER
            else:
                due = max(q.floor, round(head.next_at * 1000))
                opens = q.windows.next_open(due / 1000)
                if opens is None:
                    q.dead = True
                    key = _NEVER
                else:
                    key = (_ms(opens), head.id)
            q.key = key
        return key

    def run(self, start_ms: int, state: dict[str, Any]) -> int:
        """Dispatch until no recipient can be called any more; returns the final clock."""
        now = int(state.get("now", start_ms))
        if self.clock.real:
            now = max(now, int(time.time() * 1000))
        next_slot = int(state.get("next_slot", now))
        active: list[int] = list(state.get("active", []))
        heapq.heapify(active)
        floors = state.get("floors", {})
        for q in self.queues:
            q.floor = int(floors.get(str(q.zone_id), 0))
        max_active = self.c.max_active
        max_attempts = self.c.retry.max_attempts
        retry_results = set(self.c.retry.retry_results)
        since_commit = 0
        last_commit = time.monotonic()
        queues = self.queues
        if self.progress:
            self.progress(self.snapshot(now))
        while True:
            while active and active[0] <= now:
                heapq.heappop(active)
            if len(active) >= max_active:
                now = active[0]
                continue
            t = max(now, next_slot)
            best: _Queue | None = None
            best_key = _NEVER
            for q in queues:
                key = q.key if q.key is not None else self._key(q)
                if key < best_key:
                    best, best_key = q, key
            if best is None:
                break
            if best_key[0] > t:
                if self.clock.real:
                    self._wait_for(best, max(t, int(time.time() * 1000)), int(best_key[0]))
                now = int(best_key[0])
                continue
            if not best.windows.allowed(t / 1000):
                # the window closed while this queue waited for a line: wait for it to reopen
                opens = best.windows.next_open(t / 1000)
                if opens is None:
                    best.dead = True
                    best.key = _NEVER
                else:
                    best.floor = _ms(opens)
                    best.key = None
                continue
            _, _, head = heapq.heappop(best.heap)
            best.key = None
            now = t
            if self.clock.real and t / 1000 - time.time() > 1.0:
                # commit before a real wait: no lock held while sleeping (the lease renews)
                self._checkpoint(now, next_slot, active)
            self.clock.wait_until(t)
            self.waiting = None
            end = self._attempt(best, t, head, max_attempts, retry_results)
            if end is not None:
                heapq.heappush(active, end)
                next_slot = t + self.spacing
            since_commit += 1
            if since_commit >= self.commit_every or (
                time.monotonic() - last_commit >= self.commit_seconds
            ):
                self._checkpoint(now, next_slot, active)
                since_commit = 0
                last_commit = time.monotonic()
        end_clock = max([now, *active]) if active else now
        if self.clock.real:
            self._checkpoint(now, next_slot, active)
        self.clock.wait_until(end_clock)  # real time: the last calls end
        self._checkpoint(end_clock, next_slot, [])
        return end_clock

    def _contact(self, p: Pending) -> dict[str, str]:
        attrs: dict[str, str] = json.loads(p.attributes)
        contact = dict(attrs)
        phone_column = self.c.phone_column
        for letter, col in zip(self.letters, self.columns, strict=True):
            value = attrs.get(col)
            if value is None:
                value = p.e164 if col == phone_column else ""
            contact[letter] = value
        return contact

    def _attempt(
        self, q: _Queue, t: int, p: Pending, max_attempts: int, retry_results: set[str]
    ) -> int | None:
        """Place one attempt at ``t``; returns when the line is free again (None: no call)."""
        if p.e164 in self.runtime_dnc:
            self._final(p, p.attempts, "DNC")
            return None
        n = p.attempts + 1
        out = self.driver.place(self._request(p, n), t / 1000)
        return self._record_outcome(q, t, p, n, out, max_attempts, retry_results)

    def _request(self, p: Pending, n: int) -> CallRequest:
        return CallRequest(
            recipient_id=p.id,
            attempt_no=n,
            to=p.e164,
            from_number=self.c.from_number,
            contact=LazyContact(self, p),
            sim_result=p.sim_result,
            sim_inputs=split_inputs(p.sim_inputs) if p.sim_inputs is not None else None,
        )

    def _record_outcome(
        self,
        q: _Queue,
        t: int,
        p: Pending,
        n: int,
        out: AttemptOutcome,
        max_attempts: int,
        retry_results: set[str],
    ) -> int:
        """Book one finished attempt (started at ``t``); returns when its line is free."""
        answer = t + round(out.ring_s * 1000)
        end = answer + round(out.talk_s * 1000)
        self._attempts.append(
            (
                p.id,
                n,
                None,  # voice_id: derived from (broadcast, recipient, attempt) when read
                t / 1000,
                answer / 1000 if out.answered else None,
                end / 1000,
                out.result,
                out.q850_cause,
                out.answered_by,
                out.talk_s,
            )
        )
        for question, response in out.responses:
            self._responses.append((p.id, n, question, response))
        if out.dnc:
            numbers = [e for e in map(self._normalize, out.dnc) if e is not None]
            self.runtime_dnc.update(numbers)
            self._dnc.extend(numbers)
        if self.events is not None:
            voice_id = voice_id_for(self.broadcast_id, p.id, n)
            self._outbox.extend(self.events.call_events(voice_id, p.e164, t, out, time.time()))
        self.placed += 1
        if out.result in retry_results and n < max_attempts:
            next_at = (end + self.retry_ms) / 1000
            self._updates.append((n, next_at, None, p.id))
            self._requeue(
                q, Pending(next_at, p.id, p.e164, n, p.attributes, p.sim_result, p.sim_inputs)
            )
        else:
            self._final(p, n, out.result)
        return end


class LazyContact(Mapping[str, str]):
    """The contact row (attributes by column name, every column by letter), decoded only when
    the dialplan needs it; single lookups do not build the whole mapping."""

    __slots__ = ("_attrs", "_data", "_disp", "_p")

    def __init__(self, disp: Dispatcher, p: Pending) -> None:
        self._disp = disp
        self._p = p
        self._attrs: dict[str, str] | None = None
        self._data: dict[str, str] | None = None

    def _full(self) -> dict[str, str]:
        if self._data is None:
            self._data = self._disp._contact(self._p)
        return self._data

    def get(self, key: str, default: Any = None) -> Any:
        if self._data is not None:
            return self._data.get(key, default)
        if self._attrs is None:
            self._attrs = json.loads(self._p.attributes)
        value = self._attrs.get(key)
        if value is not None:
            return value
        return self._full().get(key, default)

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return str(value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._full())

    def __len__(self) -> int:
        return len(self._full())
