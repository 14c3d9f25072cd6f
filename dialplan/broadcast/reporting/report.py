"""Campaign report: one self-contained HTML page (inline CSS and SVG charts, no scripts, no external assets).

Each figure appears once: the headline cards, the result bars (a CallFire counter that equals one
result code's count, such as ``busyCount``, is named on that bar) and the statistics table share
the CallFire names between them, and names that always hold the same number (``callsPlaced`` and
``totalOutboundCount`` …) make one row. Answer shares are of the people reached (answered live),
with a "no response" bar for the rest, so they add up to 100 % only when everyone answered.
The results table lists the recipients (up to ``reportdata.ROWS_LIMIT``, then the CSV export is
named) with the last call in UTC and in the recipient's own zone, paginated with CSS only.

Public API
----------
``ReportData``   plain dataclass of what the report shows (see its fields below).
``render_report(data: ReportData | Mapping) -> str``   the HTML document (template
``dialplan/data/templates/report.html.j2``, autoescaped: every string from the campaign is escaped).
    A plain mapping, such as ``broadcast.reporting.data.report_data(store, name)`` returns, goes through
    ``ReportData.from_mapping`` first.

Charts (geometry computed here, drawn by the template as SVG):

* *Call results*: one horizontal bar per CallFire result code (``LA``, ``AM``, ``XFER``, ``BUSY``,
  ``NO_ANS``, ``DNC``, ``DUP``, ``INVALID``, ``CARRIER_ERROR`` …, known codes in that order, unknown
  codes after them alphabetically), with count and share.
* *Answers*: for each stashed question, one bar per response (most frequent first; beyond
  ``MAX_RESPONSES`` the rest are summed into one "N other responses" bar).
* *Calls over time*: stacked columns, one per time bucket, one segment per result code.

Codes with a zero count are not drawn. Elements carry ``class``/``data-*`` attributes
(``result-bar`` + ``data-code``/``data-count``, ``answer-bar``, ``timeline-col`` + ``data-bucket`` …)
so tests and tools can read the numbers back.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jinja2

from .flow import FlowFigure

__all__ = [
    "ATTEMPTS",
    "CARD_FACTS",
    "RESULT_CODES",
    "TABLE_FACTS",
    "Fact",
    "ReportData",
    "render_report",
]


@dataclass(frozen=True, slots=True)
class ResultCode:
    label: str
    color: str


#: CallFire call results, in display order, with a label and a colour.
RESULT_CODES: dict[str, ResultCode] = {
    "LA": ResultCode("Live answer", "#2e7d32"),
    "AM": ResultCode("Answering machine", "#1e6bb8"),
    "XFER": ResultCode("Transferred", "#00897b"),
    "XFER_LEG": ResultCode("Transfer leg", "#4db6ac"),
    "BUSY": ResultCode("Busy", "#f2a900"),
    "NO_ANS": ResultCode("No answer", "#8fa3b0"),
    "DNC": ResultCode("Do not call", "#7b3fa0"),
    "DUP": ResultCode("Duplicate", "#a1887f"),
    "INVALID": ResultCode("Invalid number", "#e8710a"),
    "CARRIER_ERROR": ResultCode("Carrier error", "#c62828"),
    "CARRIER_TEMP_ERROR": ResultCode("Carrier temporary error", "#e57373"),
    "INTERNAL_ERROR": ResultCode("Internal error", "#ad1457"),
    "ABANDONED": ResultCode("Abandoned", "#5d4037"),
    "SKIPPED": ResultCode("Skipped", "#b0bec5"),
    "POSTPONED": ResultCode("Postponed", "#78909c"),
    "UNDIALED": ResultCode("Not dialled", "#cfd8dc"),
    "PENDING": ResultCode("Not finished", "#dde3e8"),
}
#: Timeline series name for buckets that only know their total number of attempts.
ATTEMPTS = "ATTEMPTS"
_SERIES = {ATTEMPTS: ResultCode("Call attempts", "#1e6bb8")}
ANSWER_COLOR = "#3949ab"
#: Responses shown per question; the rest are summed into one ``OTHER_RESPONSES`` bar.
MAX_RESPONSES = 12
OTHER_RESPONSES = "(other)"
_OTHER_COLORS = ("#546e7a", "#6d4c41", "#3949ab", "#00838f", "#827717", "#4e342e")


@dataclass(frozen=True, slots=True)
class Fact:
    """One figure of the report and the CallFire names that always hold it."""

    label: str
    names: tuple[str, ...]
    percent: bool = False
    hint: str = ""


#: The headline cards.
CARD_FACTS: tuple[Fact, ...] = (
    Fact("Contacts", ("totalCount",)),
    Fact("Calls placed", ("callsPlaced", "totalOutboundCount"), hint="retries included"),
    Fact("People reached", ("liveCount", "callsLiveAnswer"), hint="answered live (LA + XFER)"),
    Fact("Answer rate", ("responseRatePercent",), True, "live or machine, of numbers dialled"),
    Fact("Responded", ("respondedCount",), hint="contacts with an answer stashed"),
    Fact("Remaining", ("callsRemaining", "remainingOutboundCount"), hint="no final result yet"),
    # text campaigns (TextBroadcastStatsDto and its extension fields)
    Fact("Texts sent", ("sentCount",), hint="accepted by the SMSC"),
    Fact("Delivered", ("deliveredCount",), hint="every segment delivered"),
    Fact("Segments", ("segmentsCount",), hint="submitted"),
)
#: The statistics table (what neither a card nor a result bar shows).
TABLE_FACTS: tuple[Fact, ...] = (
    Fact("Numbers dialled", ("callsAttempted", "dialedCount")),
    Fact("Awaiting redial", ("callsAwaitingRedial",)),
    Fact("Answering machines", ("answeringMachineCount",)),
    Fact("Transfers", ("transferCount",)),
    Fact("Busy", ("busyCount",)),
    Fact("No answer", ("noAnswerCount",)),
    Fact("Do not call", ("doNotCallCount",)),
    Fact("Errors (carrier error, invalid number)", ("errorCount",)),
    Fact("Other results (duplicate, skipped, not dialled)", ("miscCount",)),
    Fact("Call time (s)", ("callsDuration",)),
    Fact("Billed time (s)", ("billedDuration",)),
    Fact("Billed amount", ("billedAmount",)),
)
#: Counters that count exactly one result code: named on that code's bar when the numbers agree.
RESULT_COUNTERS = {
    "AM": "answeringMachineCount",
    "XFER": "transferCount",
    "BUSY": "busyCount",
    "NO_ANS": "noAnswerCount",
    "DNC": "doNotCallCount",
}
NO_RESPONSE = "(no response)"
NO_RESPONSE_COLOR = "#cfd8dc"
#: rows per page of the results table
PAGE_SIZE = 50
#: the results table's time columns: the last call in UTC and in the recipient's own zone
UTC_COLUMN = "Last call (UTC)"
LOCAL_COLUMN = "Local time"


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything the report shows. Plain values only; the broadcast store fills it."""

    campaign_name: str
    generated_at: datetime | str
    #: CallFire CallBroadcastStats names → numbers (``totalCount``, ``liveCount`` … see CARD_FACTS).
    stats: Mapping[str, int | float]
    #: Final result code → number of contacts (``{"LA": 120, "AM": 40, "BUSY": 7}``).
    results: Mapping[str, int]
    #: Stashed question (``varname``) → response → count.
    answers: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    #: (bucket start, ISO 8601) → result code → attempts in that bucket, in time order.
    timeline: Sequence[tuple[str, Mapping[str, int]]] = ()
    #: Per-recipient rows (the first ones of the export), shown as a paginated table.
    rows: Sequence[Mapping[str, Any]] = ()
    #: Column order of ``rows`` (default: keys in order of first appearance).
    row_columns: Sequence[str] | None = None
    #: Recipients in the campaign (more than ``len(rows)``: the table names the export).
    rows_total: int | None = None
    #: The command that exports every row (shown when the table is capped).
    export_command: str | None = None
    #: Optional subtitle (broadcast id, dialplan file …).
    subtitle: str | None = None
    #: People reached (answered live): what answer shares are of (default: ``stats["liveCount"]``).
    reached: int | None = None
    #: Question → recipients who responded to it (default: the sum of its response counts).
    respondents: Mapping[str, int] = field(default_factory=dict)
    #: The dialplan's call flow (``reportflow.flow_figure``), if known.
    flow: FlowFigure | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ReportData:
        """Build from plain JSON-like data, as ``broadcast.reporting.data.report_data`` returns it.

        Accepts ``name`` (or ``campaign_name``), ``stats``, ``results`` as ``[{"result", "count"}]``
        or ``{code: count}``, ``answers`` as ``[{"question", "responses": [{"response", "count"}]}]``
        or ``{question: {response: count}}``, and the timeline as ``calls_over_time``
        ``[{"start", "calls"}]`` (totals only: drawn as one "Call attempts" series), as
        ``[{"start", "counts": {code: n}}]`` or as ``timeline`` pairs. ``broadcast_id``, ``state``,
        ``started_at`` and ``finished_at`` make the subtitle unless ``subtitle`` is given;
        ``generated_at`` defaults to now.
        """
        results_in = data.get("results") or {}
        if isinstance(results_in, Mapping):
            results = dict(results_in)
        else:
            results = {}
            for item in results_in:
                code = str(item.get("result") or "PENDING")
                results[code] = results.get(code, 0) + item["count"]
        answers_in = data.get("answers") or {}
        if isinstance(answers_in, Mapping):
            answers = {str(q): dict(r) for q, r in answers_in.items()}
        else:
            answers = {
                str(a["question"]): {str(r["response"]): r["count"] for r in a.get("responses", ())}
                for a in answers_in
            }
        timeline: list[tuple[str, Mapping[str, int]]] = []
        if "timeline" in data:
            timeline = [(str(start), dict(counts)) for start, counts in data["timeline"]]
        else:
            for point in data.get("calls_over_time") or ():
                counts = point.get("counts")
                if counts is None:
                    counts = {ATTEMPTS: point.get("calls", 0)}
                timeline.append((str(point["start"]), dict(counts)))
        subtitle = data.get("subtitle")
        if subtitle is None:
            parts = []
            if data.get("broadcast_id"):
                parts.append(f"Broadcast {data['broadcast_id']}")
            if data.get("state"):
                parts.append(str(data["state"]))
            if data.get("started_at"):
                parts.append(_span(str(data["started_at"]), data.get("finished_at")))
            subtitle = " · ".join(parts) or None
        flow = data.get("flow")
        return cls(
            campaign_name=str(data.get("campaign_name") or data.get("name") or "Campaign"),
            generated_at=data.get("generated_at") or datetime.now(UTC),
            stats=dict(data.get("stats") or {}),
            results=results,
            answers=answers,
            timeline=timeline,
            rows=list(data.get("rows") or ()),
            row_columns=data.get("row_columns"),
            rows_total=data.get("rows_total"),
            export_command=data.get("export_command"),
            subtitle=subtitle,
            reached=data.get("reached"),
            respondents=dict(data.get("respondents") or {}),
            flow=FlowFigure(**flow) if isinstance(flow, Mapping) else flow,
        )


