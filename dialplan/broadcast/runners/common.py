"""What both runners share: turning the scheduler's decisions into rows, and committing them.

A :class:`Booking` builds each :class:`~..telephony.port.CallRequest`, books finished attempts
(attempt row, responses, runtime DNC, webhook events) and commits them in batches together with
the scheduler's state, so a crashed run resumes where its last commit left it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ..campaign import Campaign, split_inputs
from ..loader import column_letter
from ..phones import Normalizer
from ..progress import Progress, ProgressFn, Waiting
from ..scheduler.core import Place, Rules, Scheduler
from ..scheduler.windows import windows_for
from ..store.interfaces import CampaignDatabase
from ..store.rows import (
    AttemptRow,
    DispatchState,
    InFlight,
    OutboxRow,
    Pending,
    ResponseRow,
    TextRow,
)
from ..telephony.port import AttemptOutcome, CallRequest, voice_id_for
from ..webhooks.events import EventBuilder

PAGE = 1000
#: the reason booked with an attempt that was in flight when its runner was lost
LOST_REASON = "the runner was lost during the call (process ended); not redialled"


def rules_of(campaign: Campaign) -> Rules:
    return Rules(
        max_active=campaign.max_active,
        calls_per_second=campaign.calls_per_second,
        max_attempts=campaign.retry.max_attempts,
        retry_results=frozenset(campaign.retry.retry_results),
        minutes_between_attempts=campaign.retry.minutes_between_attempts,
        default_zone=campaign.default_time_zone,
    )


def runtime_dnc_source(campaign: Campaign) -> str:
    """The DNC source of numbers added during a run: ``runtime`` (a call's ``<dnc>``, shared
    with the account's later campaigns), or ``optout`` (a STOP reply to a text campaign, which
    only keeps that sending number quiet: its list is ``text_optouts``)."""
    return "optout" if campaign.channel == "sms" else "runtime"


def scheduler_for(
    store: CampaignDatabase,
    campaign: Campaign,
    campaign_id: int,
    state: DispatchState,
    results_before: Mapping[str, int],
    until: float | None = None,
) -> Scheduler:
    """``until``: no call starts after it (``resume_next_day = false``)."""
    zones = [
        (zone_id, windows_for(campaign, key.split("|"), until))
        for zone_id, key in store.campaign_zones(campaign_id)
    ]
    return Scheduler(
        rules_of(campaign),
        zones,
        state,
        store.dnc_numbers(campaign_id, runtime_dnc_source(campaign)),
        results_before,
    )


class Booking:
    """Rows waiting for the next commit, and the commit itself."""

    def __init__(
        self,
        store: CampaignDatabase,
        campaign: Campaign,
        campaign_id: int,
        broadcast_id: str,
        columns: Sequence[str],
        *,
        events: EventBuilder | None = None,
        progress: ProgressFn | None = None,
        on_commit: Callable[[], None] | None = None,
        total: int = 0,
        virtual: bool = True,
    ) -> None:
        self.store = store
        self.c = campaign
        self.cid = campaign_id
        self.broadcast_id = broadcast_id
        self.columns = list(columns)
        self.letters = [column_letter(i) for i in range(len(columns))]
        self.events = events
        self.progress = progress
        self.on_commit = on_commit
        self.total = total
        self.virtual = virtual
        normalizer = Normalizer(campaign.default_region)
        self._normalize = lambda raw: normalizer(raw).e164
        self.attempts: list[AttemptRow] = []
        self.responses: list[ResponseRow] = []
        self.outbox: list[OutboxRow] = []
        self.dnc: list[str] = []
        self.texts: list[TextRow] = []
        self.done_in_flight: list[tuple[int, int]] = []
        self.waiting: Waiting | None = None
        self.errors: list[str] = []

    # -- calls ------------------------------------------------------------------------------
    def request(self, place: Place) -> CallRequest:
        p = place.recipient
        return CallRequest(
            recipient_id=p.id,
            attempt_no=place.attempt_no,
            to=p.e164,
            from_number=self.c.from_number,
            contact=LazyContact(self, p),
            sim_result=p.sim_result,
            sim_inputs=split_inputs(p.sim_inputs) if p.sim_inputs is not None else None,
        )

    def book(self, sched: Scheduler, place: Place, out: AttemptOutcome) -> None:
        """One finished attempt: the scheduler decides what follows, the rows wait here."""
        self.attempts.append(sched.record(place, out))
        p, n = place.recipient, place.attempt_no
        for question, response in out.responses:
            self.responses.append(ResponseRow(p.id, n, question, response))
        if out.dnc:
            numbers = [e for e in map(self._normalize, out.dnc) if e is not None]
            sched.add_dnc(numbers)
            self.dnc.extend(numbers)
        if out.text is not None:
            t = out.text
            ids = json.dumps(list(t.message_ids))
            self.texts.append(
                TextRow(p.id, n, t.message, t.encoding, t.segments, ids, t.delivery,
                        t.delivered_segments)
            )  # fmt: skip
        if self.events is not None:
            voice_id = voice_id_for(self.broadcast_id, p.id, n)
            if out.text is not None:
                self.outbox.extend(
                    self.events.text_events(voice_id, p.e164, place.at, out, time.time())
                )
            else:
                if self.c.sounds is not None and out.prompts:
                    from ..sounds_campaign import prompt_refs

                    ref = json.loads(p.attributes).get("prompt_ref") or None
                    out.prompts = prompt_refs(out.prompts, ref)
                self.outbox.extend(
                    self.events.call_events(voice_id, p.e164, place.at, out, time.time())
                )
        if not self.virtual:
            self.done_in_flight.append((p.id, n))

    def start(self, sched: Scheduler, place: Place) -> None:
        """Real time: the attempt (with its voice_id) is committed before the call is placed,
        so a lost runner can never make a second dial of it (see :meth:`recover`). What waits
        is committed with it: a booked attempt and its recipient's update always together."""
        p = place.recipient
        self.flush(sched)
        self.store.begin()
        self.store.add_in_flight(
            self.cid,
            InFlight(
                p.id,
                place.attempt_no,
                voice_id_for(self.broadcast_id, p.id, place.attempt_no),
                place.at / 1000,
            ),
        )
        self.store.commit()

    def recover(self, sched: Scheduler) -> int:
        """Attempts left in flight by a runner that was lost: booked ``INTERNAL_ERROR`` (the
        retry policy decides what follows). Returns how many."""
        lost = self.store.in_flight(self.cid)
        for f in lost:
            sched.lost(f.recipient_id, f.attempt_no, f.started_at)
            self.attempts.append(
                AttemptRow(
                    f.recipient_id,
                    f.attempt_no,
                    f.started_at,
                    None,
                    f.started_at,
                    "INTERNAL_ERROR",
                    41,
                    None,
                    0.0,
                    voice_id=f.voice_id,
                    reason=LOST_REASON,
                )
            )
            self.done_in_flight.append((f.recipient_id, f.attempt_no))
        if lost:
            self.flush(sched)
            self.store.commit()
        return len(lost)

    # -- persistence ------------------------------------------------------------------------
    def flush(self, sched: Scheduler) -> None:
        """Write what waits (inside the open transaction; the caller commits)."""
        updates = sched.take_updates()
        if not (
            self.attempts or updates or self.outbox or self.dnc or self.done_in_flight or self.texts
        ):
            return
        store = self.store
        store.begin()
        store.record_attempts(self.attempts)
        store.record_responses(self.responses)
        store.update_recipients(updates)
        if self.outbox:
            store.add_many(self.outbox)
        if self.dnc:
            store.add_dnc(self.cid, self.dnc, runtime_dnc_source(self.c))
        if self.done_in_flight:
            store.remove_in_flight(self.done_in_flight)
        if self.texts:
            store.record_texts(self.texts)  # type: ignore[attr-defined]
            self.texts = []
        self.attempts, self.responses, self.outbox, self.dnc = [], [], [], []
        self.done_in_flight = []

    def fetch(self, sched: Scheduler, zone_id: int, after: tuple[float, int]) -> None:
        self.flush(sched)  # retries behind the page key must be in the store before reading
        sched.feed(zone_id, self.store.pending(self.cid, zone_id, after, PAGE), PAGE)

    def checkpoint(self, sched: Scheduler, clock_ms: int) -> None:
        self.flush(sched)
        self.store.begin()
        self.store.update_campaign(
            self.cid, clock=clock_ms / 1000, dispatch=sched.state(self.columns).to_json()
        )
        self.store.commit()
        self.report(sched, clock_ms)
        if self.on_commit:
            self.on_commit()  # e.g. deliver the webhook events that are due

    def report(self, sched: Scheduler, now_ms: int) -> None:
        if self.progress:
            self.progress(self.snapshot(sched, now_ms))

    def snapshot(self, sched: Scheduler, now_ms: int) -> Progress:
        """Where the run stands (plain data for a progress display)."""
        return Progress(
            phase="stopping" if sched.stopping else "calling",
            done=sum(sched.results.values()),
            total=self.total,
            results=dict(sched.results),
            attempts=sched.placed,
            clock=now_ms / 1000,
            virtual=self.virtual,
            waiting=self.waiting,
        )

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


class LazyContact(Mapping[str, str]):
    """The contact row (attributes by column name, every column by letter), decoded only when
    the dialplan needs it; single lookups do not build the whole mapping."""

    __slots__ = ("_attrs", "_booking", "_data", "_p")

    def __init__(self, booking: Booking, p: Pending) -> None:
        self._booking = booking
        self._p = p
        self._attrs: dict[str, str] | None = None
        self._data: dict[str, str] | None = None

    def _full(self) -> dict[str, str]:
        if self._data is None:
            self._data = self._booking._contact(self._p)
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
