"""The plain data behind the HTML report (``report.render_report`` turns it into HTML)."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..store.sqlite import Store
from ..webhooks.events import iso
from .report import LOCAL_COLUMN, UTC_COLUMN
from .stats import campaign_stats, find_campaign
from .text_stats import is_text

#: recipients listed in the report's results table (paginated); beyond it, the CSV export
ROWS_LIMIT = 2000
#: columns of the calls-over-time chart beyond which empty buckets are not filled in
MAX_BUCKETS = 400


def report_data(store: Store, name: str, rows_limit: int = ROWS_LIMIT) -> dict[str, Any]:
    """Stats, results breakdown, answers per question, calls over time, the results table
    (the first ``rows_limit`` recipients) and the call flow (plain dicts/lists)."""
    row = find_campaign(store, name)
    stats = campaign_stats(store, name)
    finals = store.counts_by(row.id, "final_result")
    results = sorted(
        ((k or "PENDING", v) for k, v in finals.items()), key=lambda kv: (-kv[1], kv[0])
    )
    answers: dict[str, dict[str, int]] = {}
    for question, response, n in store.answer_counts(row.id):
        answers.setdefault(question, {})[response] = n
    a = store.attempt_stats(row.id)
    bucket = _bucket_size((a["last"] or 0) - (a["first"] or 0))
    over_time = [
        {"start": iso(round(t * 1000)), "calls": sum(counts.values()), "counts": counts}
        for t, counts in _contiguous(store.calls_over_time(row.id, bucket), bucket)
    ]
    columns, rows = _rows(store, row.id, row.dispatch.get("columns", []), rows_limit)
    if not is_text(row):
        for r in rows:
            del r["_id"]
    if is_text(row):  # a text campaign: the segments and delivery of each recipient's text
        columns, rows = _text_rows(store, columns, rows)
    data: dict[str, Any] = {
        "name": name,
        "broadcast_id": row.broadcast_id,
        "state": row.state,
        "started_at": iso(round(row.started_at * 1000)) if row.started_at else None,
        "finished_at": iso(round(row.finished_at * 1000)) if row.finished_at else None,
        "stats": stats,
        "results": [{"result": k, "count": v} for k, v in results],
        "answers": [
            {"question": q, "responses": [{"response": r, "count": n} for r, n in rs.items()]}
            for q, rs in answers.items()
        ],
        "reached": stats.get("liveCount", stats.get("deliveredCount", 0)),
        "respondents": store.respondents(row.id),
        "calls_over_time": over_time,
        "bucket_seconds": bucket,
        "rows": rows,
        "row_columns": columns,
        "rows_total": stats["totalCount"],
        "export_command": (
            f"dialplan broadcast export {shlex.quote(name)} --db {shlex.quote(str(store.path))}"
            " --format csv -o results.csv"
        ),
    }
    dialplan = row.config.get("dialplan")
    if dialplan:
        from .flow import flow_figure

        data["flow"] = flow_figure(Path(dialplan))
    return data


def _bucket_size(span: float) -> float:
    """Seconds per column of the calls-over-time chart for a campaign that called for ``span``."""
    for longer_than, size in ((4 * 86400, 86400.0), (6 * 3600, 3600.0), (3600, 600.0)):
        if span > longer_than:
            return size
    return 60.0


def _contiguous(
    buckets: list[tuple[float, dict[str, int]]], size: float
) -> list[tuple[float, dict[str, int]]]:
    """Every bucket from the first to the last, empty ones included, so that the time axis of
    the chart is linear (a quiet night shows as a gap, not as nothing)."""
    if not buckets:
        return []
    by_index = {round(t / size): counts for t, counts in buckets}
    first, last = min(by_index), max(by_index)
    if last - first >= MAX_BUCKETS:
        return buckets
    return [(i * size, by_index.get(i, {})) for i in range(first, last + 1)]


def _rows(
    store: Store, campaign_id: int, csv_columns: Iterable[str], limit: int
) -> tuple[list[str], list[dict[str, Any]]]:
    """The first ``limit`` recipients in input order: number, attributes, result, the last
    call in UTC and in the recipient's own zone, and the answers."""
    items: list[dict[str, Any]] = []
    for item in store.iter_export(campaign_id):
        if len(items) >= limit:
            break
        items.append(item)
    zones = store.zone_keys([item["id"] for item in items])
    questions: list[str] = []
    out = []
    for item in items:
        attempts = item["attempts"]
        last = attempts[-1] if attempts else {}
        started = last.get("started_at")
        answers = {}
        for r in item["responses"]:
            answers[r["question"]] = r["response"]
            if r["question"] not in questions:
                questions.append(r["question"])
        out.append(
            {
                "_id": item["id"],
                "phone_number": item["phone_number"],
                **item["attributes"],
                "final_result": item["final_result"] or "",
                "attempts": len(attempts),
                "answered_by": last.get("answered_by") or "",
                UTC_COLUMN: _utc(started),
                LOCAL_COLUMN: _local(started, zones.get(item["id"])),
                **answers,
            }
        )
    present = {k for item in items for k in item["attributes"]}
    attrs = [c for c in csv_columns if c in present and c != "phone_number"]
    attrs += sorted(present - set(attrs) - {"phone_number"})
    fixed = ["final_result", "attempts", "answered_by", UTC_COLUMN, LOCAL_COLUMN]
    columns = ["phone_number", *attrs, *fixed, *questions]
    return columns, out


def _text_rows(
    store: Store, columns: list[str], rows: list[dict[str, Any]]
) -> tuple[list[str], list[dict[str, Any]]]:
    """The text campaign's table: segments and delivery instead of the AMD verdict."""
    row_ids = [r.pop("_id") for r in rows]
    last: dict[int, tuple[Any, ...]] = {}
    for t in store.texts_of(row_ids):
        last[t[0]] = t
    for rid, r in zip(row_ids, rows, strict=True):
        text = last.get(rid)
        r.pop("answered_by", None)
        r["segments"] = text[4] if text else ""
        r["delivery"] = (text[5] or "") if text else ""
    columns = [c for c in columns if c != "answered_by"]
    at = columns.index("attempts") + 1
    return [*columns[:at], "segments", "delivery", *columns[at:]], rows


def _utc(t: float | None) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")


def _local(t: float | None, zone_key: str | None) -> str:
    """``09:05 EST`` (the date too when it differs from the UTC one), for each possible zone."""
    if t is None or not zone_key:
        return ""
    day = datetime.fromtimestamp(t, UTC).date()
    shown = []
    for name in zone_key.split("|"):
        try:
            local = datetime.fromtimestamp(t, ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue
        fmt = "%H:%M %Z" if local.date() == day else "%Y-%m-%d %H:%M %Z"
        shown.append(local.strftime(fmt).replace(" ", "\u00a0"))  # one zone's time never wraps
    return " / ".join(dict.fromkeys(shown))
