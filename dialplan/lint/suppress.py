"""Inline suppressions: ``<!-- dialplan: ignore[W070] -->`` comments and their unused-ones finding.

``<!-- dialplan: ignore[CODE, …] -->`` silences those codes (code prefixes are not accepted, as
in ruff's ``noqa``) on the line of the next tag (every line of its start tag), or on its own
line when it follows other text there. ``<!-- dialplan: ignore -->`` silences every code there.
``<!-- dialplan: ignore-file[CODE, …] -->`` anywhere silences those codes in the whole file. A
suppression that silences nothing is itself reported (W01A), so stale ones get cleaned up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..diagnostics import Diagnostic, Severity

CODES: dict[str, tuple[str, str]] = {
    "W01A": (
        "unused-suppression",
        "A <!-- dialplan: ignore[…] --> or ignore-file[…] comment silences no finding (the "
        "problem was fixed, the code is misspelled or the comment is not on the line before the "
        "finding): remove it or the codes it lists.",
    ),
}

_COMMENT = re.compile(
    r"<!--\s*dialplan\s*:\s*(ignore-file|ignore)\s*(?:\[([^\]]*)\])?\s*-->", re.IGNORECASE
)
_NEXT_TAG = re.compile(r"<(?![!?/])")
_TAG_END = re.compile(r"""[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>""")


@dataclass(slots=True)
class Suppression:
    """One comment: its kind, codes (empty: every code), where it is, the lines it covers."""

    whole_file: bool
    codes: tuple[str, ...]
    line: int
    column: int
    lines: frozenset[int]
    used: set[str]


def find_suppressions(text: str) -> list[Suppression]:
    """Every suppression comment of ``text`` (cheap when there is none)."""
    if "dialplan" not in text:
        return []
    found: list[Suppression] = []
    for m in _COMMENT.finditer(text):
        codes = tuple(c.strip().upper() for c in (m.group(2) or "").split(",") if c.strip())
        line = text.count("\n", 0, m.start()) + 1
        column = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        lines: set[int] = set()
        if m.group(1).lower() == "ignore":
            line_start = text.rfind("\n", 0, m.start()) + 1
            if text[line_start : m.start()].strip():
                lines.add(line)  # a trailing comment covers its own line
            end_line = line + text.count("\n", m.start(), m.end())
            nxt = _NEXT_TAG.search(text, m.end())
            if nxt is not None:
                close = _TAG_END.match(text, nxt.start() + 1)
                stop = close.end() if close else nxt.start()
                first = end_line + text.count("\n", m.end(), nxt.start())
                lines.update(range(first, end_line + text.count("\n", m.end(), stop) + 1))
        found.append(
            Suppression(
                m.group(1).lower() == "ignore-file", codes, line, column, frozenset(lines), set()
            )
        )
    return found


def apply_suppressions(
    diags: Sequence[Diagnostic],
    text: str,
    file: str,
    enabled: Callable[[str], bool],
    known: Callable[[str], bool],
) -> list[Diagnostic]:
    """``diags`` without the suppressed ones, plus a W01A finding per unused suppression.

    ``enabled`` says whether a code is selected (an unused suppression of a code that is not
    selected is not reported: per-file ignores would make it noise); ``known`` whether it exists.
    """
    sups = find_suppressions(text)
    if not sups:
        return list(diags)
    kept: list[Diagnostic] = []
    for d in diags:
        hit = False
        for s in sups:
            if (s.whole_file or d.line in s.lines) and (not s.codes or d.code in s.codes):
                s.used.add(d.code)
                hit = True
        if not hit:
            kept.append(d)
    if not enabled("W01A"):
        return kept
    name = CODES["W01A"][0]
    for s in sups:
        kind = "ignore-file" if s.whole_file else "ignore"
        if not s.codes and not s.used:
            kept.append(_unused(name, f"'{kind}' comment silences no finding", s, file))
        for code in s.codes:
            if code in s.used:
                continue
            if not known(code):
                why = f"unknown rule code {code!r} in '{kind}' comment"
            elif not enabled(code):
                continue
            elif s.whole_file:
                why = f"no {code} finding in this file: 'ignore-file[{code}]' is unused"
            else:
                why = f"no {code} finding on the next tag: 'ignore[{code}]' is unused"
            kept.append(_unused(name, why, s, file))
    return kept


def _unused(name: str, message: str, s: Suppression, file: str) -> Diagnostic:
    return Diagnostic("W01A", name, message, s.line, s.column, file, Severity.WARNING)
