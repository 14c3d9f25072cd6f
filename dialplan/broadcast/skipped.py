"""Why a recipient row was not called: the reason shown by ``preview`` and ``export``.

Reasons are derived when asked, from what the store already holds (the raw number, its region,
the bucket, the row number), so loading stays as fast as it is: ``invalid number: too short
(phonenumbers)``, ``country not allowed: GB``, ``on the do-not-call list``, ``duplicate of row 3``,
``not called: the calling schedules ended``. Rows are numbered from 1, the header excluded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import phonenumbers

from .store.sqlite import CampaignRow, Store

#: buckets whose rows are never dialled (the loader's names)
SKIPPED_BUCKETS = ("invalid", "country_not_allowed", "call_blacklisted", "duplicate")

_POSSIBLE = {
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "wrong number of digits for the country",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number without its area code",
}


def invalid_reason(raw: str, default_region: str) -> str:
    """What phonenumbers says is wrong with ``raw`` (read in ``default_region``)."""
    if not raw.strip():
        return "invalid number: empty"
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        message = exc.args[0] if exc.args else str(exc)
        return f"invalid number: {str(message).rstrip('.').lower()}"
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible in _POSSIBLE:
        return f"invalid number: {_POSSIBLE[possible]}"
    code = number.country_code or 0
    region = phonenumbers.region_code_for_country_code(code)
    return f"invalid number: no such number range in {region} (+{code})"


@dataclass(frozen=True, slots=True)
class SkippedRow:
    row: int  # data row number, from 1
    phone_number: str
    final_result: str
    reason: str


class SkipReasons:
    """Reasons for the rows of one campaign (call :meth:`reason` on export items)."""

    def __init__(self, store: Store, campaign: CampaignRow) -> None:
        self.store = store
        self.campaign = campaign
        raw = campaign.config.get("raw", {})
        self.region = str(raw.get("default_region", "US")).upper()
        # first row of every number that has duplicates: bounded by the duplicates, not the file
        self.first_row = store.duplicate_first_rows(campaign.id)

    def _row(self, recipient_id: int) -> tuple[int, str | None]:
        return self.store.row_region(recipient_id)

    def reason(self, item: dict[str, Any]) -> str | None:
        """Why the export item (``Store.iter_export``) was not called; ``None`` if it was."""
        bucket = item["bucket"]
        if bucket == "invalid":
            return invalid_reason(item["phone_number"], self.region)
        if bucket == "country_not_allowed":
            _, region = self._row(item["id"])
            return f"country not allowed: {region}"
        if bucket == "call_blacklisted":
            return "on the do-not-call list"
        if bucket == "duplicate":
            return f"duplicate of row {self.first_row.get(item['e164'], '?')}"
        if item["final_result"] == "UNDIALED":
            return "not called: the calling schedules ended first"
        return None

    def rows(self, limit: int | None = None) -> Iterator[SkippedRow]:
        """The skipped rows in input order (at most ``limit``)."""
        cur = self.store.skipped_recipients(self.campaign.id)
        for n, (rid, row_no, phone, e164, bucket, final) in enumerate(cur):
            if limit is not None and n >= limit:
                return
            item = {"id": rid, "phone_number": phone, "e164": e164, "bucket": bucket}
            reason = self.reason({**item, "final_result": final})
            assert reason is not None
            yield SkippedRow(row_no, phone, final or "", reason)

    def count(self) -> int:
        return self.store.skipped_count(self.campaign.id)