# ---------------------------------------------------------------------------------------------
# Chart geometry (plain data handed to the template)


@dataclass(frozen=True, slots=True)
class HBar:
    key: str
    label: str
    count: int
    percent: float
    color: str
    y: float
    width: float
    stat: str = ""  # the CallFire counter that holds the same number, if any


@dataclass(frozen=True, slots=True)
class HChart:
    bars: list[HBar]
    width: int
    height: int
    label_w: int
    bar_max_w: int
    row_h: int
    bar_h: int
    total: int


@dataclass(frozen=True, slots=True)
class Segment:
    code: str
    count: int
    color: str
    y: float
    height: float


@dataclass(frozen=True, slots=True)
class Column:
    bucket: str
    label: str
    show_label: bool
    total: int
    x: float
    width: float
    segments: list[Segment]


@dataclass(frozen=True, slots=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True, slots=True)
class LegendItem:
    code: str
    label: str
    color: str


@dataclass(frozen=True, slots=True)
class TimeChart:
    columns: list[Column]
    ticks: list[Tick]
    legend: list[LegendItem]
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int


def _color_for(code: str, extra: dict[str, str]) -> str:
    if code in RESULT_CODES:
        return RESULT_CODES[code].color
    if code in _SERIES:
        return _SERIES[code].color
    if code not in extra:
        extra[code] = _OTHER_COLORS[len(extra) % len(_OTHER_COLORS)]
    return extra[code]


