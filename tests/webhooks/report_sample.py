"""A realistic campaign report input, shared by the report tests (numbers are internally consistent)."""

from __future__ import annotations

from datetime import UTC, datetime

from dialplan.broadcast.reporting.report import ReportData

RESULTS = {
    "LA": 412,
    "AM": 158,
    "XFER": 37,
    "BUSY": 29,
    "NO_ANS": 96,
    "DNC": 12,
    "DUP": 4,
    "INVALID": 9,
    "CARRIER_ERROR": 6,
}

TIMELINE = [
    (f"2026-11-30T{h:02d}:{m:02d}:00Z", counts)
    for (h, m), counts in zip(
        [(9, 0), (9, 15), (9, 30), (9, 45), (10, 0), (10, 15), (10, 30), (10, 45)],
        [
            {"LA": 40, "AM": 18, "BUSY": 5, "NO_ANS": 14, "INVALID": 9, "DUP": 4},
            {"LA": 61, "AM": 22, "BUSY": 6, "NO_ANS": 15, "XFER": 5, "DNC": 12},
            {"LA": 70, "AM": 25, "BUSY": 4, "NO_ANS": 13, "XFER": 8, "CARRIER_ERROR": 2},
            {"LA": 66, "AM": 24, "BUSY": 5, "NO_ANS": 12, "XFER": 7},
            {"LA": 58, "AM": 21, "BUSY": 3, "NO_ANS": 14, "XFER": 6, "CARRIER_ERROR": 4},
            {"LA": 50, "AM": 20, "BUSY": 3, "NO_ANS": 12, "XFER": 5},
            {"LA": 39, "AM": 16, "BUSY": 2, "NO_ANS": 9, "XFER": 4},
            {"LA": 28, "AM": 12, "BUSY": 1, "NO_ANS": 7, "XFER": 2},
        ],
        strict=True,
    )
]

ANSWERS = {
    "order": {"Yes": 131, "No": 64},
    "volunteer": {"Yes": 58, "Maybe later": 21, "No": 97},
    "favorite_movie": {"Star Wars": 45, "The Godfather": 31, "Casablanca": 12, "Other": 20},
}

STATS = {
    "totalCount": 800,
    "callsAttempted": 763,
    "callsPlaced": 754,
    "liveCount": 412,
    "answeringMachineCount": 158,
    "transferCount": 37,
    "busyCount": 29,
    "noAnswerCount": 96,
    "doNotCallCount": 12,
    "errorCount": 15,
    "callsRemaining": 37,
    "callsAwaitingRedial": 21,
    "responseRatePercent": 75.6,
    "callsDuration": 28734,
}

ROWS = [
    {
        "toNumber": "12135551100",
        "state": "FINISHED",
        "result": "LA",
        "attempts": 1,
        "order": "Yes",
        "volunteer": "",
    },
    {
        "toNumber": "12135551101",
        "state": "FINISHED",
        "result": "AM",
        "attempts": 1,
        "order": "",
        "volunteer": "",
    },
    {
        "toNumber": "12135551102",
        "state": "FINISHED",
        "result": "BUSY",
        "attempts": 3,
        "order": "",
        "volunteer": "",
    },
    {
        "toNumber": "12135551103",
        "state": "FINISHED",
        "result": "LA",
        "attempts": 2,
        "order": "No",
        "volunteer": "Maybe later",
    },
]


def sample_data(**overrides: object) -> ReportData:
    values: dict[str, object] = {
        "campaign_name": "Charity weekend — November",
        "generated_at": datetime(2026, 11, 30, 11, 5, tzinfo=UTC),
        "stats": STATS,
        "results": RESULTS,
        "answers": ANSWERS,
        "timeline": TIMELINE,
        "rows": ROWS,
        "subtitle": "Broadcast 74a2c2c2 · dialplan charity.xml · 800 contacts",
    }
    values.update(overrides)
    return ReportData(**values)  # type: ignore[arg-type]
