"""Output formats for diagnostics: one pure function per format (text, json, sarif, github)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import PurePath
from urllib.parse import quote

from ..diagnostics import Diagnostic, Severity

_COLORS = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
_BOLD, _RESET = "\x1b[1m", "\x1b[0m"


#: A finding's source line: ``(file, line) → text`` or None when it cannot be shown.
SourceLines = Callable[[str, int], "str | None"]


def format_text(
    diags: Sequence[Diagnostic],
    color: bool = False,
    source: SourceLines | None = None,
    checked: int | None = None,
) -> str:
    """``path:line:col: CODE severity message`` per finding, each followed (when ``source`` gives
    its line) by the line with a caret under the finding, then a summary line."""
    lines = []
    for d in diags:
        where = f"{d.file}:{d.line}:{d.column}:"
        if color:
            sev = f"{_COLORS[d.severity]}{d.severity.label}{_RESET}"
            lines.append(f"{_BOLD}{where}{_RESET} {_BOLD}{d.code}{_RESET} {sev} {d.message}")
        else:
            lines.append(f"{where} {d.code} {d.severity.label} {d.message}")
        text = source(d.file, d.line) if source is not None else None
        if text is not None:
            lines.extend(snippet(text, d.line, d.column, _COLORS[d.severity] if color else None))
    lines.append(summary(diags, checked))
    return "\n".join(lines) + "\n"


def format_concise(diags: Sequence[Diagnostic]) -> str:
    """One ``path:line:col: CODE severity message`` line per finding, no snippet or summary."""
    return "".join(
        f"{d.file}:{d.line}:{d.column}: {d.code} {d.severity.label} {d.message}\n" for d in diags
    )


_TOKEN_END = frozenset(" \t\r\n=<>/\"'")


def token_span(text: str, column: int) -> tuple[int, int]:
    """0-based [start, end) of the token at 1-based ``column`` of a source line (at least one
    character: a tag name with its ``<``, an attribute name, a word of a value)."""
    start = min(max(column - 1, 0), len(text))
    end = start + 1
    if start < len(text) and (text[start] == "<" or text[start] not in _TOKEN_END):
        while end < len(text) and text[end] not in _TOKEN_END:
            end += 1
    return start, min(end, max(len(text), start + 1))


def snippet(text: str, line: int, column: int, color: str | None = None) -> list[str]:
    """The source line under a gutter, and a caret run under the token at ``column``."""
    text = text.rstrip("\r\n")
    gutter = " " * len(str(line))
    start, end = token_span(text, column)
    # keep tabs under tabs so that the caret lines up whatever the tab width
    pad = "".join("\t" if ch == "\t" else " " for ch in text[:start])
    carets = "^" * max(1, min(end, len(text)) - start)
    if color:
        carets = f"{color}{carets}{_RESET}"
    return [f"{gutter} |", f"{line} | {text}", f"{gutter} | {pad}{carets}"]


def summary(diags: Sequence[Diagnostic], checked: int | None = None) -> str:
    """``found 1 error, 2 warnings, 0 info in 2 of 5 files checked`` (or no problems)."""
    counts = {s: sum(1 for d in diags if d.severity is s) for s in Severity}
    files = len({d.file for d in diags})
    of = "" if checked is None else f"{checked} file{'s' * (checked != 1)} checked"
    if not diags:
        return f"no problems found in {of}" if of else "no problems found"
    parts = [
        f"{counts[Severity.ERROR]} error{'s' * (counts[Severity.ERROR] != 1)}",
        f"{counts[Severity.WARNING]} warning{'s' * (counts[Severity.WARNING] != 1)}",
        f"{counts[Severity.INFO]} info",
    ]
    where = f"{files} of {of}" if of else f"{files} file{'s' * (files != 1)}"
    return f"found {', '.join(parts)} in {where}"


def format_statistics(diags: Sequence[Diagnostic], checked: int | None = None) -> str:
    """One line per code, most frequent first: count, code, rule name, severity; then a summary."""
    from collections import Counter

    counts = Counter((d.code, d.rule, d.severity.label) for d in diags)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0][0]))
    width = max((len(str(n)) for _, n in rows), default=1)
    lines = [f"{n:>{width}}  {code}  {rule:<28} {sev}" for (code, rule, sev), n in rows]
    lines.append(summary(diags, checked))
    return "\n".join(lines) + "\n"


def format_json(diags: Sequence[Diagnostic]) -> str:
    """A JSON list of objects with exactly file, line, column, code, severity, message, rule.

    Laid out as ``json.dumps(…, indent=2, ensure_ascii=False)`` would, built with the C string
    encoder (the indenting encoder is pure Python: 10× slower on 50,000 findings).
    """
    from json.encoder import encode_basestring as enc

    if not diags:
        return "[]\n"
    items = [
        "  {\n"
        + ",\n".join(
            f"    {enc(key)}: {value if isinstance(value, int) else enc(str(value))}"
            for key, value in d.to_dict().items()
        )
        + "\n  }"
        for d in diags
    ]
    return "[\n" + ",\n".join(items) + "\n]\n"


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _uri(file: str) -> str:
    """A URI reference for a reported path: relative paths stay relative (GitHub code scanning
    resolves them against the repository root), absolute ones become ``file://`` URIs; characters
    not allowed in a URI (spaces in corpus folder names, ``#``, ``%``…) are percent-encoded."""
    path = PurePath(file)
    if path.is_absolute():
        return "file://" + quote(path.as_posix())
    text = path.as_posix()
    while text.startswith("./"):
        text = text[2:]
    return quote(text)


def format_sarif(diags: Sequence[Diagnostic]) -> str:
    """SARIF 2.1.0 as GitHub code scanning reads it (rules listed with help text)."""
    from .._version import __version__
    from .registry import PIPELINE_CODES, all_rules

    rules = all_rules()
    used = sorted({d.code for d in diags})
    index = {code: i for i, code in enumerate(used)}
    descriptors = []
    for code in used:
        rule = rules.get(code)
        if rule is not None:
            name, short, full, level = rule.name, rule.summary, rule.doc, rule.severity
        else:
            name, short = PIPELINE_CODES.get(code, (code.lower(), code))
            full, level = short, Severity.from_code(code)
        descriptors.append(
            {
                "id": code,
                "name": name,
                "shortDescription": {"text": short},
                "fullDescription": {"text": full or short},
                "help": {"text": full or short},
                "defaultConfiguration": {"level": _SARIF_LEVEL[level]},
            }
        )
    results = [
        {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": _SARIF_LEVEL[d.severity],
            "message": {"text": d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(d.file)},
                        "region": {"startLine": d.line, "startColumn": d.column},
                    }
                }
            ],
        }
        for d in diags
    ]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dialplan",
                        "version": __version__,
                        "rules": descriptors,
                    }
                },
                # our columns count characters, not SARIF's default UTF-16 code units
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    import json

    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_github(diags: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` per finding."""
    kind = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    lines = [
        f"::{kind[d.severity]} file={_gh_escape(d.file, True)},line={d.line},col={d.column},"
        f"title={_gh_escape(f'{d.code} {d.rule}', True)}::{_gh_escape(d.message)}"
        for d in diags
    ]
    return "".join(line + "\n" for line in lines)


FORMATTERS: dict[str, Callable[[Sequence[Diagnostic]], str]] = {
    "text": format_text,
    "concise": format_concise,
    "json": format_json,
    "sarif": format_sarif,
    "github": format_github,
}
