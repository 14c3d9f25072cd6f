"""What the dashboard's pages show, as plain data: a source listing with findings at their lines,
and bar charts drawn as inline SVG (no chart library)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

#: how a finding's severity is shown, most severe first
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")


@dataclass(frozen=True, slots=True)
class SourceLine:
    """One line of a flow's source and the findings that point at it."""

    number: int
    text: str
    findings: list[Mapping[str, Any]] = field(default_factory=list)

    @property
    def worst(self) -> str | None:
        """The most severe severity among the line's findings (None when it has none)."""
        found = {str(f.get("severity", "")).lower() for f in self.findings}
        return next((s for s in SEVERITIES if s in found), None)


def source_lines(
    source: str, findings: Iterable[Mapping[str, Any]]
) -> tuple[list[SourceLine], list[Mapping[str, Any]]]:
    """The source line by line with each finding at its line, and the findings at no line."""
    texts = source.splitlines() or [""]
    by_line: dict[int, list[Mapping[str, Any]]] = {}
    elsewhere: list[Mapping[str, Any]] = []
    for f in findings:
        line = f.get("line")
        if isinstance(line, int) and 1 <= line <= len(texts):
            by_line.setdefault(line, []).append(f)
        else:
            elsewhere.append(f)
    rows = [SourceLine(n, t, by_line.get(n, [])) for n, t in enumerate(texts, 1)]
    return rows, elsewhere


def lint_status(findings: Sequence[Mapping[str, Any]]) -> str:
    """A short lint summary: ``clean``, or counts such as ``2 warnings, 1 info``."""
    counts = {s: 0 for s in SEVERITIES}
    for f in findings:
        severity = str(f.get("severity", "")).lower()
        if severity in counts:
            counts[severity] += 1
    parts = [f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n]
    return ", ".join(parts) or "clean"


_DEFAULT_COLOUR = "#0969da"


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, int]],
    colours: Mapping[str, str] | None = None,
    width: int = 560,
) -> str:
    """A horizontal bar chart as an accessible SVG string (``role="img"`` with a title and a
    description listing every value, so screen readers get the numbers too); ``colours`` maps
    a bar's label to its colour."""
    label_w, row_h, pad = 170, 26, 8
    total = sum(n for _, n in bars)
    peak = max((n for _, n in bars), default=0) or 1
    bar_space = width - label_w - 90
    height = max(1, len(bars)) * row_h + 2 * pad
    described = "; ".join(f"{label}: {n}" for label, n in bars) or "no data yet"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title><desc>{escape(described)}</desc>",
    ]
    if not bars:
        out.append(f'<text x="{pad}" y="{pad + 16}" class="chart-empty">no data yet</text>')
    for i, (label, n) in enumerate(bars):
        y = pad + i * row_h
        w = round(bar_space * n / peak)
        share = f" ({100 * n / total:.0f} %)" if total else ""
        colour = (colours or {}).get(label, _DEFAULT_COLOUR)
        out.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{escape(label[:24])}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{max(w, 1)}" height="{row_h - 8}"'
            f' fill="{colour}" rx="2"/>'
            f'<text x="{label_w + max(w, 1) + 6}" y="{y + 17}">{n}{share}</text>'
        )
    out.append("</svg>")
    return "".join(out)
