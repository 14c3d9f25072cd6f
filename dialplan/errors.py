"""The exception tree; each exception that reaches the CLI knows its exit code.

DialplanError                 base of everything this package raises on purpose (exit 2)
├── InvalidDialplan           a dialplan was rejected; carries its diagnostics (exit 1)
├── UsageError                bad options, missing files, bad config (exit 2)
└── CampaignError             a campaign file, its dialplan or recipient list is unusable (exit 2)

A call that runs past a limit is not an exception: it ends with the ``error`` outcome.
"""

from __future__ import annotations

from collections.abc import Sequence

from .diagnostics import Diagnostic


class DialplanError(Exception):
    """Base class for every deliberate error of this package."""

    exit_code = 2


class InvalidDialplan(DialplanError):
    """The dialplan has errors; ``diagnostics`` lists all findings (errors first)."""

    exit_code = 1

    def __init__(self, diagnostics: Sequence[Diagnostic], source: str = "<string>") -> None:
        self.diagnostics = list(diagnostics)
        self.source = source
        errors = [d for d in self.diagnostics if d.severity.name == "ERROR"]
        first = errors[0] if errors else (self.diagnostics[0] if self.diagnostics else None)
        where = (
            f"{first.file}:{first.line}:{first.column}: {first.code} {first.message}"
            if first
            else ""
        )
        more = f" (+{len(errors) - 1} more errors)" if len(errors) > 1 else ""
        super().__init__(f"invalid dialplan {source}: {where}{more}")


class UsageError(DialplanError):
    """Bad command-line usage, configuration or missing input."""

    exit_code = 2


class CampaignError(DialplanError):
    """A campaign definition or its recipients cannot be used."""

    exit_code = 2
