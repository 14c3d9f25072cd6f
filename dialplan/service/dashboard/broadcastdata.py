"""What the broadcast pages show: progress as plain numbers and charts, answers from the campaign
store (read through its ``Reporting`` interface), and recipients read from a pasted CSV."""

from __future__ import annotations

import csv
import io
from html import escape
from typing import Any

from ...broadcast.reporting.report import RESULT_CODES
from ...broadcast.store.interfaces import Reporting
from ...broadcast.store.sqlite import Store
from ..broadcasts import Broadcast, Broadcasts, ProgressSnapshot, Recipient
from .views import bar_chart

#: largest pasted or uploaded recipients list, in rows (a demo, not a bulk import)
MAX_DEMO_ROWS = 10_000


class CsvProblem(Exception):
    """A recipients CSV that cannot be used (the message names the line)."""


def percent(snap: ProgressSnapshot) -> int:
    """0–100: finished broadcasts are 100, others their share of recipients with a result."""
    if snap.status == "FINISHED":
        return 100
    if snap.total <= 0:
        return 0
    return min(100, snap.done * 100 // snap.total)


def answer_counts(layer: Broadcasts, b: Broadcast) -> list[tuple[str, str, int]]:
    """(question, answer, count) of every answer given in the broadcast's calls so far."""
    if b.campaign_id is None or not layer.store_path.is_file():
        return []
    store = Store(layer.store_path, readonly=True)
    try:
        reporting: Reporting = store
        return reporting.answer_counts(b.campaign_id)
    finally:
        store.close()


def results_chart(snap: ProgressSnapshot) -> str:
    """The final results so far, in the report's order, labels and colours."""
    order = list(RESULT_CODES)
    codes = sorted(snap.results, key=lambda k: (order.index(k) if k in order else len(order), k))
    bars = [(RESULT_CODES[k].label if k in RESULT_CODES else k, snap.results[k]) for k in codes]
    colours = {RESULT_CODES[k].label: RESULT_CODES[k].color for k in codes if k in RESULT_CODES}
    return bar_chart("Results of the calls so far", bars, colours)


def answers_charts(answers: list[tuple[str, str, int]]) -> str:
    """One chart per question (answers in the order given), or an empty string."""
    questions: dict[str, list[tuple[str, int]]] = {}
    for question, answer, n in answers:
        questions.setdefault(question, []).append((answer, n))
    return "".join(
        f"<figure><figcaption>{escape(q)}</figcaption>{bar_chart(f'Answers to {q}', bars)}</figure>"
        for q, bars in questions.items()
    )


#: the CallBroadcastStats fields the broadcast page shows, with their captions
SHOWN_STATS: tuple[tuple[str, str], ...] = (
    ("totalCount", "recipients"),
    ("callsPlaced", "calls placed"),
    ("liveCount", "live answers"),
    ("answeringMachineCount", "machines"),
    ("transferCount", "transfers"),
    ("busyCount", "busy"),
    ("noAnswerCount", "no answer"),
    ("responseRatePercent", "% responded"),
)


def progress_event(layer: Broadcasts, b: Broadcast, snap: ProgressSnapshot) -> dict[str, Any]:
    """The data of one server-sent ``progress`` event (and of the first page render): keys
    name the page's ``data-field`` elements, ``stat_<field>`` the CallBroadcastStats shown."""
    final = snap.status != "RUNNING"
    stats = layer.stats(b.account, b.id)
    return {
        **{f"stat_{name}": stats[name] for name, _ in SHOWN_STATS},
        "state": snap.status,
        "phase": snap.phase,
        "percent": percent(snap),
        "done": snap.done,
        "total": snap.total,
        "attempts": snap.attempts,
        "version": snap.version,
        "final": final,
        "connection": "finished" if final else "live",
        "results_chart": results_chart(snap),
        "answers_chart": answers_charts(answer_counts(layer, b)) or "<p>No answers yet.</p>",
    }


def read_recipients(text: str) -> list[Recipient]:
    """Recipients from CSV text with a ``phone_number`` column (other columns: attributes;
    ``sim_result``/``sim_inputs`` script the simulated calls)."""
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")), strict=True)
    try:
        header = [h.strip() for h in next(rows)]
    except StopIteration:
        raise CsvProblem("the recipients CSV is empty") from None
    except csv.Error as exc:
        raise CsvProblem(f"recipients CSV line 1: {exc}") from None
    if "phone_number" not in header:
        raise CsvProblem("recipients CSV line 1: a phone_number column is required")
    out: list[Recipient] = []
    try:
        for row in rows:
            line = rows.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                raise CsvProblem(f"recipients CSV line {line}: more cells than header columns")
            values = dict(zip(header, (cell.strip() for cell in row), strict=False))
            phone = values.pop("phone_number", "")
            if not phone:
                raise CsvProblem(f"recipients CSV line {line}: phone_number is empty")
            out.append(Recipient(phone, {k: v for k, v in values.items() if k and v}))
            if len(out) > MAX_DEMO_ROWS:
                raise CsvProblem(f"more than {MAX_DEMO_ROWS:,} recipients; use the API for more")
    except csv.Error as exc:
        raise CsvProblem(f"recipients CSV line {rows.line_num}: {exc}") from None
    if not out:
        raise CsvProblem("the recipients CSV has no rows below its header")
    return out
