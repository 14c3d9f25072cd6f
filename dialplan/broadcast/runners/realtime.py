"""Dispatching on the wall clock to a driver whose calls run concurrently (real telephony).

The :class:`~dialplan.broadcast.runners.virtual.Dispatcher` books each attempt the moment the
driver returns it, which suits the simulated driver (an attempt is computed, not lived). A
real driver needs seconds per call and many calls at once: a :class:`ConcurrentDriver` starts
a call and hands back a future, and :class:`ConcurrentDispatcher` keeps up to ``max_active``
of them in flight, starts new ones no faster than ``calls_per_second`` inside the campaign's
windows, and books each attempt (retries included) when its future completes.

Resume: attempts are committed as they finish; calls still in flight when the process dies
are placed again on the next run.
"""

from __future__ import annotations

import concurrent.futures as cf
import heapq
import math
import time
from typing import Any, Protocol

from ..store.sqlite import Pending
from ..telephony.simulated import AttemptOutcome, CallRequest
from .virtual import Dispatcher, _Queue


class ConcurrentDriver(Protocol):
    def start(self, call: CallRequest) -> cf.Future[AttemptOutcome]:
        """Start dialling ``call`` now; the future completes when the attempt is over."""

    def close(self) -> None: ...


class ConcurrentDispatcher(Dispatcher):
    """The dispatcher's queues, windows, rate and bookkeeping, with calls in flight."""

    def run(self, start_ms: int, state: dict[str, Any]) -> int:
        driver: ConcurrentDriver = self.driver  # type: ignore[assignment]
        self.errors: list[str] = []
        max_active = self.c.max_active
        max_attempts = self.c.retry.max_attempts
        retry_results = set(self.c.retry.retry_results)
        inflight: dict[cf.Future[AttemptOutcome], tuple[_Queue, int, Pending, int]] = {}
        next_slot = 0
        last_commit = time.monotonic()

        def now_ms() -> int:
            return int(time.time() * 1000)

        if self.progress:
            self.progress(self.snapshot(now_ms()))

        def harvest(timeout: float | None) -> None:
            if timeout != 0:  # commit before blocking: no lock held while calls ring
                self._flush()
                self.store.commit()
            if not inflight:
                if timeout:
                    time.sleep(timeout)
                return
            done, _ = cf.wait(list(inflight), timeout=timeout, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                q, t, p, n = inflight.pop(fut)
                try:
                    out = fut.result()
                except Exception as exc:  # the driver broke: count it as a carrier error
                    self.errors.append(repr(exc))
                    out = AttemptOutcome("CARRIER_ERROR", 41, None, 0.0, 0.0)
                self._record_outcome(q, t, p, n, out, max_attempts, retry_results)

        while True:
            harvest(0)
            if time.monotonic() - last_commit >= self.commit_seconds:
                self._checkpoint(now_ms(), next_slot, [])
                last_commit = time.monotonic()
            if len(inflight) >= max_active:
                harvest(None)
                continue
            now = now_ms()
            t = max(now, next_slot)
            best: _Queue | None = None
            best_key = (math.inf, 0)
            for q in self.queues:
                if q.dead:
                    continue
                head = self._head(q)
                if head is None:
                    continue
                ready = max(t, math.ceil(head.next_at * 1000))
                opens = q.windows.next_open(ready / 1000)
                if opens is None:
                    q.dead = True
                    continue
                key = (math.ceil(opens * 1000), head.id)
                if key < best_key:
                    best, best_key = q, key
            if best is None:
                if not inflight:
                    break
                harvest(None)  # a finished call may bring a retry back
                continue
            if best_key[0] > now:
                self._wait_for(best, now, int(best_key[0]))
                harvest(min((best_key[0] - now) / 1000, 1.0))
                continue
            self.waiting = None
            _, _, head = heapq.heappop(best.heap)
            if head.e164 in self.runtime_dnc:
                self._final(head, head.attempts, "DNC")
                continue
            n = head.attempts + 1
            inflight[driver.start(self._request(head, n))] = (best, now, head, n)
            next_slot = now + self.spacing
        end = now_ms()
        self._checkpoint(end, next_slot, [])
        return end
