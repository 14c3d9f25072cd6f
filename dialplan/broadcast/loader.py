"""Streams a recipients CSV into the store and buckets every row (EnableX-style).

Buckets: ``call_initiated`` (will be dialled), ``call_blacklisted`` (DNC → ``DNC``),
``country_not_allowed`` (→ ``SKIPPED``), ``invalid`` (→ ``INVALID``), ``duplicate`` (→ ``DUP``).
Rows are inserted in batches; each batch commits with the count of rows loaded so far, so a
crashed load resumes where it stopped. Memory does not grow with the file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import CampaignError
from .campaign import SIM_RESULTS, TEXT_SIM_RESULTS, Campaign, split_inputs
from .phones import Normalizer
from .store.rows import RecipientRow
from .store.sqlite import Store

BATCH = 5000
SPECIAL = ("sim_result", "sim_inputs")
#: a text campaign's simulation columns: the scripted reply is kept where a call's inputs are
TEXT_SPECIAL = ("sim_result", "sim_reply")


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA … (spreadsheet column names)."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def _open(path: Path) -> Iterator[list[str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            yield from csv.reader(fh)
    except OSError as exc:
        raise CampaignError(f"{path}: cannot read recipients: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CampaignError(f"{path}: recipients file is not UTF-8 text") from None
    except csv.Error as exc:
        raise CampaignError(f"{path}: malformed CSV: {exc}") from None


def duplicate_columns(header: list[str]) -> list[str]:
    """``"'phone_number' (columns A and C)"`` for each non-empty name given to several columns."""
    where: dict[str, list[str]] = {}
    for i, name in enumerate(header):
        if name:
            where.setdefault(name, []).append(column_letter(i))
    return [
        f"{name!r} (columns {', '.join(cols[:-1])} and {cols[-1]})"
        for name, cols in where.items()
        if len(cols) > 1
    ]


def read_header(campaign: Campaign, path: Path | None = None) -> tuple[list[str], int]:
    """The header row and the index of the phone column (of ``path``, by default the
    campaign's recipients file)."""
    path = path or campaign.recipients
    rows = _open(path)
    header = next(rows, None)
    if header is None:
        raise CampaignError(f"{path}: recipients file is empty")
    header = [h.strip() for h in header]
    duplicates = duplicate_columns(header)
    if duplicates:
        raise CampaignError(f"{path}:1: duplicate column names: {'; '.join(duplicates)}")
    want = campaign.phone_column
    if want in header:
        return header, header.index(want)
    letters = [column_letter(i) for i in range(len(header))]
    if want.upper() in letters:
        return header, letters.index(want.upper())
    raise CampaignError(f"{path}:1: no '{want}' column (columns: {', '.join(header)})")


def load_dnc(campaign: Campaign, normalize: Normalizer) -> Iterator[str]:
    if campaign.dnc is None:
        return
    for row in _open(campaign.dnc):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        number = normalize(row[0]).e164
        if number is not None:
            yield number


def load_recipients(
    store: Store,
    campaign: Campaign,
    campaign_id: int,
    skip: int,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Insert the rows after the first ``skip`` data rows; returns the total rows loaded."""
    batch: list[RecipientRow] = []
    loaded = skip
    for row in recipient_rows(store, campaign, campaign_id, campaign.recipients, skip):
        batch.append(row)
        loaded += 1
        if len(batch) >= BATCH:
            _flush(store, campaign_id, batch, loaded)
            batch = []
            if progress:
                progress(loaded)
    _flush(store, campaign_id, batch, loaded)
    if progress:
        progress(loaded)
    if loaded == 0:
        raise CampaignError(f"{campaign.recipients}: no recipients (only a header row)")
    return loaded


def recipient_rows(
    store: Store,
    campaign: Campaign,
    campaign_id: int,
    path: Path,
    skip: int = 0,
    first_row_no: int = 1,
) -> Iterator[RecipientRow]:
    """The recipients rows of ``path`` after the first ``skip`` data rows, bucketed, ready for
    :meth:`Store.add_recipients` (``row_no`` counts from ``first_row_no``)."""
    header, phone_index = read_header(campaign, path)
    normalize = Normalizer(campaign.default_region)
    zone_ids = store.zone_ids()
    allowed = set(campaign.allowed_countries)
    sms = campaign.channel == "sms"
    names = TEXT_SPECIAL if sms else SPECIAL
    inputs_col = names[1]
    special = {name: header.index(name) for name in names if name in header}
    attr_cols = [(i, h) for i, h in enumerate(header) if i != phone_index and h not in names and h]
    encode = json.JSONEncoder(ensure_ascii=False).encode
    sim_results = TEXT_SIM_RESULTS if campaign.channel == "sms" else SIM_RESULTS
    rows = _open(path)
    next(rows)
    index = 0
    for line, row in enumerate(rows, start=2):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        index += 1
        if index <= skip:
            continue
        raw = row[phone_index].strip() if phone_index < len(row) else ""
        attrs = {h: (row[i] if i < len(row) else "") for i, h in attr_cols}
        sim_result = None
        sim_inputs = None
        if "sim_result" in special and special["sim_result"] < len(row):
            value = row[special["sim_result"]].strip().upper()
            if value:
                if value not in sim_results:
                    raise CampaignError(
                        f"{path}:{line}: sim_result: unknown result {value!r}"
                        f" (use {', '.join(sim_results)})"
                    )
                sim_result = value
        if inputs_col in special and special[inputs_col] < len(row):
            value = row[special[inputs_col]].strip()
            if value:
                sim_inputs = value if sms else ";".join(split_inputs(value))
        number = normalize(raw)
        zone_id = None
        final = None
        if number.e164 is None:
            bucket, final = "invalid", "INVALID"
        elif allowed and number.region not in allowed:
            bucket, final = "country_not_allowed", "SKIPPED"
        else:
            bucket = "call_initiated"
            key = "|".join(number.zones or (campaign.default_time_zone,))
            zone_id = zone_ids.get(key)
            if zone_id is None:
                zone_id = zone_ids[key] = store.add_zone(key)
        yield RecipientRow(
            campaign_id,
            first_row_no - 1 + index,
            raw,
            number.e164,
            number.region,
            zone_id,
            encode(attrs),
            sim_result,
            sim_inputs,
            bucket,
            final,
            0.0,
        )


def _flush(store: Store, campaign_id: int, batch: list[RecipientRow], loaded: int) -> None:
    store.begin()
    store.add_recipients(batch)
    store.update_campaign(campaign_id, loaded_rows=loaded)
    store.commit()
