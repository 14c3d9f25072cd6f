"""The sans-IO campaign scheduler: who is called when. No I/O, no clock reads.

Like the call engine, the scheduler is driven from outside: a runner asks :meth:`Scheduler.next`
with the time it believes it is and gets one action back —

- :class:`Fetch`: the queue of one zone needs its next page of recipients (:meth:`Scheduler.feed`);
- :class:`Place`: start this attempt at ``at`` (the runner dials, then :meth:`Scheduler.record`);
- :class:`Wait`: nothing can start before ``until`` (``None``: until a call in flight ends);
- :class:`Done`: nobody can be called any more; the last line is free at ``at``.

A stop is an event fed in like the others: after :meth:`Scheduler.stop` nothing new is placed,
the calls in flight are still booked as they end, and :class:`Done` (with ``stopped``) comes
once none is left — the recipients not yet called stay where they were for the next run.

Recipients wait in one queue per time-zone key, ordered by (earliest next attempt, input order).
The scheduler picks the queue whose head may start first — the first instant at or after its due
time inside the campaign schedules and the recipient's local window — and places the call when a
line is free (``max_active``) and the rate allows it (``calls_per_second``: starts at least
``1/cps`` apart, at millisecond resolution). Retries by result with spacing, the runtime DNC list
and final results are booked here, once, for every runner. All times are integer milliseconds.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ..progress import Waiting
from ..store.rows import AttemptRow, DispatchState, Pending, RecipientUpdate
from ..telephony.port import AttemptOutcome
from .windows import Windows

_NEVER: tuple[float, int] = (math.inf, 0)


def _ms(seconds: float) -> int:
    """Seconds → whole milliseconds, rounding up (but not for float noise)."""
    return math.ceil(seconds * 1000 - 1e-6)


@dataclass(frozen=True, slots=True)
class Rules:
    """The campaign settings the scheduler applies (from :class:`~..campaign.Campaign`)."""

    max_active: int
    calls_per_second: float
    max_attempts: int
    retry_results: frozenset[str]
    minutes_between_attempts: float
    default_zone: str

    @property
    def spacing_ms(self) -> int:
        return math.ceil(1000 / self.calls_per_second)

    @property
    def retry_ms(self) -> int:
        return round(self.minutes_between_attempts * 60_000)

    def after(self, result: str, attempt_no: int, end_ms: int) -> tuple[float, str | None]:
        """The retry policy for a recipient whose attempt ``attempt_no`` ended ``result`` at
        ``end_ms``: ``(next_at, None)`` — due again then (seconds) — or ``(end, final)``.
        Every runner and backend books attempts with this rule (the PostgreSQL workers too)."""
        if result in self.retry_results and attempt_no < self.max_attempts:
            return (end_ms + self.retry_ms) / 1000, None
        return end_ms / 1000, result


def attempt_times(at_ms: int, out: AttemptOutcome) -> tuple[int, int]:
    """When an attempt placed at ``at_ms`` was answered (or gave up) and ended (ms)."""
    answer = at_ms + round(out.ring_s * 1000)
    return answer, answer + round(out.talk_s * 1000)


@dataclass(frozen=True, slots=True)
class Fetch:
    zone_id: int
    after: tuple[float, int]  # (next_at, id) of the last recipient read


@dataclass(slots=True)  # not frozen: one per call, and frozen init is slow
class Place:
    recipient: Pending
    attempt_no: int
    at: int
    zone_id: int


WaitCause = Literal["lines", "calls", "due"]


@dataclass(frozen=True, slots=True)
class Wait:
    """``until`` None: wait for a call in flight to end. ``cause``: every line is busy
    (``lines``), only calls in flight are left (``calls``), or the next start is not due yet
    (``due``: the rate, a retry's spacing or a window — :meth:`Scheduler.why` says which)."""

    until: int | None
    cause: WaitCause
    zone_id: int | None = None


@dataclass(frozen=True, slots=True)
class Done:
    at: int
    #: the run was stopped (:meth:`Scheduler.stop`): recipients may be left to call
    stopped: bool = False


Action = Fetch | Place | Wait | Done


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


class Scheduler:
    """The campaign's queues, windows, lines, rate, retries and DNC (see the module doc)."""

    def __init__(
        self,
        rules: Rules,
        zones: Sequence[tuple[int, Windows]],
        state: DispatchState | None = None,
        runtime_dnc: Iterable[str] = (),
        results_before: Mapping[str, int] | None = None,
    ) -> None:
        self.rules = rules
        state = state or DispatchState()
        self.spacing = rules.spacing_ms
        self.retry_ms = rules.retry_ms
        self.queues = [_Queue(zone_id, windows) for zone_id, windows in zones]
        self._by_zone = {q.zone_id: q for q in self.queues}
        floors = dict(state.floors)
        for q in self.queues:
            q.floor = floors.get(q.zone_id, 0)
        self.now = state.now or 0
        self.next_slot = state.next_slot if state.next_slot is not None else 0
        self.active: list[int] = list(state.active)  # when busy lines are free (ms, a heap)
        heapq.heapify(self.active)
        self.in_flight = 0  # placed, not yet recorded
        self.dnc = set(runtime_dnc)
        #: recipient changes not yet taken by the runner (for its next commit)
        self.updates: list[RecipientUpdate] = []
        self.results: Counter[str] = Counter(results_before or {})
        self.placed = 0
        #: asked to stop (:meth:`stop`): nothing new is placed
        self.stopping = False

    # -- the runner's side ----------------------------------------------------------------
    def feed(self, zone_id: int, rows: Sequence[Pending], page: int) -> None:
        """The answer to :class:`Fetch`: the next ``rows`` of the zone (fewer than ``page``:
        the queue is exhausted)."""
        q = self._by_zone[zone_id]
        for r in rows:
            heapq.heappush(q.heap, (r.next_at, r.id, r))
        if rows:
            q.last = (rows[-1].next_at, rows[-1].id)
        if len(rows) < page:
            q.exhausted = True
        q.key = None

    def take_updates(self) -> list[RecipientUpdate]:
        out, self.updates = self.updates, []
        return out

    def state(self, columns: Sequence[str] = ()) -> DispatchState:
        return DispatchState(
            tuple(columns),
            self.now,
            self.next_slot,
            tuple(sorted(self.active)),
            tuple((q.zone_id, q.floor) for q in self.queues if q.floor),
        )

    def add_dnc(self, numbers: Iterable[str]) -> None:
        self.dnc.update(numbers)

    def stop(self) -> None:
        """The run is asked to stop: place no new call; :class:`Done` once the calls in flight
        are recorded."""
        self.stopping = True

    # -- deciding -------------------------------------------------------------------------
    def _key(self, q: _Queue) -> tuple[float, int] | Fetch:
        """When the head of ``q`` may first be called (ms) and its id, or the page to read."""
        if not q.heap:
            if not q.exhausted:
                return Fetch(q.zone_id, q.last)
            q.key = _NEVER
            return _NEVER
        head = q.heap[0][2]
        due = max(q.floor, round(head.next_at * 1000))
        opens = q.windows.next_open(due / 1000)
        if opens is None:
            q.dead = True
            key = _NEVER
        else:
            key = (_ms(opens), head.id)
        q.key = key
        return key

    def next(self, now: int) -> Action:
        """What to do at ``now`` (ms): see the module docstring."""
        if now > self.now:
            self.now = now
        active = self.active
        if self.stopping:
            if self.in_flight:
                return Wait(None, "calls")
            return Done(max([self.now, *active]), stopped=True)
        while True:
            now = self.now
            while active and active[0] <= now:
                heapq.heappop(active)
            if self.in_flight + len(active) >= self.rules.max_active:
                return Wait(active[0] if active else None, "lines")
            t = max(now, self.next_slot)
            best: _Queue | None = None
            best_key = _NEVER
            for q in self.queues:
                key = q.key
                if key is None:
                    found = self._key(q)
                    if isinstance(found, Fetch):
                        return found
                    key = found
                if key < best_key:
                    best, best_key = q, key
            if best is None:
                if self.in_flight:
                    return Wait(None, "calls")
                return Done(max([now, *active]))
            if best_key[0] > t:
                return Wait(int(best_key[0]), "due", best.zone_id)
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
            self.now = t
            if head.e164 in self.dnc:
                self._final(head, head.attempts, "DNC")
                continue
            self.in_flight += 1
            self.next_slot = t + self.spacing
            return Place(head, head.attempts + 1, t, best.zone_id)

    def why(self, wait: Wait) -> Waiting | None:
        """Why nobody can be dialled before ``wait.until`` — plain data for a progress display
        (``None`` for waits on lines and calls in flight)."""
        if wait.until is None or wait.zone_id is None:
            return None
        q = self._by_zone[wait.zone_id]
        blocked = q.windows.blocker(self.now / 1000)
        reason, zone = blocked if blocked is not None else ("retry", self.rules.default_zone)
        return Waiting(wait.until / 1000, reason, zone)

    # -- booking --------------------------------------------------------------------------
    def _final(self, p: Pending, n: int, result: str) -> None:
        self.updates.append(RecipientUpdate(p.id, n, p.next_at, result))
        self.results[result] += 1

    def record(self, place: Place, out: AttemptOutcome, reason: str | None = None) -> AttemptRow:
        """Book the attempt ``place`` as ``out`` went; its line is free when the call ended.
        Returns the attempt row; the recipient's change waits in :attr:`updates`."""
        p, n, t = place.recipient, place.attempt_no, place.at
        answer, end = attempt_times(t, out)
        self.in_flight -= 1
        heapq.heappush(self.active, end)
        self.placed += 1
        self._book(place, out.result, end)
        return AttemptRow(
            p.id,
            n,
            t / 1000,
            answer / 1000 if out.answered else None,
            end / 1000,
            out.result,
            out.q850_cause,
            out.answered_by,
            out.talk_s,
            reason=reason,
        )

    def _book(self, place: Place, result: str, end: int) -> None:
        p, n = place.recipient, place.attempt_no
        next_at, final = self.rules.after(result, n, end)
        if final is None:
            self.updates.append(RecipientUpdate(p.id, n, next_at, None))
            q = self._by_zone[place.zone_id]
            again = Pending(next_at, p.id, p.e164, n, p.attributes, p.sim_result, p.sim_inputs)
            if q.exhausted or (next_at, p.id) <= q.last:
                heapq.heappush(q.heap, (next_at, p.id, again))
                q.key = None
            # otherwise the next page read from the store brings it back
        else:
            self._final(p, n, final)

    def lost(self, recipient_id: int, attempt_no: int, started_at: float) -> None:
        """An attempt found in flight on resume (its runner was lost) is booked as
        ``INTERNAL_ERROR``; the retry policy decides what follows — never a blind redial."""
        next_at, final = self.rules.after("INTERNAL_ERROR", attempt_no, round(started_at * 1000))
        self.updates.append(RecipientUpdate(recipient_id, attempt_no, next_at, final))
        if final is not None:
            self.results[final] += 1
