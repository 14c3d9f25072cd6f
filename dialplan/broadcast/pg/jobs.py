"""One running campaign as a PostgreSQL worker sees it: its rules, windows, driver and bookings.

A :class:`CampaignJob` turns the dialling primitives' claims into calls for the telephony port
and the port's outcomes into bookings. The retry policy is the scheduler's own
(:meth:`~..scheduler.core.Rules.after`), the calling windows are the scheduler's
(:func:`~..scheduler.windows.windows_for`), the call requests and contact rows are the SQLite
runners' (:class:`~..runners.common.Booking`): a campaign gives the same final results on
either backend. What the job adds is what several workers need: which zones may be claimed
now, when this worker should wake up, and who finishes the campaign (exactly one worker).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import psycopg

from ...errors import CampaignError
from ..campaign import Campaign, load_campaign
from ..phones import Normalizer
from ..runners.common import Booking as RowBooking
from ..runners.common import rules_of, runtime_dnc_source
from ..scheduler.core import Place, Rules, attempt_times
from ..scheduler.windows import Windows, windows_for
from ..store.rows import OutboxRow, Pending, TextRow
from ..store.sqlite import CampaignRow
from ..telephony.port import AttemptOutcome, CallRequest
from ..webhooks.events import EventBuilder
from . import counters
from .dialing import Claim, Outcome
from .workers import Booking, LostAttempt, fenced

if TYPE_CHECKING:
    from ..telephony.texts import TextCampaignDriver

__all__ = ["CallDone", "CampaignJob", "load_job"]


def ms(seconds: float) -> int:
    return math.ceil(seconds * 1000 - 1e-6)


@dataclass(slots=True)
class CallDone:
    """A finished call waiting to be booked."""

    claim: Claim
    out: AttemptOutcome


class CampaignJob:
    """A running campaign this worker dials for (see the module doc)."""

    def __init__(self, row: CampaignRow, campaign: Campaign, zones: Sequence[tuple[int, str]]):
        self.row = row
        self.id = row.id
        self.campaign = campaign
        self.rules: Rules = rules_of(campaign)
        self.windows: dict[int, Windows] = {
            zone_id: windows_for(campaign, key.split("|")) for zone_id, key in zones
        }
        self.events: EventBuilder | None = None
        if campaign.webhook is not None:
            self.events = EventBuilder(
                row.broadcast_id,
                campaign.from_number,
                campaign.custom_data,
                campaign.webhook.url,
                campaign.amd_enabled,
            )
        # the SQLite runners' call requests (contact rows by column name and letter)
        self._requests = RowBooking(
            cast(Any, None), campaign, row.id, row.broadcast_id, row.dispatch.get("columns", [])
        )
        normalizer = Normalizer(campaign.default_region)
        self._normalize = lambda raw: normalizer(raw).e164
        self.dnc: set[str] = set()
        #: ``runtime`` (a call's ``<dnc>``) or ``optout`` (a STOP reply to a text campaign)
        self.dnc_source = runtime_dnc_source(campaign)
        #: a text campaign's driver, whose do-not-text list :meth:`refresh_dnc` renews
        self.texts: TextCampaignDriver | None = None
        #: the campaign's settings as of (:func:`changed_at`) when this job was loaded
        self.changed_at: float | None = None

    @property
    def clock_name(self) -> str:
        return f"campaign:{self.id}"

    # -- claiming -----------------------------------------------------------------------
    def open_zones(self, now: float, horizon: float) -> list[int]:
        """Zones whose window is open from ``now`` to ``now + horizon`` (a claim's slot is in
        between)."""
        return [
            z
            for z, w in self.windows.items()
            if w.allowed(now) and (horizon <= 0 or w.allowed(now + horizon))
        ]

    def dead_zones(self, now: float) -> list[int]:
        """Zones whose windows never open again: their recipients end ``UNDIALED``."""
        return [z for z, w in self.windows.items() if w.next_open(now) is None]

    def request(self, c: Claim) -> CallRequest:
        pending = Pending(
            0.0, c.recipient_id, c.e164 or "", c.attempt_no - 1, c.attributes, c.sim_result,
            c.sim_inputs,
        )  # fmt: skip
        return self._requests.request(Place(pending, c.attempt_no, ms(c.start_at), 0))

    def refresh_dnc(self, conn: psycopg.Connection) -> None:
        """Numbers put on the DNC list during the campaign (by any worker's calls), and a text
        campaign's do-not-text list (STOP replies any worker received)."""
        self.dnc = {
            r[0]
            for r in conn.execute(
                "SELECT number FROM dnc WHERE campaign_id = %s AND source = %s",
                (self.id, self.dnc_source),
            )
        }
        if self.texts is not None:
            self.texts.refresh_optouts()

    # -- booking ------------------------------------------------------------------------
    def outcome(self, done: CallDone) -> Outcome:
        c, out = done.claim, done.out
        at = ms(c.start_at)
        answer, end = attempt_times(at, out)
        next_at, final = self.rules.after(out.result, c.attempt_no, end)
        return Outcome(
            c.recipient_id, c.attempt_no, out.result, out.q850_cause,
            answer / 1000 if out.answered else None, end / 1000, out.answered_by, out.talk_s,
            next_at, final,
        )  # fmt: skip

    def book(self, conn: psycopg.Connection, worker: str, done: Sequence[CallDone]) -> set[int]:
        """Book finished calls with their responses, runtime DNC numbers, texts and webhook
        events, in one transaction; returns the recipients booked (a reaped one is left out)."""
        from .dialing import finish
        from .texts import UPSERT_TEXTS

        if not done:
            return set()
        responses = [
            (d.claim.recipient_id, d.claim.attempt_no, q, a)
            for d in done
            for q, a in d.out.responses
        ]
        dnc = sorted({e for d in done for e in map(self._normalize, d.out.dnc) if e is not None})
        with fenced(worker), conn.transaction():
            booked = finish(conn, worker, [self.outcome(d) for d in done])
            kept = [d for d in done if d.claim.recipient_id in booked]
            with conn.cursor() as cur:
                answered = [r for r in responses if r[0] in booked]
                if answered:
                    cur.executemany(
                        "INSERT INTO responses (recipient_id, attempt_no, question, response)"
                        " VALUES (%s, %s, %s, %s)",
                        answered,
                    )
                    counters.count_added(cur, "responses", [(self.id, r[0]) for r in answered])
                if dnc:
                    cur.executemany(
                        "INSERT INTO dnc (campaign_id, number, source) VALUES (%s, %s, %s)"
                        " ON CONFLICT DO NOTHING",
                        [(self.id, e, self.dnc_source) for e in dnc],
                    )
                    # their recipients nobody holds end DNC now, as the scheduler books them
                    # when their turn comes: no slot of the dial gate is spent on them
                    counters.update_recipients(
                        cur,
                        "final_result = 'DNC'",
                        "r.campaign_id = %(c)s AND r.e164 = ANY (%(n)s)"
                        " AND r.final_result IS NULL AND r.claimed_by IS NULL",
                        {"c": self.id, "n": dnc},
                    )
                texts = [text_row(d) for d in kept if d.out.text is not None]
                if texts:
                    cur.executemany(UPSERT_TEXTS, texts)
                if self.events is not None and kept:
                    rows = self.call_events(kept)
                    cur.executemany(
                        "INSERT INTO outbox (event_id, url, body, created_at, next_attempt_at)"
                        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                        [(e, u, b, t, t) for e, u, b, t in rows],
                    )
        self.dnc.update(dnc)
        return booked

    def call_events(self, done: Sequence[CallDone]) -> list[OutboxRow]:
        from ..telephony.port import voice_id_for

        assert self.events is not None
        rows: list[OutboxRow] = []
        now = time.time()
        for d in done:
            c = d.claim
            voice_id = voice_id_for(self.row.broadcast_id, c.recipient_id, c.attempt_no)
            out = d.out
            if out.text is not None:
                rows += self.events.text_events(voice_id, c.e164 or "", ms(c.start_at), out, now)
                continue
            if self.campaign.sounds is not None and out.prompts:  # as the SQLite runners
                from ..sounds_campaign import prompt_refs

                ref = json.loads(c.attributes).get("prompt_ref") or None
                out.prompts = prompt_refs(out.prompts, ref)
            rows += self.events.call_events(voice_id, c.e164 or "", ms(c.start_at), out, now)
        return rows

    def decide_lost(self, lost: LostAttempt, now: float) -> Booking:
        """The retry policy for an attempt in flight on a lost worker (booked
        ``INTERNAL_ERROR`` at ``now``): the scheduler's rule, never a blind redial."""
        next_at, final = self.rules.after("INTERNAL_ERROR", lost.attempt_no, ms(now))
        return Booking(next_at, final)

    # -- waking and finishing -----------------------------------------------------------
    def next_due(self, conn: psycopg.Connection, now: float) -> float | None:
        """The first instant a recipient nobody holds may be called (its due time inside its
        zone's window), or ``None``."""
        zones = list(self.windows)
        best: float | None = None
        for z, due in conn.execute(
            "SELECT z, (SELECT min(next_at) FROM recipients WHERE campaign_id = %s"
            " AND zone_id = z AND final_result IS NULL AND claimed_by IS NULL)"
            " FROM unnest(%s::int[]) z",
            (self.id, zones),
        ):
            if due is None:
                continue
            opens = self.windows[z].next_open(max(float(due), now))
            if opens is not None and (best is None or opens < best):
                best = opens
        return best

    def next_claim(self, conn: psycopg.Connection, now: float) -> float | None:
        """When the dial gate would first hand a slot to a due recipient (``None``: not before
        a line is given back, or nobody is due)."""
        due = self.next_due(conn, now)
        if due is None:
            return None
        row = conn.execute(
            "SELECT next_start_ms, lines_free_from_ms, active < max_active FROM dial_gates"
            " WHERE campaign_id = %s",
            (self.id,),
        ).fetchone()
        if row is None or not row[2]:
            return None
        return max(due, float(row[0]) / 1000, float(row[1]) / 1000)

    def try_finish(self, conn: psycopg.Connection, now: float) -> bool | None:
        """Finish the campaign if nobody can be called any more and no call is in flight:
        remaining recipients get their final result, the campaign event is queued. Exactly one
        worker does it (the campaign row's state changes once). ``None``: not over yet;
        ``True``: finished by this call; ``False``: already finished by another worker."""
        dead = self.dead_zones(now)
        row = conn.execute(
            "SELECT state, EXISTS (SELECT 1 FROM recipients WHERE campaign_id = %(c)s"
            "  AND final_result IS NULL AND (claimed_by IS NOT NULL"
            "  OR NOT (zone_id = ANY (%(dead)s))))"
            " FROM campaigns WHERE id = %(c)s",
            {"c": self.id, "dead": dead},
        ).fetchone()
        if row is None or row[0] == "finished":
            return False
        if row[1]:
            return None
        from .store import PgStore

        with conn.transaction():
            won = conn.execute(
                "UPDATE campaigns SET state = 'finished' WHERE id = %s AND state = 'running'"
                " RETURNING id",
                (self.id,),
            ).fetchone()
            if won is None:
                return False
            store = PgStore.on(conn)
            store.finish_remaining(self.id)
            last = conn.execute(
                "SELECT max(a.ended_at) FROM attempts a JOIN recipients r"
                " ON r.id = a.recipient_id WHERE r.campaign_id = %s",
                (self.id,),
            ).fetchone()
            end = now
            if last and last[0] is not None:
                # virtual time ends with the last call, as the one-process run's (the shared
                # clock may have moved a tick past it); real time when the last worker saw it
                virtual = self.row.dispatch.get("clock", "virtual") == "virtual"
                end = float(last[0]) if virtual else max(now, float(last[0]))
            if self.events is not None:
                blacklisted = store.recipient_numbers(self.id, "call_blacklisted", 10_000)
                not_allowed = store.recipient_numbers(self.id, "country_not_allowed", 10_000)
                store.add_many(
                    [
                        self.events.complete(
                            ms(end),
                            store.call_summaries(self.id),
                            blacklisted,
                            not_allowed,
                            time.time(),
                        )
                    ]
                )
            conn.execute(
                "UPDATE campaigns SET finished_at = %s, clock = %s WHERE id = %s",
                (end, end, self.id),
            )
            # wake every worker waiting on the shared clock: the campaign is over
            conn.execute(
                "UPDATE clocks SET generation = generation + 1 WHERE name = %s",
                (self.clock_name,),
            )
            conn.execute("SELECT pg_notify('dp_clock', %s)", (self.clock_name,))
        return True


def text_row(done: CallDone) -> TextRow:
    """The row of a text attempt (its message, segments and delivery so far)."""
    t = done.out.text
    assert t is not None
    ids = json.dumps(list(t.message_ids))
    c = done.claim
    return TextRow(c.recipient_id, c.attempt_no, t.message, t.encoding, t.segments, ids,
                   t.delivery, t.delivered_segments)  # fmt: skip


def load_job(conn: psycopg.Connection, row: CampaignRow) -> CampaignJob:
    """The job of a stored campaign, built from its definition in the database
    (:mod:`.sources`); a campaign loaded by an older release (no stored source) has its file
    read again, which this machine must then have at the path it was loaded from."""
    from pathlib import Path

    from .sources import stored_campaign

    # the stamp first: a change committed while the job is read then leaves the job older
    # than the stamp, so the next look loads it again (read last, a job built from the old
    # source could carry the new stamp and keep the old dialplan for good)
    stamp = changed_at(conn, row.id)
    campaign = stored_campaign(conn, row)
    if campaign is None:
        path = Path(str(row.config.get("path", "")))
        if not path.is_file():
            raise CampaignError(
                f"campaign {row.name!r} was loaded from {path}, which this machine does not"
                " have; workers need the campaign's files at the same paths"
            )
        campaign = load_campaign(path)
    zones = [
        (int(i), str(k))
        for i, k in conn.execute(
            "SELECT z.id, z.key FROM zones z WHERE EXISTS (SELECT 1 FROM recipients r"
            " WHERE r.campaign_id = %s AND r.zone_id = z.id) ORDER BY z.id",
            (row.id,),
        )
    ]
    job = CampaignJob(row, campaign, zones)
    job.changed_at = stamp
    return job


def state_of(conn: psycopg.Connection, campaign_id: int) -> str | None:
    """The campaign's state (``running``, ``paused``, ``finished``, …); ``None``: no such."""
    row = conn.execute("SELECT state FROM campaigns WHERE id = %s", (campaign_id,)).fetchone()
    return None if row is None else str(row[0])


def changed_at(conn: psycopg.Connection, campaign_id: int) -> float | None:
    """When the campaign's settings or dialplan last changed (their latest fingerprint; added
    recipients do not count): a job older than that is loaded again."""
    row = conn.execute(
        "SELECT max(recorded_at) FROM campaign_inputs WHERE campaign_id = %s"
        " AND kind <> 'recipients'",
        (campaign_id,),
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])
