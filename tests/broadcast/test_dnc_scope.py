"""Per-account DNC on SQLite: a campaign copies the runtime DNC numbers (a recipient's ``<dnc>``)
of the earlier campaigns of its own DNC scope only (``dnc_scope``; the service sets the
account). Without the key every campaign of a store shares one scope, as before."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.store.sqlite import Store

from .dnc_scope_cases import check_account_dnc_stays_in_its_scope
from .helpers import campaign, fake_runner

#: a live answer pressing 9: fake_runner puts the number on the DNC list
OPT_OUT = {"phone_number": "(212) 555-0101", "sim_result": "LA", "sim_inputs": "9"}
LIVE = {"phone_number": "(212) 555-0101", "sim_result": "LA", "sim_inputs": "2"}


def test_the_store_copies_runtime_dnc_within_a_scope(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    try:
        check_account_dnc_stays_in_its_scope(store)
    finally:
        store.close()


def _final(db: Path, name: str) -> str | None:
    con = sqlite3.connect(db)
    try:
        row = con.execute(
            "SELECT r.final_result FROM recipients r JOIN campaigns c ON c.id = r.campaign_id"
            " WHERE c.name = ?",
            (name,),
        ).fetchone()
    finally:
        con.close()
    return None if row is None else row[0]


def test_an_opt_out_in_one_scope_is_called_in_another(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    first = campaign(tmp_path / "a1", [OPT_OUT], name="a1", dnc_scope="acme")
    run_campaign(first, db, runner=fake_runner)
    assert _final(db, "a1") == "LA"
    other = campaign(tmp_path / "b1", [LIVE], name="b1", dnc_scope="globex")
    run_campaign(other, db, runner=fake_runner)
    assert _final(db, "b1") == "LA"  # another account still calls the number
    same = campaign(tmp_path / "a2", [LIVE], name="a2", dnc_scope="acme")
    run_campaign(same, db, runner=fake_runner)
    assert _final(db, "a2") == "DNC"  # the account that heard the opt-out does not


def test_without_a_scope_every_campaign_of_the_store_shares_it(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    run_campaign(campaign(tmp_path / "c1", [OPT_OUT], name="c1"), db, runner=fake_runner)
    run_campaign(campaign(tmp_path / "c2", [LIVE], name="c2"), db, runner=fake_runner)
    assert _final(db, "c2") == "DNC"
