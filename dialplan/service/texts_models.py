"""CallFire v2 text objects as pydantic models (request bodies and the OpenAPI document), and
the JSON builders of ``Text`` — the names, types and enumerations of CallFire's Swagger
description (``TextBroadcast``, ``TextRecipient``, ``Text``, ``TextRecord``,
``TextBroadcastStatsDto``), plus the documented extensions."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .broadcasts import Broadcast, CallRow
from .broadcasts.callrows import RECORD_BASE
from .callfire_models import (
    Action,
    BatchRequest,
    BroadcastFields,
    Page,
    Recipient,
    _Out,
    ms,
)

#: CallFire's TextRecord.textResult / Text.finalTextResult enumeration
TEXT_RESULTS = (
    "SENT",
    "RECEIVED",
    "DNT",
    "TOO_BIG",
    "INTERNAL_ERROR",
    "CARRIER_ERROR",
    "CARRIER_TEMP_ERROR",
    "UNDIALED",
)
#: the recipient column a text recipient's own ``message`` goes to (the campaign's
#: ``message_column``)
MESSAGE_COLUMN = "message"
#: final results of a text campaign shown under another CallFire name (the account's DNC list
#: is a do-not-text list for texts)
_AS_TEXT_RESULT = {"DNC": "DNT"}


class TextRecipient(Recipient):
    message: str | None = Field(None, description="this recipient's text instead of the message")
    media: list[dict[str, Any]] | None = Field(None, description="refused: no MMS here")


class TextBroadcast(BroadcastFields):
    """CallFire's TextBroadcast; read-only fields are accepted and ignored. Extensions as for
    call broadcasts (docs/api.md)."""

    recipients: list[TextRecipient] | None = None
    message: str | None = None
    bigMessageStrategy: Literal["SEND_MULTIPLE", "DO_NOT_SEND", "TRIM"] | None = None
    media: list[dict[str, Any]] | None = Field(None, description="refused: no MMS here")
    # extensions
    callsPerSecond: float | None = Field(None, description="texts per second")


class TextBatchRequest(BatchRequest):
    recipients: list[TextRecipient] | None = None  # type: ignore[assignment]


class TextBroadcastPage(Page):
    items: list[TextBroadcast] = []


class TextRecord(_Out):
    id: int = 0
    finishTime: int = 0
    message: str = ""
    textResult: str = ""


class Text(Action):
    message: str = ""
    finalTextResult: str = ""
    records: list[TextRecord] = []


class TextPage(Page):
    items: list[Text] = []


class TextList(_Out):
    items: list[Text] = []


class TextBroadcastStatsDto(_Out):
    totalOutboundCount: int = 0
    remainingOutboundCount: int = 0
    billedAmount: float = 0.0
    sentCount: int = 0
    unsentCount: int = 0
    recievedCount: int = 0
    doNotTextCount: int = 0
    tooBigCount: int = 0
    errorCount: int = 0


def text_result(result: str | None) -> str | None:
    """A final result as CallFire's text result (``None``: shown in ``state`` only)."""
    shown = _AS_TEXT_RESULT.get(result or "", result)
    return shown if shown in TEXT_RESULTS else None


def text_json(
    b: Broadcast,
    row: CallRow,
    batch_id: int | None,
    texts: dict[tuple[int, int], tuple[str, str, int, str | None]],
) -> dict[str, Any]:
    """CallFire's Text: one per recipient, its attempts as ``records`` (``texts``: the message,
    encoding, segments and delivery of each attempt, from :meth:`Broadcasts.text_records`)."""
    records = []
    for a in row.records:
        sent = texts.get((row.recipient_id, a.attempt_no))
        record: dict[str, Any] = {
            "id": row.recipient_id * RECORD_BASE + a.attempt_no,
            "finishTime": ms(a.ended_at),
        }
        if sent is not None:  # extensions beside CallFire's message
            record["message"] = sent[0]
            record["encoding"], record["segments"] = sent[1], sent[2]
            if sent[3]:
                record["delivery"] = sent[3]
        result = text_result(a.result)
        if result is not None:
            record["textResult"] = result
        records.append(record)
    attributes = {k: str(v) for k, v in row.attributes.items()}
    out: dict[str, Any] = {
        "id": row.recipient_id,
        "fromNumber": b.settings.get("fromNumber"),
        "toNumber": row.e164 or row.phone,
        "attributes": attributes,
        "state": row.state,
        "campaignId": b.id,
        "batchId": batch_id,
        "inbound": False,
        # the message sent last, or before sending the recipient's own message
        "message": records[-1]["message"]
        if records and "message" in records[-1]
        else row.attributes.get(MESSAGE_COLUMN),
        "records": records,
    }
    result = text_result(row.final_result)
    if result is not None:
        out["finalTextResult"] = result
    if records:
        out["modified"] = records[-1]["finishTime"]
    return {k: v for k, v in out.items() if v is not None}