def _span(start: str, end: Any) -> str:
    """``2026-12-01 12:00 → 12:13 UTC`` from ISO 8601 instants (as given when unparseable)."""
    try:
        a = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(UTC)
        b = datetime.fromisoformat(str(end).replace("Z", "+00:00")).astimezone(UTC) if end else None
    except ValueError:
        return f"{start} → {end}" if end else start
    text = a.strftime("%Y-%m-%d %H:%M")
    if b is not None:
        text += " → " + b.strftime("%H:%M" if b.date() == a.date() else "%Y-%m-%d %H:%M")
    return text + " UTC"


def _code_title(code: str) -> str:
    if code in _SERIES:
        return _SERIES[code].label
    return f"{code} · {RESULT_CODES[code].label}" if code in RESULT_CODES else code


def _ordered_codes(codes: set[str]) -> list[str]:
    known = [c for c in RESULT_CODES if c in codes]
    return known + sorted(codes - set(RESULT_CODES))


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{what} must be a count >= 0, got {value!r}")
    if not math.isfinite(value) or int(value) != value:
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    return int(value)


CHART_WIDTH = 1140  # fits the report's content column; SVGs shrink on narrower screens


def _label_width(labels: Iterable[str]) -> int:
    """Room for the longest label (shown truncated to 30 characters), ~7.5 px a character at 13 px."""
    widest = max((_text_width(label[:30]) for label in labels), default=0.0)
    return int(min(max(widest + 20, 110), 300))


