"""Loading recipients on a second process: the same rows, the same errors, nothing lost."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.loader import BATCH, attributes_encoder, load_recipients
from dialplan.broadcast.store.sqlite import Store
from dialplan.errors import CampaignError

from .helpers import write_campaign

names = st.lists(st.text(min_size=1), min_size=0, max_size=5, unique=True)


@given(names, st.data())
def test_attributes_are_the_json_text_of_the_columns(keys: list[str], data: st.DataObject) -> None:
    values = data.draw(st.lists(st.text(), min_size=len(keys), max_size=len(keys)))
    want = json.JSONEncoder(ensure_ascii=False).encode(dict(zip(keys, values, strict=True)))
    assert attributes_encoder(keys)(values) == want


def rows_of(db: Path) -> list[tuple[object, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(
            "SELECT r.id, row_no, phone, e164, region, z.key, attributes, sim_result,"
            " sim_inputs, bucket, final_result, next_at"
            " FROM recipients r LEFT JOIN zones z ON z.id = r.zone_id ORDER BY r.id"
        ).fetchall()
    finally:
        con.close()


def load(tmp: Path, parallel: bool, skip: int = 0, patient: bool = False) -> tuple[Path, int]:
    campaign = load_campaign(tmp / "campaign.toml")
    db = tmp / f"{'p' if parallel else 's'}{patient:d}{skip}.sqlite"
    store = Store(db)
    try:
        store.create_campaign(campaign.name, "b", {}, [])
        row = store.campaign(campaign.name)
        assert row is not None
        n = load_recipients(store, campaign, row.id, skip, parallel=parallel, patient=patient)
    finally:
        store.close()
    return db, n


def big_campaign(tmp: Path, bad_line: int | None = None) -> None:
    rows = []
    for i in range(2 * BATCH + 17):
        area = ("212", "808", "907", "415", "44")[i % 5]
        phone = f"+{area}20 7946 {i % 10000:04d}" if area == "44" else f"({area}) 555-{i:04d}"
        row = {"phone_number": phone if i % 97 else "bad", "first": f'Zoë "{i}"', "x": ""}
        row["sim_result"] = "BOGUS" if bad_line is not None and i + 2 == bad_line else ""
        row["sim_inputs"] = "1 2" if i % 3 == 0 else ""
        rows.append(row)
    write_campaign(tmp, rows, allowed_countries=["US"])


@pytest.mark.parametrize("patient", [False, True])
def test_the_child_process_loads_the_same_rows(tmp_path: Path, patient: bool) -> None:
    """Handed over after the first batches, or (patient) every row read by the child."""
    big_campaign(tmp_path)
    serial, n_serial = load(tmp_path, parallel=False)
    parallel, n_parallel = load(tmp_path, parallel=True, patient=patient)
    assert n_serial == n_parallel == 2 * BATCH + 17
    got = rows_of(parallel)
    assert got == rows_of(serial)
    assert {r[9] for r in got} == {"call_initiated", "invalid", "country_not_allowed"}
    # a resumed load (the first rows were committed before a crash) gives the rest
    resumed, n = load(tmp_path, parallel=True, skip=BATCH, patient=patient)
    assert n == 2 * BATCH + 17
    assert [r[1:] for r in rows_of(resumed)] == [r[1:] for r in got[BATCH:]]


@pytest.mark.parametrize(("parallel", "patient"), [(False, False), (True, False), (True, True)])
def test_an_error_in_the_file_keeps_the_batches_before_it(
    tmp_path: Path, parallel: bool, patient: bool
) -> None:
    bad_line = BATCH + 40  # in the second batch
    big_campaign(tmp_path, bad_line)
    with pytest.raises(CampaignError) as err:
        load(tmp_path, parallel=parallel, patient=patient)
    assert str(err.value).startswith(f"{tmp_path / 'recipients.csv'}:{bad_line}: sim_result:")
    db = tmp_path / f"{'p' if parallel else 's'}{patient:d}0.sqlite"
    con = sqlite3.connect(db)
    loaded = con.execute("SELECT loaded_rows FROM campaigns").fetchone()[0]
    count = con.execute("SELECT COUNT(*) FROM recipients").fetchone()[0]
    con.close()
    assert loaded == count == BATCH  # the first batch was committed; a rerun resumes there


def _load_in_daemon(tmp: str, out: Any) -> None:
    _, n = load(Path(tmp), parallel=True)
    out.put(n)


def test_a_daemonic_process_reads_the_file_itself(tmp_path: Path) -> None:
    """A daemonic process may not start children: it loads the file alone, same rows."""
    big_campaign(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_load_in_daemon, args=(str(tmp_path), out), daemon=True)
    proc.start()
    n = out.get(timeout=120)
    proc.join(30)
    assert proc.exitcode == 0
    assert n == 2 * BATCH + 17
    serial, _ = load(tmp_path, parallel=False)
    assert rows_of(tmp_path / "p00.sqlite") == rows_of(serial)
