"""The plain values the broadcast layer takes and gives (settings, inputs, broadcasts, batches,
progress snapshots)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...broadcast.progress import Progress
from . import fields
from .runs import Clock, Driver

if TYPE_CHECKING:
    from ...sounds.library import SoundLibrary

#: statuses of CallFire's CallBroadcast that this service uses
STATUSES = ("SETUP", "RUNNING", "STOPPED", "FINISHED", "ARCHIVED")
#: CallFire's CallBroadcastStats integer fields (``billedAmount`` is the one number)
STATS_FIELDS = (
    "totalOutboundCount",
    "remainingOutboundCount",
    "callsAttempted",
    "callsPlaced",
    "callsDuration",
    "billedDuration",
    "responseRatePercent",
    "callsRemaining",
    "callsAwaitingRedial",
    "callsLiveAnswer",
    "totalCount",
    "answeringMachineCount",
    "busyCount",
    "dialedCount",
    "doNotCallCount",
    "errorCount",
    "liveCount",
    "miscCount",
    "noAnswerCount",
    "transferCount",
)


#: CallFire's TextBroadcastStatsDto integer fields (its spelling ``recievedCount``), then the
#: extensions of ``broadcast stats`` for texts
TEXT_STATS_FIELDS = (
    "totalOutboundCount",
    "remainingOutboundCount",
    "sentCount",
    "unsentCount",
    "recievedCount",
    "doNotTextCount",
    "tooBigCount",
    "errorCount",
    "totalCount",
    "deliveredCount",
    "undeliveredCount",
    "awaitingReceiptCount",
    "segmentsCount",
    "deliveredSegmentsCount",
    "duplicateCount",
)


def kind_of(channel: str | None) -> str:
    """What one recipient's item of a ``channel`` is called in messages: ``call`` (voice),
    ``text`` (sms), or ``call or text`` (any channel)."""
    return {"sms": "text", "voice": "call"}.get(channel or "", "call or text")


@dataclass(frozen=True, slots=True)
class BroadcastSettings:
    """Where broadcasts live and how they run."""

    home: Path
    clock: Clock = "virtual"
    driver: Driver = "sim"
    #: the ``[sip]`` table every broadcast dials through with ``driver="sip"``
    sip: Mapping[str, Any] = field(default_factory=dict)
    #: the ``[smpp]`` table (docs/sms.md) every text broadcast sends through, on the real
    #: clock; ``None``: text broadcasts use the simulated messaging driver
    smpp: Mapping[str, Any] | None = None
    allow_private: bool = False
    #: seconds a finished run keeps delivering webhook events
    max_wait: float = 30.0
    #: real clock: seconds the calls in flight of a stopped run may go on before the driver
    #: hangs them up (see :mod:`.runs`)
    drain_s: float = 30.0
    #: opens an account's sound library (``…SoundId`` of ``sounds`` name its sounds) to read;
    #: ``None``: none
    sound_library: Callable[[str], SoundLibrary | None] | None = None
    #: the campaign store: ``None`` for ``<home>/campaigns.sqlite`` (runs in this process), or
    #: a ``postgresql://`` address (``broadcast worker`` processes call; see :mod:`.pgruns`)
    store_dsn: str | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """One person to call: a number and string attributes (``sim_result``/``sim_inputs``
    script the simulated driver, as CSV columns of those names do)."""

    phone_number: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BroadcastInput:
    """What a broadcast is made of: API fields (CallFire names and extensions, see
    :mod:`.fields`), a dialplan (XML, or a stored flow) and recipients."""

    settings: Mapping[str, Any] = field(default_factory=dict)
    dialplan_xml: str | None = None
    flow_id: str | None = None
    flow_version: int | None = None
    recipients: Sequence[Recipient] = ()
    #: ``"voice"`` (a call broadcast) or ``"sms"`` (a text broadcast: ``settings["message"]``)
    channel: str = "voice"


@dataclass(frozen=True, slots=True)
class Broadcast:
    """A broadcast as stored: ``settings`` are API fields (CallFire names)."""

    id: int
    account: str
    name: str
    status: str
    settings: dict[str, Any]
    kept: dict[str, Any]
    created: float
    modified: float
    error: str | None = None
    campaign_id: int | None = None
    #: ``"voice"`` or ``"sms"`` (the campaign file's ``channel``)
    channel: str = "voice"

    @property
    def kind(self) -> str:
        """``call`` or ``text`` (for messages)."""
        return kind_of(self.channel)

    def to_api(self) -> dict[str, Any]:
        """CallFire's CallBroadcast object (plus extensions); no ``null`` values."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "lastModified": round(self.modified * 1000),
            **self.settings,
        }
        for key in fields.LEGACY_KEPT:
            if out.get(key) is None and self.kept.get(key) is not None:
                out[key] = self.kept[key]
        phone_types = self.kept.get("retryPhoneTypes")
        if phone_types is not None:
            out.setdefault("retryConfig", {})["retryPhoneTypes"] = phone_types
        if self.kept.get("flowId"):
            out["flowId"] = self.kept["flowId"]
            out["flowVersion"] = self.kept.get("flowVersion")
        out["created"] = round(self.created * 1000)
        if self.error:
            out["error"] = self.error
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True, slots=True)
class Batch:
    """Recipients added together (CallFire's Batch): rows ``first_row``…``last_row``."""

    id: int
    broadcast_id: int
    name: str
    first_row: int
    last_row: int
    size: int
    created: float


@dataclass(frozen=True, slots=True)
class AddResult:
    """What an addition did: the batch, and how many rows were skipped as already present."""

    batch: Batch | None
    added: int
    skipped: int


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    """Where a broadcast stands, for a progress bar or a server-sent event.

    ``done`` of ``total`` recipients have a final result; ``results`` counts them by result;
    ``attempts`` are the calls placed by the current run; ``clock`` is the campaign clock
    (epoch seconds; virtual when ``virtual``); ``version`` grows with every change (pass it to
    :meth:`Broadcasts.wait_progress`)."""

    broadcast_id: int
    status: str
    phase: str
    done: int
    total: int
    results: dict[str, int]
    attempts: int
    clock: float | None
    virtual: bool
    waiting_until: float | None
    waiting_reason: str | None
    version: int

    def to_json(self) -> dict[str, Any]:
        return {
            "broadcastId": self.broadcast_id,
            "status": self.status,
            "phase": self.phase,
            "done": self.done,
            "total": self.total,
            "results": self.results,
            "attempts": self.attempts,
            "clock": self.clock,
            "virtual": self.virtual,
            "waitingUntil": self.waiting_until,
            "waitingReason": self.waiting_reason,
            "version": self.version,
        }


def batch_of_row(row: Any) -> Batch:
    return Batch(
        int(row["id"]),
        int(row["broadcast_id"]),
        str(row["name"]),
        int(row["first_row"]),
        int(row["last_row"]),
        int(row["size"]),
        float(row["created_at"]),
    )


def snapshot_of(b: Broadcast, p: Progress, version: int) -> ProgressSnapshot:
    return ProgressSnapshot(
        b.id,
        b.status,
        p.phase,
        p.done,
        p.total,
        dict(p.results),
        p.attempts,
        p.clock,
        p.virtual,
        p.waiting.until if p.waiting else None,
        p.waiting.reason if p.waiting else None,
        version,
    )
