"""The in-process broadcast layer (dialplan.service.broadcasts): real SQLite, virtual clock."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialplan.service.broadcasts import (
    BroadcastInput,
    Broadcasts,
    BroadcastSettings,
    CallFilter,
    Recipient,
)
from dialplan.service.problems import ProblemError
from dialplan.service.storage import Database

ROOT = Path(__file__).resolve().parents[2]
XML = (ROOT / "examples" / "charity-drive.xml").read_text()


@pytest.fixture
def layer(tmp_path: Path) -> Iterator[Broadcasts]:
    db = Database(tmp_path / "service.sqlite")
    broadcasts = Broadcasts(db, BroadcastSettings(home=tmp_path / "broadcasts"))
    yield broadcasts
    broadcasts.close()


def finished(layer: Broadcasts, account: str, bid: int, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = layer.get(account, bid).status
        if status != "RUNNING":
            return status
        time.sleep(0.05)
    raise AssertionError("still running")


def people() -> list[Recipient]:
    return [
        Recipient("+12125550111", {"first_name": "Ann", "sim_result": "LA", "sim_inputs": "1"}),
        Recipient("(212) 555-0112", {"first_name": "Bob", "sim_result": "BUSY"}),
        Recipient("+12125550113", {"first_name": "Cy", "sim_result": "AM"}),
    ]


def test_a_created_broadcast_runs_to_the_end_with_scripted_outcomes(layer: Broadcasts) -> None:
    b = layer.create(
        "acme",
        BroadcastInput(
            {"name": "Gala", "fromNumber": "+12125550100", "retryConfig": {"maxAttempts": 1}},
            dialplan_xml=XML,
            recipients=people(),
        ),
        start=True,
    )
    assert finished(layer, "acme", b.id) == "FINISHED"
    calls, total = layer.calls("acme", b.id, CallFilter(), 10, 0)
    assert total == 3
    results = {row.e164: row.final_result for _, row in calls}
    assert results == {"+12125550111": "XFER", "+12125550112": "BUSY", "+12125550113": "AM"}
    ann = calls[0][1]
    assert ann.records[0].responses == (("tickets", "yes"),)  # sim_inputs "1" answered the menu
    stats = layer.stats("acme", b.id)
    assert stats["totalCount"] == 3 and stats["busyCount"] == 1
    assert isinstance(stats["responseRatePercent"], int)
    snap = layer.progress("acme", b.id)
    assert (snap.status, snap.done, snap.total) == ("FINISHED", 3, 3)
    out = io.StringIO()
    layer.export("acme", b.id, "json", out)
    assert [r["final_result"] for r in json.loads(out.getvalue())] == ["XFER", "BUSY", "AM"]
    assert "<html" in layer.report_html("acme", b.id).lower()


def test_another_account_sees_nothing(layer: Broadcasts) -> None:
    b = layer.create("acme", BroadcastInput({"name": "Gala"}, dialplan_xml=XML))
    with pytest.raises(ProblemError) as caught:
        layer.get("other", b.id)
    assert caught.value.status == 404
    assert layer.find("other") == ([], 0)
    with pytest.raises(ProblemError):
        layer.add_recipients("other", b.id, people())


def test_batches_added_later_are_called_when_started_again(layer: Broadcasts) -> None:
    b = layer.create(
        "acme", BroadcastInput({"name": "Gala"}, dialplan_xml=XML, recipients=people()[:1])
    )
    with pytest.raises(ProblemError) as caught:  # nobody yet → cannot start; now there is
        layer.create("acme", BroadcastInput({"name": "Empty"}, dialplan_xml=XML), start=True)
    assert caught.value.status == 409
    layer.start("acme", b.id)
    assert finished(layer, "acme", b.id) == "FINISHED"
    added = layer.add_recipients(
        "acme",
        b.id,
        [Recipient("+12125550111"), Recipient("+12125550114", {"zip": "10001"})],
        scrub_duplicates=True,
        batch_name="second",
    )
    assert (added.added, added.skipped) == (1, 1)
    assert added.batch is not None and added.batch.name == "second"
    layer.start("acme", b.id)
    assert finished(layer, "acme", b.id) == "FINISHED"
    calls, total = layer.calls("acme", b.id, CallFilter(), 10, 0, batch_id=added.batch.id)
    assert total == 1 and calls[0][1].attributes["zip"] == "10001"
    assert calls[0][1].final_result is not None


def test_bad_settings_are_a_422_naming_the_api_field(layer: Broadcasts) -> None:
    with pytest.raises(ProblemError) as caught:
        layer.create("acme", BroadcastInput({"name": "x", "retryConfig": {"maxAttempts": 0}}, XML))
    assert caught.value.status == 422
    assert caught.value.detail.startswith("retryConfig.maxAttempts: must be between 1 and")
    with pytest.raises(ProblemError) as caught:
        layer.create(
            "acme",
            BroadcastInput(
                {"name": "x"}, XML, recipients=[Recipient("+12125550111", {"sim_result": "MAYBE"})]
            ),
        )
    assert caught.value.detail.startswith("recipients[0].attributes.sim_result: unknown result")
    assert layer.find("acme") == ([], 0)  # nothing half-made was kept


def test_update_changes_a_stored_campaign_and_wait_progress_sees_it(layer: Broadcasts) -> None:
    b = layer.create("acme", BroadcastInput({"name": "Gala"}, XML, recipients=people()))
    before = layer.progress("acme", b.id)
    updated = layer.update("acme", b.id, BroadcastInput({"maxActive": 3, "labels": ["vip"]}))
    assert updated.settings["maxActive"] == 3 and updated.settings["labels"] == ["vip"]
    assert layer.wait_progress("acme", b.id, before.version, timeout=1).version > before.version
    layer.start("acme", b.id)  # the runtime accepts the changed settings
    assert finished(layer, "acme", b.id) == "FINISHED"
    assert layer.find("acme", label="vip")[1] == 1
