"""Output formats for diagnostics: one pure function per format (text, json, sarif, github)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import PurePath
from urllib.parse import quote

from ..diagnostics import Diagnostic, Severity

_COLORS = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
_BOLD, _RESET = "\x1b[1m", "\x1b[0m"


def format_text(diags: Sequence[Diagnostic], color: bool = False) -> str:
    """``path:line:col: CODE severity message`` per line, then a summary line."""
    lines = []
    for d in diags:
        where = f"{d.file}:{d.line}:{d.column}:"
        if color:
            sev = f"{_COLORS[d.severity]}{d.severity.label}{_RESET}"
            lines.append(f"{_BOLD}{where}{_RESET} {_BOLD}{d.code}{_RESET} {sev} {d.message}")
        else:
            lines.append(f"{where} {d.code} {d.severity.label} {d.message}")
    lines.append(summary(diags))
    return "\n".join(lines) + "\n"


def summary(diags: Sequence[Diagnostic]) -> str:
    counts = {s: sum(1 for d in diags if d.severity is s) for s in Severity}
    files = len({d.file for d in diags})
    if not diags:
        return "no problems found"
    parts = [
        f"{counts[Severity.ERROR]} error{'s' * (counts[Severity.ERROR] != 1)}",
        f"{counts[Severity.WARNING]} warning{'s' * (counts[Severity.WARNING] != 1)}",
        f"{counts[Severity.INFO]} info",
    ]
    return f"found {', '.join(parts)} in {files} file{'s' * (files != 1)}"


def format_json(diags: Sequence[Diagnostic]) -> str:
    """A JSON list of objects with exactly file, line, column, code, severity, message, rule."""
    import json

    return json.dumps([d.to_dict() for d in diags], indent=2, ensure_ascii=False) + "\n"


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
    "json": format_json,
    "sarif": format_sarif,
    "github": format_github,
}
