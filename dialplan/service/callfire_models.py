"""CallFire v2 objects as pydantic models (request bodies and the OpenAPI document), and the
JSON builders of the responses — the field names, types and enumerations of CallFire's own
Swagger description (``callfire-v2-swagger.json``), plus the documented extensions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .broadcasts import Batch, Broadcast, CallRow
from .broadcasts.callrows import RECORD_BASE

AnsweringMachineConfig = Literal["AM_ONLY", "AM_AND_LIVE", "LIVE_WITH_AMD", "LIVE_IMMEDIATE"]
CallStatus = Literal["TEST", "SETUP", "START_PENDING", "RUNNING", "STOPPED", "FINISHED", "ARCHIVED"]
#: CallFire's finalCallResult / CallRecord.result enumeration
CALL_RESULTS = (
    "LA",
    "AM",
    "BUSY",
    "DNC",
    "XFER",
    "NO_ANS",
    "XFER_LEG",
    "INTERNAL_ERROR",
    "CARRIER_ERROR",
    "CARRIER_TEMP_ERROR",
    "UNDIALED",
    "SD",
    "POSTPONED",
    "ABANDONED",
    "SKIPPED",
)
Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LocalTimeRestriction(_Model):
    enabled: bool | None = None
    beginHour: Annotated[int, Field(ge=0, le=24)] | None = None
    beginMinute: Annotated[int, Field(ge=0, le=59)] | None = None
    endHour: Annotated[int, Field(ge=0, le=24)] | None = None
    endMinute: Annotated[int, Field(ge=0, le=59)] | None = None


class LocalDate(_Model):
    year: Annotated[int, Field(ge=1, le=9999)]
    month: Annotated[int, Field(ge=1, le=12)]
    day: Annotated[int, Field(ge=1, le=31)]


class LocalTime(_Model):
    hour: Annotated[int, Field(ge=0, le=24)] = 0
    minute: Annotated[int, Field(ge=0, le=59)] = 0
    second: Annotated[int, Field(ge=0, le=59)] = 0


class Schedule(_Model):
    id: int | None = None
    campaignId: int | None = None
    startDate: LocalDate | None = None
    startTimeOfDay: LocalTime | None = None
    stopDate: LocalDate | None = None
    stopTimeOfDay: LocalTime | None = None
    timeZone: str | None = None
    daysOfWeek: list[str] | None = None


class RetryConfig(_Model):
    maxAttempts: Int32 | None = None
    minutesBetweenAttempts: Int32 | None = None
    retryResults: list[str] | None = None
    retryPhoneTypes: list[str] | None = None


class Recipient(_Model):
    phoneNumber: str | None = None
    contactId: int | None = None
    attributes: dict[str, str] | None = None


class Simulation(_Model):
    """Extension: the campaign file's ``[simulation]`` (seeded outcomes of the simulated driver)."""

    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None
    start: str | None = None
    weights: dict[str, float] | None = None
    inputs: dict[str, float] | None = None


class Webhook(_Model):
    """Extension: the campaign file's ``[webhook]`` (signed events per call and at the end)."""

    url: str
    secret: str | None = Field(None, description="required when set; never shown again")


Voice = Literal["MALE1", "FEMALE1", "FEMALE2", "SPANISH1", "FRENCHCANADIAN1"]
Digit = Annotated[str, Field(pattern=r"^[0-9*#]$")]
SoundId = Annotated[int, Field(ge=1, le=2**53)]


class CallBroadcastSounds(_Model):
    """CallFire's CallBroadcastSounds (the campaign's ``[sounds]``, docs/sounds.md); a
    ``…SoundId`` is a sound of the account's library (``/v2/campaigns/sounds``). Extensions:
    ``idleHangup`` and ``transferTimeout`` (seconds)."""

    liveSoundText: str | None = None
    liveSoundTextVoice: Voice | None = None
    liveSoundId: SoundId | None = None
    machineSoundText: str | None = None
    machineSoundTextVoice: Voice | None = None
    machineSoundId: SoundId | None = None
    transferSoundText: str | None = None
    transferSoundTextVoice: Voice | None = None
    transferSoundId: SoundId | None = None
    transferDigit: Digit | None = None
    transferNumber: Annotated[str, Field(max_length=64)] | None = None
    dncSoundText: str | None = None
    dncSoundTextVoice: Voice | None = None
    dncSoundId: SoundId | None = None
    dncDigit: Digit | None = None
    # extensions
    idleHangup: Annotated[float, Field(ge=0, le=300)] | None = None
    transferTimeout: Annotated[float, Field(ge=1, le=600)] | None = None


class BroadcastFields(_Model):
    """The fields CallFire's CallBroadcast and TextBroadcast share, then the extensions both
    have (see docs/api.md); read-only fields are accepted and ignored."""

    id: int | None = None
    name: str | None = None
    status: CallStatus | None = None
    lastModified: int | None = None
    fromNumber: str | None = None
    localTimeRestriction: LocalTimeRestriction | None = None
    schedules: list[Schedule] | None = None
    retryConfig: RetryConfig | None = None
    maxActive: Int32 | None = None
    labels: list[str] | None = None
    resumeNextDay: bool | None = None
    # extensions
    callsPerSecond: float | None = None
    allowedCountries: list[str] | None = None
    customData: dict[str, Any] | None = None
    defaultRegion: str | None = None
    defaultTimeZone: str | None = None
    scrubDuplicates: bool | None = None
    simulation: Simulation | None = None
    webhook: Webhook | None = None
    created: int | None = None
    error: str | None = None


