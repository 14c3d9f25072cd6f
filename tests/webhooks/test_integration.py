"""With the broadcast runtime: a simulated campaign's outbox (the real SQLite store) drained to a loopback
receiver, bodies checked against the published schema, and the CLI's report data rendered."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import lxml.html
import pytest

from dialplan.broadcast.webhooks.delivery import deliver_pending

from .helpers import LoopbackServer, Receiver, all_signatures_valid

broadcast = pytest.importorskip("dialplan.broadcast.service")
reportdata = pytest.importorskip("dialplan.broadcast.reporting.data")
store_mod = pytest.importorskip("dialplan.broadcast.store.sqlite")
stats_mod = pytest.importorskip("dialplan.broadcast.reporting.stats")
bhelpers = pytest.importorskip("tests.broadcast.helpers")

SCHEMA = json.loads(
    resources.files("dialplan")
    .joinpath("data/schemas/webhook-event.schema.json")
    .read_text(encoding="utf-8")
)

ROWS = [
    {"phone_number": "2125550101", "first": "Ann", "sim_result": "LA", "sim_inputs": "1"},
    {"phone_number": "2125550102", "first": "Bob", "sim_result": "BUSY"},
    {"phone_number": "2125550103", "first": "Cy", "sim_result": "AM"},
    {"phone_number": "2125550104", "first": "Di", "sim_result": "LA", "sim_inputs": "2"},
    {"phone_number": "2125550105", "first": "Ed", "sim_result": "NO_ANS"},
]


def run_campaign(tmp_path: Path, url: str) -> Path:
    camp = bhelpers.campaign(
        tmp_path,
        ROWS,
        tables={
            "webhook": {"url": url, "secret": "integration-secret"},
            "custom_data": {"ref": "it"},
            "network": {"allow_private": True},
        },
    )
    db = tmp_path / "db.sqlite"
    broadcast.run_campaign(camp, db, runner=bhelpers.fake_runner, deliver=False)
    return db


def test_campaign_outbox_is_delivered_signed_and_matches_the_schema(tmp_path: Path) -> None:
    receiver = Receiver(lambda n: 503 if n % 4 == 1 else 200)  # a flaky receiver
    with LoopbackServer(receiver) as server:
        db = run_campaign(tmp_path, server.url)
        store = store_mod.Store(db)
        try:
            queued = store.pending_count()
            assert queued > len(ROWS)
            report = deliver_pending(
                store, "integration-secret", allow_private=True, poll_s=0.02, max_wait_s=30
            )
            assert report.done and store.pending_count() == 0
        finally:
            store.close()
    assert len(receiver.unique_ids()) == queued
    assert all_signatures_valid(receiver.received, "integration-secret")
    validator = jsonschema.Draft202012Validator(SCHEMA)
    problems = {
        f"{json.loads(r.body)['event']}: {e.message}"
        for r in receiver.received
        for e in validator.iter_errors(json.loads(r.body))
    }
    assert not problems, sorted(problems)


def test_report_from_the_cli_report_data(tmp_path: Path) -> None:
    db = run_campaign(tmp_path, "https://hooks.example/cb")
    store = store_mod.Store(db)
    try:
        data = reportdata.report_data(store, "test")
        stats = stats_mod.campaign_stats(store, "test")
    finally:
        store.close()
    from dialplan.broadcast.reporting.report import render_report

    doc = lxml.html.document_fromstring(render_report(data))
    assert doc.get_element_by_id("campaign-name").text_content() == "test"
    bars = {
        b.get("data-code"): int(b.get("data-count"))
        for b in doc.xpath("//rect[contains(@class, 'result-bar')]")
    }
    assert sum(bars.values()) == stats["totalCount"] == len(ROWS)
    assert bars.get("BUSY") == 1 and bars.get("AM") == 1
    answers = {q.get("data-question") for q in doc.xpath("//div[@class='question']")}
    assert {"tickets", "volunteer"} <= answers
    columns = doc.xpath("//g[contains(@class, 'timeline-col')]")
    assert sum(int(c.get("data-total")) for c in columns) == stats["callsPlaced"]
    cards = {
        name: c.xpath(".//*[@class='card-value']")[0].text_content()
        for c in doc.xpath("//div[@data-stats]")
        for name in c.get("data-stats").split()
    }
    assert cards["totalCount"] == str(stats["totalCount"])


def test_run_campaign_delivers_through_the_worker(tmp_path: Path) -> None:
    """``run_campaign(deliver=True)`` drains the outbox with ``deliver_pending`` (the runtime's wiring)."""
    receiver = Receiver(lambda n: 500 if n < 3 else 200)
    with LoopbackServer(receiver) as server:
        camp = bhelpers.campaign(
            tmp_path,
            ROWS,
            tables={
                "webhook": {"url": server.url, "secret": "wired"},
                "network": {"allow_private": True},
            },
        )
        result = broadcast.run_campaign(
            camp, tmp_path / "db.sqlite", runner=bhelpers.fake_runner, max_wait=20
        )
    assert result.events_pending == 0
    events = [json.loads(r.body)["event"] for r in receiver.received]
    assert events.count("disconnected") == len(ROWS)
    assert events.count("broadcastcall_complete") == 1
    assert all_signatures_valid(receiver.received, "wired")
