"""Keypress patterns (spec §3.3): literal keys, numeric ranges, ``default`` and ``timeout``."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

_KEYS = re.compile(r"^[0-9*#]+$")
_RANGE = re.compile(r"^([0-9]+)-([0-9]+)$")


class PatternKind(enum.Enum):
    LITERAL = "literal"
    RANGE = "range"
    DEFAULT = "default"
    TIMEOUT = "timeout"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Pattern:
    """A parsed ``pressed`` value; ``text`` is the trimmed value as written."""

    kind: PatternKind
    text: str
    lo: int = 0
    hi: int = 0

    @property
    def width(self) -> int:
        """Digits needed to enter it (0 for default/timeout/invalid)."""
        if self.kind is PatternKind.LITERAL:
            return len(self.text)
        if self.kind is PatternKind.RANGE:
            return len(str(self.hi))
        return 0

    @property
    def key(self) -> str:
        """Identity for duplicate detection (``Default`` ≡ ``default``)."""
        if self.kind in (PatternKind.DEFAULT, PatternKind.TIMEOUT):
            return str(self.kind.value)  # (mypy types .value of a union of members as Any)
        return self.text

    def matches(self, digits: str) -> bool:
        """Whether a non-empty input selects this literal or range."""
        if self.kind is PatternKind.LITERAL:
            return digits == self.text
        if self.kind is PatternKind.RANGE:
            return digits.isascii() and digits.isdigit() and self.lo <= int(digits) <= self.hi
        return False


def parse_pattern(raw: str) -> Pattern:
    text = raw.strip()
    lowered = text.lower()
    if lowered == "default":
        return Pattern(PatternKind.DEFAULT, text)
    if lowered == "timeout":
        return Pattern(PatternKind.TIMEOUT, text)
    if _KEYS.match(text):
        return Pattern(PatternKind.LITERAL, text)
    m = _RANGE.match(text)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo <= hi:
            return Pattern(PatternKind.RANGE, text, lo, hi)
    return Pattern(PatternKind.INVALID, text)


def parse_duration_ms(raw: str | None, default_ms: int) -> int:
    """Spec §2.3: values above 1000 are milliseconds, smaller ones seconds; 1000 is read as ms."""
    if raw is None:
        return default_ms
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or int(text) <= 0:
        return default_ms
    value = int(text)
    return value if value >= 1000 else value * 1000
