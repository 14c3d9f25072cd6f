"""The report of a real (simulated) campaign tells the truth: shares of the people reached, each
statistic once, local times beside UTC, every recipient (paginated, or the export named), and a
call flow that scales to the window with a legend."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import lxml.etree
import lxml.html
import pytest

from dialplan.broadcast.campaign import load_campaign
from dialplan.broadcast.reporting.data import report_data
from dialplan.broadcast.reporting.flow import EDGE_KINDS, MAX_BOXES, NODE_KINDS, flow_figure
from dialplan.broadcast.reporting.report import PAGE_SIZE, render_report
from dialplan.broadcast.reporting.stats import campaign_stats
from dialplan.broadcast.service import run_campaign
from dialplan.broadcast.store.sqlite import Store

from .helpers import fake_runner, write_campaign

SVG = "{http://www.w3.org/2000/svg}"

# 12 people reached (LA or XFER); 3 said yes to tickets (then transferred), 2 volunteered
ROWS = (
    [{"phone_number": f"21255501{i:02d}", "first": f"P{i}", "sim_result": "LA"} for i in range(7)]
    + [
        {
            "phone_number": f"21255502{i:02d}",
            "first": f"T{i}",
            "sim_result": "LA",
            "sim_inputs": "1",
        }
        for i in range(3)
    ]
    + [
        {
            "phone_number": f"21255503{i:02d}",
            "first": f"V{i}",
            "sim_result": "LA",
            "sim_inputs": "2",
        }
        for i in range(2)
    ]
    + [{"phone_number": "2125550400", "first": "M", "sim_result": "AM"}]
    + [{"phone_number": "3125550500", "first": "B", "sim_result": "BUSY"}]
)


def _report(tmp_path: Path, rows: list[dict[str, str]], **kw: object) -> tuple[dict, str]:
    camp = load_campaign(write_campaign(tmp_path, rows))
    db = tmp_path / "db.sqlite"
    run_campaign(camp, db, runner=fake_runner)
    store = Store(db)
    try:
        data = report_data(store, "test", **kw)  # type: ignore[arg-type]
        data["stats_now"] = campaign_stats(store, "test")
    finally:
        store.close()
    return data, render_report(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    return _report(tmp_path_factory.mktemp("report"), ROWS)


def _doc(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def test_answer_shares_are_of_the_people_reached(report: tuple[dict, str]) -> None:
    data, html = report
    assert data["stats"]["liveCount"] == 12
    doc = _doc(html)
    shares = {}
    for q in doc.xpath("//div[@class='question']"):
        bars = q.xpath(".//*[contains(@class, 'answer-bar')]")
        pcts = [p.text for p in q.xpath(".//*[@class='pct']")]
        shares[q.get("data-question")] = {
            b.get("data-response"): (int(b.get("data-count")), pct)
            for b, pct in zip(bars, pcts, strict=True)
        }
    assert shares == {
        "tickets": {"yes": (3, "25.0%"), "(no response)": (9, "75.0%")},
        "volunteer": {"yes": (2, "16.7%"), "(no response)": (10, "83.3%")},
    }
    assert "as shares of the 12 people reached (answered live)" in html


def test_each_statistic_appears_once(report: tuple[dict, str]) -> None:
    data, html = report
    doc = _doc(html)
    names = Counter(
        name for el in doc.xpath("//*[@data-stats]") for name in el.get("data-stats").split()
    )
    assert set(names) == set(data["stats_now"])
    assert [n for n, k in names.items() if k != 1] == []
    # and no label is shown twice either
    labels = [
        *(c.text for c in doc.xpath("//div[@class='card-label']")),
        *(r.xpath("td")[0].text.strip() for r in doc.xpath("//tr[@data-stats]")),
    ]
    assert len(labels) == len(set(labels))


def test_local_time_beside_utc(report: tuple[dict, str]) -> None:
    _, html = report
    table = _doc(html).xpath("//table[@class='results']")[0]
    header = [th.text for th in table.xpath("thead/tr/th")]
    utc, local = header.index("Last call (UTC)"), header.index("Local time")
    assert local == utc + 1
    by_first = {
        tr.xpath("td")[header.index("first")].text: tr.xpath("td") for tr in table.xpath("tbody/tr")
    }
    # the campaign starts at 12:00 UTC: 07:00 in New York, 06:00 in Chicago
    ny = by_first["P0"]
    assert ny[utc].text == "2026-12-01 12:00" and ny[local].text == "07:00\u00a0EST"
    chicago = by_first["B"]
    assert chicago[utc].text.startswith("2026-12-01 12:") and chicago[local].text.startswith("06:")
    assert chicago[local].text.endswith("CST")


def test_every_recipient_is_listed_on_pages(tmp_path: Path) -> None:
    rows = [
        {"phone_number": f"212555{1000 + i}", "first": f"R{i}", "sim_result": "LA"}
        for i in range(2 * PAGE_SIZE + 7)
    ]
    _, html = _report(tmp_path, rows)
    doc = _doc(html)
    pages = doc.xpath("//table[@class='results']/tbody")
    assert [len(p.xpath("tr")) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 7]
    assert [p.get("class") for p in pages] == ["page page-1", "page page-2", "page page-3"]
    radios = doc.xpath("//input[@type='radio'][@name='results-page']")
    assert [r.get("id") for r in radios] == ["page-1", "page-2", "page-3"]
    assert radios[0].get("checked") is not None
    assert [label.get("for") for label in doc.xpath("//nav[@class='pager']/label")] == [
        "page-1",
        "page-2",
        "page-3",
    ]
    # one CSS rule shows each page when its radio is checked; no script does it
    for n in (1, 2, 3):
        assert (
            f"#page-{n}:checked ~ .table-wrap tbody.page-{n} {{ display: table-row-group; }}"
            in html
        )
    assert not doc.xpath("//script")
    first_names = [tr.xpath("td")[1].text for p in pages for tr in p.xpath("tr")]
    assert first_names == [r["first"] for r in rows]
    assert f"All {len(rows)} recipients" in html

    capped, capped_html = _report(tmp_path / "capped", rows, rows_limit=60)
    assert len(capped["rows"]) == 60
    doc = _doc(capped_html)
    assert len(doc.xpath("//table[@class='results']/tbody/tr")) == 60
    assert f"The first 60 of {len(rows)} recipients" in capped_html
    command = doc.xpath("//p[@class='capped']/code")[0].text
    assert command.startswith("dialplan broadcast export test --db ")
    assert command.endswith("--format csv -o results.csv")


def test_flow_scales_to_the_window_and_has_a_legend(report: tuple[dict, str]) -> None:
    _, html = report
    doc = _doc(html)
    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    flow = [lxml.etree.fromstring(s.encode()) for s in svgs if 'class="flow-svg"' in s]
    legend = [lxml.etree.fromstring(s.encode()) for s in svgs if 'class="flow-legend-svg"' in s]
    assert len(flow) == len(legend) == 1
    for svg in (flow[0], legend[0]):
        assert svg.get("width") == "100%" and svg.get("height") is None
        assert len(svg.get("viewBox").split()) == 4
        assert svg.get("style").startswith("max-width: ")  # never drawn larger than meant
    texts = " ".join(t.text or "" for t in legend[0].iter(f"{SVG}text"))
    for _, label in [*NODE_KINDS, *EDGE_KINDS]:
        assert label.split("\n")[0] in texts
    assert "never runs" in texts
    # the picture is the campaign's own dialplan
    assert "Hi ${contact.first}" in "".join(flow[0].itertext())
    ids = doc.xpath("//@id")
    assert len(ids) == len(set(ids))
    assert not doc.xpath("//script | //@href | //@*[starts-with(name(), 'on')]")


def test_a_plan_too_big_to_read_is_named_not_drawn(tmp_path: Path) -> None:
    plays = "".join(f'<play type="tts">line {i}</play>' for i in range(MAX_BOXES + 5))
    path = tmp_path / "big.xml"
    path.write_text(f'<dialplan name="Big">{plays}</dialplan>')
    figure = flow_figure(path)
    assert figure.svg is None and figure.boxes > MAX_BOXES
    assert figure.note is not None and f"dialplan graph {path} --format svg" in figure.note
    gone = flow_figure(tmp_path / "missing.xml")
    assert gone.svg is None and gone.note is not None and "missing.xml" in gone.note


def test_calls_over_time_has_a_linear_time_axis(tmp_path: Path) -> None:
    camp = load_campaign(
        write_campaign(
            tmp_path,
            [{"phone_number": "2125550101", "first": "A", "sim_result": "BUSY"}],
            tables={"retry_config": {"max_attempts": 2, "minutes_between_attempts": 180}},
        )
    )
    run_campaign(camp, tmp_path / "db.sqlite", runner=fake_runner)
    store = Store(tmp_path / "db.sqlite")
    try:
        data = report_data(store, "test")
    finally:
        store.close()
    points = data["calls_over_time"]
    assert data["bucket_seconds"] == 600.0  # two calls three hours apart
    assert [p["start"][11:16] for p in points] == [
        f"{12 + m // 60}:{m % 60:02d}" for m in range(0, 190, 10)
    ]
    assert [p["calls"] for p in points] == [1] + [0] * 17 + [1]


def test_hostile_dialplan_text_stays_text_in_the_flow(tmp_path: Path) -> None:
    from dialplan.broadcast.reporting.report import ReportData

    evil = "&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
    path = tmp_path / "evil.xml"
    path.write_text(f'<dialplan name="E"><play type="tts">{evil}</play></dialplan>')
    figure = flow_figure(path)
    assert figure.svg is not None
    html = render_report(ReportData("E", "now", stats={}, results={}, flow=figure))
    doc = _doc(html)
    assert not doc.xpath("//script | //img | //@onerror | //@src")
    assert "<script>alert(1)</script>" in doc.xpath("//*[@id='flow']")[0].text_content()
