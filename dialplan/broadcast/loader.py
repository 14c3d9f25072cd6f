"""Streams a recipients CSV into the store and buckets every row (EnableX-style).

Buckets: ``call_initiated`` (will be dialled), ``call_blacklisted`` (DNC → ``DNC``),
``country_not_allowed`` (→ ``SKIPPED``), ``invalid`` (→ ``INVALID``), ``duplicate`` (→ ``DUP``).
Rows are inserted in batches; each batch commits with the count of rows loaded so far, so a
crashed load resumes where it stopped. Memory does not grow with the file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

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
    *,
    parallel: bool | None = None,
    patient: bool = False,
) -> int:
    """Insert the rows after the first ``skip`` data rows; returns the total rows loaded.

    ``parallel`` (by default: for files of :data:`~.loadproc.PARALLEL_BYTES` and more) reads
    and normalises the file in a second process while this one writes the rows: the same rows,
    in the same order, on two cores (``patient``: all of them read there, see
    :func:`~.loadproc.batches_in_child`)."""
    src = row_source(campaign, campaign_id, campaign.recipients, skip)
    if parallel is None:
        parallel = wants_parallel(campaign.recipients)
    parsed: Iterable[list[ParsedRow]]
    if parallel:
        from .loadproc import batches_in_child

        parsed = batches_in_child(src, BATCH, patient=patient)
    else:
        parsed = _batched(parse_rows(src), BATCH)
    zone = ZoneIds(store, campaign.default_time_zone)
    loaded = skip
    for chunk in parsed:
        batch = [zone.row(item) for item in chunk]
        loaded += len(batch)
        _flush(store, campaign_id, batch, loaded)
        if progress:
            progress(loaded)
    if loaded == skip:
        _flush(store, campaign_id, [], loaded)
        if progress:
            progress(loaded)
    if loaded == 0:
        raise CampaignError(f"{campaign.recipients}: no recipients (only a header row)")
    return loaded


def wants_parallel(path: Path) -> bool:
    from .loadproc import PARALLEL_BYTES

    try:
        return path.stat().st_size >= PARALLEL_BYTES
    except OSError:
        return False  # the serial reader reports it with the file name


def _batched(rows: Iterator[ParsedRow], size: int) -> Iterator[list[ParsedRow]]:
    batch: list[ParsedRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True, slots=True)
class RowSource:
    """What reading a recipients file needs (plain data: it crosses to the loading process)."""

    path: Path
    header: tuple[str, ...]
    phone_index: int
    campaign_id: int
    default_region: str
    allowed: frozenset[str]
    sms: bool
    skip: int = 0
    first_row_no: int = 1


#: a recipient row whose ``zone_id`` is still the zone key (``None``: not dialled)
ParsedRow = tuple[Any, ...]


def row_source(
    campaign: Campaign, campaign_id: int, path: Path, skip: int = 0, first_row_no: int = 1
) -> RowSource:
    header, phone_index = read_header(campaign, path)
    return RowSource(
        path,
        tuple(header),
        phone_index,
        campaign_id,
        campaign.default_region,
        frozenset(campaign.allowed_countries),
        campaign.channel == "sms",
        skip,
        first_row_no,
    )


class ZoneIds:
    """Zone keys → the store's zone ids (added on first sight, in row order)."""

    def __init__(self, store: Store, default_zone: str) -> None:
        self.store = store
        self.default = default_zone
        self.ids = store.zone_ids()

    def row(self, item: ParsedRow) -> RecipientRow:
        cid, row_no, raw, e164, region, key, attrs, sim_result, sim_inputs, bucket, final, t = item
        zone_id = None
        if key is not None:
            key = key or self.default
            zone_id = self.ids.get(key)
            if zone_id is None:
                zone_id = self.ids[key] = self.store.add_zone(key)
        return RecipientRow(
            cid, row_no, raw, e164, region, zone_id, attrs, sim_result, sim_inputs, bucket, final, t
        )


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
    zone = ZoneIds(store, campaign.default_time_zone)
    for item in parse_rows(row_source(campaign, campaign_id, path, skip, first_row_no)):
        yield zone.row(item)


def attributes_encoder(names: Sequence[str]) -> Callable[[Sequence[str]], str]:
    """``json.dumps(dict(zip(names, values)), ensure_ascii=False)`` for a fixed list of names,
    without building the dict (the same text, byte for byte)."""
    keys = [encode_basestring(n) + ": " for n in names]
    if len(set(names)) != len(names):  # a repeated name: the dict keeps the last value
        encode = json.JSONEncoder(ensure_ascii=False).encode
        return lambda values: encode(dict(zip(names, values, strict=True)))

    def attributes(values: Sequence[str]) -> str:
        return (
            "{"
            + ", ".join([k + encode_basestring(v) for k, v in zip(keys, values, strict=True)])
            + "}"
        )

    return attributes


def parse_rows(src: RowSource) -> Generator[ParsedRow, None, None]:
    """The rows of ``src`` after the first ``skip`` data rows, bucketed; the zone slot holds the
    zone key (``""``: the campaign's default zone; ``None``: the row is not dialled)."""
    path, header, phone_index = src.path, src.header, src.phone_index
    normalize = Normalizer(src.default_region)
    allowed = src.allowed
    sms = src.sms
    names = TEXT_SPECIAL if sms else SPECIAL
    inputs_col = names[1]
    special = {name: header.index(name) for name in names if name in header}
    attr_cols = [(i, h) for i, h in enumerate(header) if i != phone_index and h not in names and h]
    attr_index = [i for i, _ in attr_cols]
    encode = attributes_encoder([h for _, h in attr_cols])
    sim_results = TEXT_SIM_RESULTS if sms else SIM_RESULTS
    result_col = special.get("sim_result")
    input_col = special.get(inputs_col)
    cid = src.campaign_id
    row_base = src.first_row_no - 1
    width = len(header)
    rows = _open(path)
    next(rows)
    index = 0
    skip = src.skip
    for line, row in enumerate(rows, start=2):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        index += 1
        if index <= skip:
            continue
        n = len(row)
        raw = row[phone_index].strip() if phone_index < n else ""
        if n >= width:
            attrs = encode([row[i] for i in attr_index])
        else:
            attrs = encode([row[i] if i < n else "" for i in attr_index])
        sim_result = None
        sim_inputs = None
        if result_col is not None and result_col < n:
            value = row[result_col].strip().upper()
            if value:
                if value not in sim_results:
                    raise CampaignError(
                        f"{path}:{line}: sim_result: unknown result {value!r}"
                        f" (use {', '.join(sim_results)})"
                    )
                sim_result = value
        if input_col is not None and input_col < n:
            value = row[input_col].strip()
            if value:
                sim_inputs = value if sms else ";".join(split_inputs(value))
        number = normalize(raw)
        key = None
        final = None
        if number.e164 is None:
            bucket, final = "invalid", "INVALID"
        elif allowed and number.region not in allowed:
            bucket, final = "country_not_allowed", "SKIPPED"
        else:
            bucket = "call_initiated"
            key = "|".join(number.zones)
        yield (
            cid,
            row_base + index,
            raw,
            number.e164,
            number.region,
            key,
            attrs,
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