def _text_width(text: str) -> float:
    """Rough width in px of ``text`` at 13 px in a sans-serif font (capitals and digits are wider)."""
    return sum(9.0 if c.isupper() or c in "_MW" else 7.6 if c.isdigit() else 6.8 for c in text)


def _hchart(
    items: list[tuple[str, str, int, str]],
    width: int = CHART_WIDTH,
    label_w: int | None = None,
    stats: Mapping[str, str] | None = None,
) -> HChart:
    """Horizontal bars: items are (key, label, count, colour) in display order; shares are of
    their sum; ``stats``: key → CallFire counter named on that bar."""
    stats = stats or {}
    row_h, bar_h = 30, 18
    value_w = 250 if stats else 130  # room for the counter's name after the share
    if label_w is None:
        label_w = _label_width(label for _, label, _, _ in items)
    bar_max_w = width - label_w - value_w
    total = sum(count for _, _, count, _ in items)
    top = max((count for _, _, count, _ in items), default=0)
    bars = [
        HBar(
            key=key,
            label=label,
            count=count,
            percent=(100.0 * count / total) if total else 0.0,
            color=color,
            y=i * row_h + (row_h - bar_h) / 2,
            width=max(round(bar_max_w * count / top, 1), 2.0) if top else 0.0,
            stat=stats.get(key, ""),
        )
        for i, (key, label, count, color) in enumerate(items)
    ]
    return HChart(bars, width, len(items) * row_h, label_w, bar_max_w, row_h, bar_h, total)


def _nice_step(top: int, max_ticks: int = 5) -> int:
    if top <= 0:
        return 1
    raw = top / max_ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for m in (1, 2, 5, 10):
        if m * magnitude >= raw:
            return max(int(m * magnitude), 1)
    return int(10 * magnitude)  # pragma: no cover


def _bucket_label(iso: str, same_day: bool) -> str:
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return moment.strftime("%H:%M" if same_day else "%b %d %H:%M")


def _timechart(
    timeline: Sequence[tuple[str, Mapping[str, int]]], colors: dict[str, str]
) -> TimeChart:
    width, height, left, top, right, bottom = CHART_WIDTH, 300, 48, 12, 12, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    codes = _ordered_codes({c for _, counts in timeline for c, n in counts.items() if n})
    totals = [
        sum(_count(n, f"timeline[{b}][{c}]") for c, n in counts.items()) for b, counts in timeline
    ]
    step = _nice_step(max(totals, default=0))
    y_max = max(step * math.ceil(max(totals, default=0) / step), step)
    ticks = [Tick(v, top + plot_h - plot_h * v / y_max) for v in range(0, y_max + 1, step)]
    days = {iso[:10] for iso, _ in timeline}
    same_day = len(days) <= 1
    slot = plot_w / max(len(timeline), 1)
    col_w = max(min(slot * 0.72, 48.0), 1.0)
    every = max(1, math.ceil(len(timeline) / (10 if same_day else 6)))
    columns: list[Column] = []
    for i, (iso, counts) in enumerate(timeline):
        y = float(top + plot_h)
        segments: list[Segment] = []
        for code in codes:
            n = int(counts.get(code, 0))
            if n <= 0:
                continue
            h = plot_h * n / y_max
            y -= h
            segments.append(Segment(code, n, _color_for(code, colors), round(y, 2), round(h, 2)))
        columns.append(
            Column(
                bucket=iso,
                label=_bucket_label(iso, same_day),
                show_label=i % every == 0,
                total=totals[i],
                x=round(left + i * slot + (slot - col_w) / 2, 2),
                width=round(col_w, 2),
                segments=segments,
            )
        )
    legend = [LegendItem(c, _code_title(c), _color_for(c, colors)) for c in codes]
    return TimeChart(columns, ticks, legend, width, height, left, top, plot_w, plot_h)


# ---------------------------------------------------------------------------------------------
# Rendering


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["num"] = _format_number
    return env


def _format_number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def _generated(value: datetime | str) -> str:
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return value


