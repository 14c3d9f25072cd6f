"""The bundled XML Schema (``xsd/dialplan.xsd``) and schema diagnostics."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .diagnostics import Diagnostic
from .parse import ParsedDocument


def iter_errors(doc: ParsedDocument, already: Iterable[Diagnostic] = ()) -> Iterator[Diagnostic]:
    """Schema findings not already reported by a lint rule at the same place.

    Placeholder until the XSD lands: reports nothing.
    """
    return iter(())
