"""Phone numbers: any common notation → E.164, validity, country and time zones (phonenumbers).

Parsing with phonenumbers costs ~70 µs a number, too slow for a million recipients, so
North American numbers take a fast path: the verdict (valid, region, time zones) is computed by
phonenumbers once per NPA-NXX block (the first six national digits — NANP metadata never looks
at the four line digits) and cached. Everything else goes through phonenumbers in full.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import timezone as pn_timezone

_SIMPLE = re.compile(r"^\+?[\d\s().\-/]+$")
_DIGITS = re.compile(r"\D")
_UNKNOWN_ZONES = {"Etc/Unknown"}


@dataclass(frozen=True, slots=True)
class Number:
    """A normalised number: ``e164`` is ``None`` when it is not a valid number."""

    raw: str
    e164: str | None
    region: str | None
    zones: tuple[str, ...]


class Normalizer:
    """Normalises numbers read in ``default_region`` (caches NANP blocks)."""

    def __init__(self, default_region: str = "US") -> None:
        self.default_region = default_region
        self.nanp_default = phonenumbers.country_code_for_region(default_region) == 1
        self._blocks: dict[str, tuple[bool, str | None, tuple[str, ...]]] = {}

    def __call__(self, raw: str) -> Number:
        text = raw.strip()
        if text and _SIMPLE.match(text):
            digits = _DIGITS.sub("", text)
            national = None
            if text.startswith("+"):
                if len(digits) == 11 and digits[0] == "1":
                    national = digits[1:]
            elif self.nanp_default:
                if len(digits) == 10:
                    national = digits
                elif len(digits) == 11 and digits[0] == "1":
                    national = digits[1:]
            if national is not None:
                block = national[:6]
                verdict = self._blocks.get(block)
                if verdict is None:
                    verdict = self._slow_verdict("+1" + national)
                    self._blocks[block] = verdict
                valid, region, zones = verdict
                if not valid:
                    return Number(raw, None, None, ())
                return Number(raw, "+1" + national, region, zones)
        return self._slow(raw)

    @staticmethod
    def _slow_verdict(text: str) -> tuple[bool, str | None, tuple[str, ...]]:
        n = phonenumbers.parse(text, None)
        if not phonenumbers.is_valid_number(n):
            return (False, None, ())
        zones = tuple(z for z in pn_timezone.time_zones_for_number(n) if z not in _UNKNOWN_ZONES)
        return (True, phonenumbers.region_code_for_number(n), zones)

    def _slow(self, raw: str) -> Number:
        try:
            n = phonenumbers.parse(raw, self.default_region)
        except phonenumbers.NumberParseException:
            return Number(raw, None, None, ())
        if not phonenumbers.is_valid_number(n):
            return Number(raw, None, None, ())
        zones = tuple(z for z in pn_timezone.time_zones_for_number(n) if z not in _UNKNOWN_ZONES)
        e164 = phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)
        return Number(raw, e164, phonenumbers.region_code_for_number(n), zones)


def normalize_loose(raw: str, default_region: str = "US") -> str | None:
    """E.164 of a number in a DNC list (invalid entries give ``None``)."""
    return Normalizer(default_region)(raw).e164
