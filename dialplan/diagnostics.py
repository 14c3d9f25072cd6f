"""Diagnostic value objects: what every check (parser, schema, lint rule) reports."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.IntEnum):
    """How bad a finding is; ordered so that ``max()`` gives the worst."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_code(cls, code: str) -> Severity:
        """The default severity implied by a code's letter (E/W/I)."""
        return {"E": cls.ERROR, "W": cls.WARNING, "I": cls.INFO}[code[0]]


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A 1-based position in a source file (column counts characters)."""

    line: int = 1
    column: int = 1


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: a stable code, the rule's kebab-case name, a message and where."""

    code: str
    rule: str
    message: str
    line: int = 1
    column: int = 1
    file: str = "<string>"
    severity: Severity = field(default=Severity.ERROR)

    @property
    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.column, self.code, self.message)

    def with_file(self, file: str) -> Diagnostic:
        return Diagnostic(
            self.code, self.rule, self.message, self.line, self.column, file, self.severity
        )

    def to_dict(self) -> dict[str, object]:
        """The JSON shape: exactly file, line, column, code, severity, message, rule."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "severity": self.severity.label,
            "message": self.message,
            "rule": self.rule,
        }


def make(
    code: str, rule: str, message: str, loc: Location | None = None, file: str = "<string>"
) -> Diagnostic:
    """Build a diagnostic whose severity follows the code's letter."""
    loc = loc or Location()
    return Diagnostic(code, rule, message, loc.line, loc.column, file, Severity.from_code(code))


def sort_diagnostics(diags: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diags, key=lambda d: d.sort_key)


def has_errors(diags: list[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diags)
