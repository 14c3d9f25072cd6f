"""The validation stage: every error of a dialplan, from the parser, the XSD and the error rules.

Shaped like xmlschema's validators: :func:`iter_errors` is the primitive, :func:`validate` (raises
:class:`~dialplan.errors.InvalidDialplan`, returns the model) and :func:`is_valid` wrap it.
``dialplan.load``, ``dialplan.lint`` and the broadcast service all go through here, so they agree
on what is an error by construction.

One pass over a parsed document: the error rules of the lint registry (spec codes ``E…``) run on
the model, then the XSD (:mod:`dialplan.schema`) checks the tree; a schema finding is kept only
where no rule reported the same problem (see :func:`schema_backstop`). Every rule name comes
from the registry. Warnings and infos are the linter's business, not this stage's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from . import schema
from .diagnostics import Diagnostic, Severity, sort_diagnostics
from .errors import InvalidDialplan
from .lint.context import LintContext
from .lint.registry import all_rules, rule_name
from .model import Plan, build_plan
from .parse import ParsedDocument, ParseFailure, parse, read_source

Source = str | bytes | os.PathLike[str]


class Checked(NamedTuple):
    """One validation pass: the document and its model (when it parses) and its errors."""

    errors: list[Diagnostic]
    doc: ParsedDocument | None = None
    plan: Plan | None = None


def check(src: Source | ParsedDocument, name: str | None = None) -> Checked:
    """Parse (unless given a parsed document), model and validate ``src``; errors sorted."""
    if isinstance(src, ParsedDocument):
        doc = src
    else:
        try:
            doc = parse(read_source(src, name))
        except ParseFailure as failure:
            return Checked([failure.diagnostic])
    plan = build_plan(doc)
    errors = sort_diagnostics(errors_in(LintContext(plan, doc)))
    return Checked(errors, doc, plan)


def iter_errors(src: Source | ParsedDocument, name: str | None = None) -> Iterator[Diagnostic]:
    """Every error of the dialplan (path, XML text or bytes, or a parsed document), by position."""
    return iter(check(src, name).errors)


def validate(src: Source | ParsedDocument, name: str | None = None) -> Plan:
    """The dialplan's model; raise :class:`InvalidDialplan` (all its errors) if it has any."""
    checked = check(src, name)
    if checked.errors or checked.plan is None:
        raise InvalidDialplan(checked.errors, checked.errors[0].file)
    return checked.plan


def is_valid(src: Source | ParsedDocument, name: str | None = None) -> bool:
    """Whether the dialplan has no error."""
    return not check(src, name).errors


def errors_in(ctx: LintContext) -> list[Diagnostic]:
    """The error rules' findings and the schema's not already reported, for one file (unsorted).

    ``ctx`` is shared with the linter, which runs the remaining rules on the same computed facts.
    """
    file = ctx.doc.source.name
    found: list[Diagnostic] = []
    for rule in all_rules().values():
        if rule.severity is Severity.ERROR:
            found.extend(rule.findings(ctx, file))
    if ctx.doc.frontend == "xml":  # a YAML scenario is checked by its own rules (E00A…)
        found.extend(schema_backstop(schema_errors(ctx.doc), found))
    return found


def schema_errors(doc: ParsedDocument) -> list[Diagnostic]:
    """The XSD's findings for ``doc`` as diagnostics, named from the registry."""
    file = doc.source.name
    return [
        Diagnostic(
            e.code, rule_name(e.code), e.message, e.loc.line, e.loc.column, file, Severity.ERROR
        )
        for e in schema.iter_errors(doc)
    ]


def schema_backstop(found: Iterable[Diagnostic], already: Iterable[Diagnostic]) -> list[Diagnostic]:
    """The schema findings in ``found`` that no rule finding in ``already`` covers.

    The lint rules own every spec code and report it precisely; the schema is the backstop. A
    schema finding is dropped when ``already`` holds, on the same line, an error (any code), or
    holds the same code anywhere in the file (rule and libxml2 may point at different places).
    """
    by_line: dict[int, list[Diagnostic]] = {}
    codes: set[str] = set()
    for d in already:
        by_line.setdefault(d.line, []).append(d)
        codes.add(d.code)
    return [d for d in found if not _reported(d, by_line.get(d.line, ()), codes)]


def _reported(d: Diagnostic, same_line: Iterable[Diagnostic], codes: set[str]) -> bool:
    if d.code in codes:
        return True
    return any(o.severity is Severity.ERROR or o.code == d.code for o in same_line)


__all__ = [
    "Checked",
    "check",
    "errors_in",
    "is_valid",
    "iter_errors",
    "schema_backstop",
    "schema_errors",
    "validate",
]
