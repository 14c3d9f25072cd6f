"""The plain data behind the HTML report (``report.render_report`` turns it into HTML)."""

from __future__ import annotations

from typing import Any

from .events import iso
from .stats import campaign_stats, find_campaign
from .store import Store


def report_data(store: Store, name: str) -> dict[str, Any]:
    """Stats, results breakdown, answers per question and calls over time (plain dicts/lists)."""
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
    span = (a["last"] or 0) - (a["first"] or 0)
    bucket = 3600.0 if span > 6 * 3600 else 600.0 if span > 3600 else 60.0
    over_time = [
        {"start": iso(round(t * 1000)), "calls": n}
        for t, n in store.calls_over_time(row.id, bucket)
    ]
    return {
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
        "calls_over_time": over_time,
        "bucket_seconds": bucket,
    }