@functools.cache
def _template() -> jinja2.Template:
    source = (
        resources.files("dialplan")
        .joinpath("data/templates/report.html.j2")
        .read_text(encoding="utf-8")
    )
    return _environment().from_string(source)


def render_report(data: ReportData | Mapping[str, Any]) -> str:
    """The campaign report as one HTML document (UTF-8 text).

    ``data`` is a :class:`ReportData`, or a mapping accepted by :meth:`ReportData.from_mapping`.
    Raises ``ValueError`` on negative or fractional counts in ``results``, ``answers`` or ``timeline``.
    """
    if not isinstance(data, ReportData):
        data = ReportData.from_mapping(data)
    colors: dict[str, str] = {}
    results = {code: _count(n, f"results[{code}]") for code, n in data.results.items()}
    drawn = _ordered_codes({c for c, n in results.items() if n})
    # a counter that equals one drawn bar is named there instead of in the table
    on_bars = {
        code: name
        for code, name in RESULT_COUNTERS.items()
        if code in drawn and name in data.stats and data.stats[name] == results[code]
    }
    result_chart = _hchart(
        [(code, _code_title(code), results[code], _color_for(code, colors)) for code in drawn],
        stats=on_bars,
    )
    reached = data.reached
    if reached is None and isinstance(data.stats.get("liveCount"), int):
        reached = int(data.stats["liveCount"])
    answer_items = []
    for question, responses in data.answers.items():
        counts = {r: _count(n, f"answers[{question}][{r}]") for r, n in responses.items()}
        ordered = sorted((kv for kv in counts.items() if kv[1]), key=lambda kv: (-kv[1], kv[0]))
        items = [(r, r, n, ANSWER_COLOR) for r, n in ordered[:MAX_RESPONSES]]
        rest = ordered[MAX_RESPONSES:]
        if rest:  # free-text answers (zip codes, amounts …) would make endless charts
            label = f"{len(rest)} other responses"
            items.append((OTHER_RESPONSES, label, sum(n for _, n in rest), _OTHER_COLORS[0]))
        responded = data.respondents.get(question, sum(counts.values()))
        silent = max(reached - responded, 0) if reached is not None else 0
        if silent:
            items.append((NO_RESPONSE, "no response", silent, NO_RESPONSE_COLOR))
        answer_items.append((question, responded, items))
    # One label column for every question, so their bars line up.
    answer_label_w = _label_width(r for _, _, items in answer_items for _, r, *_ in items)
    answer_charts = [
        (q, responded, _hchart(items, label_w=answer_label_w))
        for q, responded, items in answer_items
    ]
    timechart = _timechart(data.timeline, colors) if data.timeline else None

    cards, stats_rows = _facts(data.stats, set(on_bars.values()))

    columns = list(data.row_columns or [])
    if not columns:
        for row in data.rows:
            columns.extend(k for k in row if k not in columns)
    cells = [[row.get(c, "") for c in columns] for row in data.rows]
    pages = [cells[i : i + PAGE_SIZE] for i in range(0, len(cells), PAGE_SIZE)]
    total_rows = data.rows_total if data.rows_total is not None else len(cells)

    return _template().render(
        name=data.campaign_name,
        subtitle=data.subtitle,
        generated=_generated(data.generated_at),
        cards=cards,
        stats_rows=stats_rows,
        result_chart=result_chart,
        answer_charts=answer_charts,
        reached=reached,
        timechart=timechart,
        row_columns=columns,
        row_pages=pages,
        rows_shown=len(cells),
        rows_total=total_rows,
        export_command=data.export_command,
        flow=data.flow,
        time_columns=(UTC_COLUMN, LOCAL_COLUMN),
    )


def _facts(
    stats: Mapping[str, int | float], shown_elsewhere: set[str]
) -> tuple[list[tuple[Fact, int | float]], list[tuple[Fact, int | float]]]:
    """(cards, table rows): each figure once, with every CallFire name that holds it."""

    def present(fact: Fact) -> Fact | None:
        names = tuple(n for n in fact.names if n in stats and n not in shown_elsewhere)
        return Fact(fact.label, names, fact.percent, fact.hint) if names else None

    cards = [(f, stats[f.names[0]]) for fact in CARD_FACTS if (f := present(fact))]
    rows = [(f, stats[f.names[0]]) for fact in TABLE_FACTS if (f := present(fact))]
    known = {n for fact in (*CARD_FACTS, *TABLE_FACTS) for n in fact.names} | shown_elsewhere
    rows += [(Fact(n, (n,)), v) for n, v in stats.items() if n not in known]
    return cards, rows
