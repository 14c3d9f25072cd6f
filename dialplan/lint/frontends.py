"""What the lint rules read from a document of another front-end (Callr YAML; nothing for XML)."""

from __future__ import annotations

from collections.abc import Iterator

from .context import LintContext
from .registry import Problem


def compile_findings(ctx: LintContext, code: str) -> Iterator[Problem]:
    """The Callr compiler's findings with ``code`` (see ``dialplan/callr/compile.py``)."""
    for finding in getattr(ctx.doc, "findings", ()):
        if finding.code == code:
            yield Problem(finding.message, finding.loc)


__all__ = ["compile_findings"]
