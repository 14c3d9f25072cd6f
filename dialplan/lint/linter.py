"""Run every selected rule over one file or many: parse → schema → model → rules → diagnostics."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..diagnostics import Diagnostic, Severity, sort_diagnostics
from ..errors import UsageError
from ..model import build_plan
from ..parse import ParsedDocument, ParseFailure, parse, read_source
from .config import LintConfig
from .context import LintContext
from .registry import Problem, Rule, all_rules


def check_document(doc: ParsedDocument, config: LintConfig | None = None) -> list[Diagnostic]:
    """All findings for an already parsed document (unsorted)."""
    from .. import schema  # the XSD check (libxml2), kept lazy for start-up time

    config = config or LintConfig()
    file = doc.source.name
    plan = build_plan(doc)
    ctx = LintContext(plan, doc, config.rule_options)
    found: list[Diagnostic] = []
    for rule in all_rules().values():
        # error rules always run: the schema backstop is deduplicated against their findings
        if rule.severity is Severity.ERROR or config.enabled(rule.code):
            found.extend(_stamp(rule, problem, file) for problem in rule.check(ctx))
    found.extend(schema.iter_errors(doc, found))
    return [d for d in found if config.enabled(d.code)]


def _stamp(rule: Rule, problem: Problem, file: str) -> Diagnostic:
    return Diagnostic(
        rule.code,
        rule.name,
        problem.message,
        problem.loc.line,
        problem.loc.column,
        file,
        rule.severity,
    )


def lint_source(
    src: str | bytes | os.PathLike[str], name: str | None = None, config: LintConfig | None = None
) -> list[Diagnostic]:
    """Diagnostics for one dialplan (path, XML text or bytes), sorted by position."""
    config = config or LintConfig()
    try:
        doc = parse(read_source(src, name))
    except ParseFailure as failure:
        return [failure.diagnostic] if config.enabled(failure.diagnostic.code) else []
    return sort_diagnostics(check_document(doc, config))


def iter_files(
    paths: Iterable[str | os.PathLike[str]], config: LintConfig | None = None
) -> Iterator[Path]:
    """The files to lint: given files as they are, directories searched for ``*.xml``."""
    config = config or LintConfig()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in sorted(path.rglob("*.xml")):
                if found.is_file() and not config.excluded(found):
                    yield found
        elif path.exists():
            yield path
        else:
            raise UsageError(f"no such file or directory: {raw}")


def lint_paths(
    paths: Iterable[str | os.PathLike[str]], config: LintConfig | None = None
) -> list[Diagnostic]:
    """All findings of all files, sorted by file, line and column."""
    config = config or LintConfig()
    found: list[Diagnostic] = []
    for path in iter_files(paths, config):
        found.extend(lint_source(path, str(path), config))
    return sort_diagnostics(found)


def failed(diags: Iterable[Diagnostic], strict: bool = False) -> bool:
    """Whether the run fails: any error, or (strict) any warning."""
    worst = Severity.WARNING if strict else Severity.ERROR
    return any(d.severity >= worst for d in diags)
