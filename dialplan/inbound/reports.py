"""Statistics, exports and the HTML report of stored inbound calls (pure over records)."""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..errors import UsageError
from .store import CallRecord


def parse_when(text: str, option: str, end: bool = False) -> float:
    """``YYYY-MM-DD`` (``end``: the whole day is included) or an ISO 8601 time → epoch seconds
    (UTC when no offset is given)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return (moment + timedelta(days=1 if end else 0)).timestamp()
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not a date (YYYY-MM-DD) or ISO time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def stats(records: Iterable[CallRecord]) -> dict[str, Any]:
    """Totals of a set of calls: per result, answered, durations, transfers, answers given."""
    calls = list(records)
    answered = [r for r in calls if r.answered_at is not None]
    results = Counter(r.result for r in calls)
    talk = sum(r.duration_s for r in answered)
    questions: Counter[str] = Counter()
    for r in calls:
        questions.update(q["question"] for q in r.responses)
    return {
        "calls": len(calls),
        "answered": len(answered),
        "finished": sum(1 for r in calls if r.ended_at is not None),
        "results": dict(sorted(results.items())),
        "out_of_hours": sum(1 for r in calls if r.out_of_hours),
        "transferred": sum(1 for r in calls if r.result == "XFER"),
        "recordings": sum(len(r.recordings) for r in calls),
        "total_duration_s": round(talk, 3),
        "average_duration_s": round(talk / len(answered), 3) if answered else 0.0,
        "answers": dict(sorted(questions.items())),
        "first_call": iso(min((r.started_at for r in calls), default=None)),
        "last_call": iso(max((r.started_at for r in calls), default=None)),
    }


def stats_text(number: str | None, data: dict[str, Any]) -> str:
    head = f"inbound calls to {number}" if number else "inbound calls (all numbers)"
    lines = [
        head,
        f"  calls: {data['calls']}   answered: {data['answered']}   finished: {data['finished']}",
        f"  results: {', '.join(f'{k} {v}' for k, v in data['results'].items()) or '-'}",
        f"  talk time: {data['total_duration_s']:.1f} s "
        f"(average {data['average_duration_s']:.1f} s)",
        f"  transferred: {data['transferred']}   out of hours: {data['out_of_hours']}   "
        f"recordings: {data['recordings']}",
    ]
    if data["answers"]:
        lines.append("  answers: " + ", ".join(f"{q} {n}" for q, n in data["answers"].items()))
    return "\n".join(lines) + "\n"


_FIXED = (
    "call_id",
    "number",
    "caller",
    "caller_name",
    "started_at",
    "answered_at",
    "ended_at",
    "duration_s",
    "result",
    "ended_by",
    "outcome",
    "out_of_hours",
    "recordings",
)


def export_csv(records: Sequence[CallRecord]) -> str:
    """One row per call, one column per question answered (``stash`` varnames, first-seen
    order). Cells that a spreadsheet would run as a formula are prefixed with ``'``."""
    questions: list[str] = []
    for r in records:
        for q in r.responses:
            if q["question"] not in questions:
                questions.append(q["question"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*_FIXED, *questions])
    for r in records:
        answers = {q["question"]: q["response"] for q in r.responses}
        row = [
            r.call_id,
            r.number,
            r.caller,
            r.caller_name,
            iso(r.started_at),
            iso(r.answered_at),
            iso(r.ended_at),
            f"{r.duration_s:.3f}",
            r.result,
            r.ended_by or "",
            r.outcome or "",
            "yes" if r.out_of_hours else "no",
            " ".join(r.recordings),
            *(answers.get(q, "") for q in questions),
        ]
        writer.writerow([_cell(str(v)) for v in row])
    return out.getvalue()


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def report_html(title: str, records: Sequence[CallRecord]) -> str:
    """A self-contained HTML page: the totals, then every call."""
    data = stats(records)
    e = html.escape
    summary = "".join(
        f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>"
        for k, v in data.items()
        if not isinstance(v, dict)
    )
    results = "".join(f"<li>{e(k)}: {v}</li>" for k, v in data["results"].items())
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{e(str(v))}</td>"
            for v in (
                iso(r.started_at),
                r.number,
                r.caller,
                r.result,
                f"{r.duration_s:.1f}",
                r.ended_by or "",
                ", ".join(f"{q['question']}={q['response']}" for q in r.responses),
                " ".join(r.recordings),
            )
        )
        + "</tr>"
        for r in records
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{e(title)}</title><style>body{{font-family:sans-serif}}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}</style>"
        f"</head><body><h1>{e(title)}</h1><table>{summary}</table><ul>{results}</ul>"
        "<h2>Calls</h2><table><tr><th>started</th><th>number</th><th>caller</th>"
        "<th>result</th><th>seconds</th><th>ended by</th><th>answers</th><th>recordings</th>"
        f"</tr>{rows}</table></body></html>\n"
    )