class CallBroadcast(BroadcastFields):
    """CallFire's CallBroadcast; read-only fields are accepted and ignored. Extensions (not in
    CallFire): ``flowId``/``flowVersion``, ``callsPerSecond``, ``allowedCountries``,
    ``customData``, ``defaultRegion``, ``defaultTimeZone``, ``scrubDuplicates``, ``simulation``,
    ``webhook`` (see docs/api.md)."""

    recipients: list[Recipient] | None = None
    dialplanXml: str | None = None
    sounds: CallBroadcastSounds | None = Field(
        None, description="a voice broadcast (instead of dialplanXml): the campaign's [sounds]"
    )
    answeringMachineConfig: AnsweringMachineConfig | None = None
    maxActiveTransfers: Int32 | None = None
    # extensions
    flowId: str | None = None
    flowVersion: Annotated[int, Field(ge=1, le=2**31)] | None = None


class BatchRequest(_Model):
    name: str | None = None
    contactListId: int | None = None
    recipients: list[Recipient] | None = None
    scrubDuplicates: bool | None = False


class CallRecipient(Recipient):
    dialplanXml: str | None = None
    liveMessage: str | None = None
    liveMessageSoundId: int | None = None
    machineMessage: str | None = None
    machineMessageSoundId: int | None = None
    transferMessage: str | None = None
    transferMessageSoundId: int | None = None
    transferDigit: str | None = None
    transferNumber: str | None = None
    voice: Voice | None = None


# -- responses (documentation models; the bodies are built by the functions below) -----------
class _Out(BaseModel):
    """A response object: every field may be left out by CallFire's ``fields`` selector."""

    model_config = ConfigDict(extra="allow")


class ResourceId(_Out):
    id: int = 0


class Page(_Out):
    """A page of CallFire's (``items`` in each subclass)."""

    limit: int = 0
    offset: int = 0
    totalCount: int = 0


class CallBroadcastPage(Page):
    items: list[CallBroadcast] = []


class QuestionResponse(_Out):
    question: str = ""
    response: str = ""


class CallRecord(_Out):
    id: int = 0
    finishTime: int | None = None
    result: str | None = None
    questionResponses: list[QuestionResponse] = []


class Action(_Out):
    """What CallFire's Call and Text share (one recipient of a broadcast)."""

    id: int = 0
    fromNumber: str | None = None
    toNumber: str | None = None
    attributes: dict[str, str] = {}
    state: str = ""
    campaignId: int | None = None
    batchId: int | None = None
    inbound: bool = False


class Call(Action):
    finalCallResult: str | None = None
    records: list[CallRecord] = []


class CallPage(Page):
    items: list[Call] = []


class CallList(_Out):
    items: list[Call] = []


class BatchOut(_Out):
    id: int = 0
    name: str = ""
    status: str = ""
    broadcastId: int = 0
    created: int = 0
    size: int = 0
    remaining: int = 0
    enabled: bool = False


class BatchPage(Page):
    items: list[BatchOut] = []


class CallBroadcastStats(_Out):
    totalOutboundCount: int = 0
    remainingOutboundCount: int = 0
    billedAmount: float = 0.0
    callsAttempted: int = 0
    callsPlaced: int = 0
    callsDuration: int = 0
    billedDuration: int = 0
    responseRatePercent: int = 0
    callsRemaining: int = 0
    callsAwaitingRedial: int = 0
    callsLiveAnswer: int = 0
    totalCount: int = 0
    answeringMachineCount: int = 0
    busyCount: int = 0
    dialedCount: int = 0
    doNotCallCount: int = 0
    errorCount: int = 0
    liveCount: int = 0
    miscCount: int = 0
    noAnswerCount: int = 0
    transferCount: int = 0


def ms(t: float | None) -> int | None:
    return None if t is None else round(t * 1000)


def call_json(b: Broadcast, row: CallRow, batch_id: int | None) -> dict[str, Any]:
    """CallFire's Call: one per recipient, its attempts as ``records`` (each with its
    ``questionResponses``); ``finalCallResult`` only when it is one of CallFire's results (an
    invalid or duplicate number shows in ``state`` instead)."""
    records = []
    for a in row.records:
        record: dict[str, Any] = {
            "id": row.recipient_id * RECORD_BASE + a.attempt_no,
            "finishTime": ms(a.ended_at),
            "questionResponses": [{"question": q, "response": r} for q, r in a.responses],
            # extensions
            "startTime": ms(a.started_at),
            "duration": a.duration,
        }
        if a.result in CALL_RESULTS:
            record["result"] = a.result
        if a.answered_by:
            record["answeredBy"] = a.answered_by
        records.append(record)
    out: dict[str, Any] = {
        "id": row.recipient_id,
        "fromNumber": b.settings.get("fromNumber"),
        "toNumber": row.e164 or row.phone,
        "attributes": {k: str(v) for k, v in row.attributes.items()},
        "state": row.state,
        "campaignId": b.id,
        "batchId": batch_id,
        "inbound": False,
        "agentCall": False,
        "records": records,
    }
    if row.final_result in CALL_RESULTS:
        out["finalCallResult"] = row.final_result
    if records:
        out["modified"] = records[-1]["finishTime"]
    return {k: v for k, v in out.items() if v is not None}


def batch_json(batch: Batch, remaining: int | None = None) -> dict[str, Any]:
    out = {
        "id": batch.id,
        "name": batch.name,
        "status": "ACTIVE",
        "broadcastId": batch.broadcast_id,
        "created": ms(batch.created),
        "size": batch.size,
        "enabled": True,
    }
    if remaining is not None:
        out["remaining"] = remaining
    return out
