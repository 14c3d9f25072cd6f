"""The HTML campaign report: structure, numbers read back from the SVG charts, escaping, self-containment."""

from __future__ import annotations

import re
from datetime import datetime

import lxml.etree
import lxml.html
import pytest

from dialplan.broadcast.reporting.report import RESULT_CODES, ReportData, render_report

from .report_sample import ANSWERS, RESULTS, STATS, TIMELINE, sample_data

KNOWN_ORDER = ["LA", "AM", "XFER", "BUSY", "NO_ANS", "DNC", "DUP", "INVALID", "CARRIER_ERROR"]


def _xpath(css: str) -> str:
    """The few CSS selectors these tests use (``tag.class#id[attr]``, descendant combinator) as XPath."""
    steps = []
    for part in css.split():
        m = re.fullmatch(r"([a-z0-9]*)((?:[.#][\w-]+|\[[\w-]+\])*)", part)
        assert m, part
        tests = []
        for kind, name in re.findall(r"([.#\[])([\w-]+)", m.group(2)):
            if kind == ".":
                tests.append(f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')")
            elif kind == "#":
                tests.append(f"@id='{name}'")
            else:
                tests.append(f"@{name}")
        steps.append((m.group(1) or "*") + "".join(f"[{t}]" for t in tests))
    return ".//" + "//".join(steps)


def sel(el: lxml.html.HtmlElement, css: str) -> list[lxml.html.HtmlElement]:
    return el.xpath(_xpath(css))


def parse(data: ReportData) -> tuple[str, lxml.html.HtmlElement]:
    html = render_report(data)
    return html, lxml.html.document_fromstring(html)


def test_document_basics() -> None:
    html, doc = parse(sample_data())
    assert html.startswith("<!DOCTYPE html>")
    assert doc.find("head/meta").get("charset") == "utf-8"
    assert doc.findtext("head/title") == "Charity weekend — November · Broadcast report"
    assert doc.get_element_by_id("campaign-name").text_content() == "Charity weekend — November"
    assert doc.get_element_by_id("generated-at").text_content() == "2026-11-30 11:05 UTC"
    assert "Broadcast 74a2c2c2" in sel(doc, ".subtitle")[0].text_content()


def test_inline_svgs_are_well_formed_xml() -> None:
    html, _ = parse(sample_data())
    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len(svgs) == 1 + 1 + len(ANSWERS)  # results, timeline, one per question
    for svg in svgs:
        root = lxml.etree.fromstring(svg.encode())
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.get("viewBox")


def test_self_contained() -> None:
    html, doc = parse(sample_data())
    assert not doc.xpath("//script | //link | //img | //iframe | //object | //embed")
    assert not doc.xpath("//@src | //@href")
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls == {"http://www.w3.org/2000/svg"}
    assert "@import" not in html and "url(" not in html


def test_results_chart() -> None:
    _, doc = parse(sample_data())
    bars = sel(doc, "svg.result-chart rect.result-bar")
    assert [b.get("data-code") for b in bars] == KNOWN_ORDER
    assert {b.get("data-code"): int(b.get("data-count")) for b in bars} == RESULTS
    total = sum(RESULTS.values())
    rows = sel(doc, "svg.result-chart g.row")
    assert len(rows) == len(RESULTS)
    for row, code in zip(rows, KNOWN_ORDER, strict=True):
        assert sel(row, ".bar-label")[0].text_content() == f"{code} · {RESULT_CODES[code].label}"
        assert sel(row, ".count")[0].text_content() == str(RESULTS[code])
        assert sel(row, ".pct")[0].text_content() == f"{100 * RESULTS[code] / total:.1f}%"
    # Bar lengths are proportional to the counts (the largest fills the track).
    widths = {b.get("data-code"): float(b.get("width")) for b in bars}
    track = float(sel(doc, "svg.result-chart rect.track")[0].get("width"))
    assert widths["LA"] == pytest.approx(track)
    for code, count in RESULTS.items():
        assert widths[code] == pytest.approx(max(track * count / RESULTS["LA"], 2), abs=0.06)
    assert "763 contacts with a result" in doc.get_element_by_id("results").text_content()


def test_zero_and_unknown_result_codes() -> None:
    _, doc = parse(sample_data(results={"ZED": 2, "BUSY": 3, "LA": 0, "ALPHA": 1, "AM": 5}))
    bars = sel(doc, "rect.result-bar")
    # Known codes in the CallFire order, unknown ones after them alphabetically, zeros not drawn.
    assert [b.get("data-code") for b in bars] == ["AM", "BUSY", "ALPHA", "ZED"]
    labels = [t.text_content() for t in sel(doc, "svg.result-chart .bar-label")]
    assert labels == ["AM · Answering machine", "BUSY · Busy", "ALPHA", "ZED"]
    colors = [b.get("fill") for b in bars]
    assert len(set(colors)) == 4


def test_answers_charts() -> None:
    _, doc = parse(sample_data())
    questions = sel(doc, "#answers .question")
    assert [q.get("data-question") for q in questions] == list(ANSWERS)
    for q in questions:
        responses = ANSWERS[q.get("data-question")]
        bars = sel(q, "rect.answer-bar")
        total = sum(responses.values())
        reached = STATS["liveCount"]  # shares are of the people reached, not of the responses
        expected = sorted(responses.items(), key=lambda kv: (-kv[1], kv[0]))
        expected.append(("(no response)", reached - total))
        assert [(b.get("data-response"), int(b.get("data-count"))) for b in bars] == expected
        assert f"{total} responses from 412 people reached" in sel(q, "h3")[0].text_content()
        pcts = [p.text_content() for p in sel(q, ".pct")]
        assert pcts == [f"{100 * n / reached:.1f}%" for _, n in expected]
    # All questions share one label column, so their bars start at the same x.
    assert len({b.get("x") for b in sel(doc, "rect.answer-bar")}) == 1


def test_timeline_chart() -> None:
    _, doc = parse(sample_data())
    columns = sel(doc, "svg.timeline-chart g.timeline-col")
    assert [c.get("data-bucket") for c in columns] == [b for b, _ in TIMELINE]
    assert [int(c.get("data-total")) for c in columns] == [sum(v.values()) for _, v in TIMELINE]
    segments = sel(doc, "svg.timeline-chart rect.seg")
    assert len(segments) == sum(1 for _, v in TIMELINE for n in v.values() if n)
    # Per result code, the segments add up to the results breakdown (the sample is consistent).
    per_code: dict[str, int] = {}
    for seg in segments:
        per_code[seg.get("data-code")] = per_code.get(seg.get("data-code"), 0) + int(
            seg.get("data-count")
        )
    assert per_code == RESULTS
    # Largest column: 122 attempts → nice ticks of 50 up to 150.
    ticks = [t.text_content() for t in sel(doc, "svg.timeline-chart .tick-label")]
    assert ticks == ["0", "50", "100", "150"]
    # Stacks are contiguous and their heights are proportional to the counts (150 = full height).
    grid = sel(doc, "svg.timeline-chart line.grid")
    bottom, top = float(grid[0].get("y1")), float(grid[-1].get("y1"))
    for col, (_, counts) in zip(columns, TIMELINE, strict=True):
        y = bottom
        for seg in sel(col, "rect.seg"):
            h = float(seg.get("height"))
            assert float(seg.get("y")) + h == pytest.approx(y, abs=0.02)
            assert h == pytest.approx((bottom - top) * counts[seg.get("data-code")] / 150, abs=0.01)
            y = float(seg.get("y"))
    labels = [t.text_content() for t in sel(doc, "svg.timeline-chart .x-label")]
    assert labels == ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45"]
    legend = [li.text_content() for li in sel(doc, "#timeline .legend li")]
    assert legend[0] == "LA · Live answer" and len(legend) == len(RESULTS)


def test_timeline_over_several_days_thins_labels() -> None:
    timeline = [
        (f"2026-11-{29 + h // 24:02d}T{h % 24:02d}:00:00Z", {"LA": h + 1}) for h in range(40)
    ]
    _, doc = parse(sample_data(timeline=timeline))
    assert len(sel(doc, "g.timeline-col")) == 40
    labels = [t.text_content() for t in sel(doc, ".x-label")]
    assert labels[0] == "Nov 29 00:00"
    assert 2 <= len(labels) <= 7
    ticks = [int(t.text_content()) for t in sel(doc, ".tick-label")]
    assert ticks[-1] >= 40 and ticks == sorted(ticks)


def stat_places(doc: lxml.html.HtmlElement) -> dict[str, list[str]]:
    """CallFire name → where the page shows it (card, table row, result bar), with its value."""
    places: dict[str, list[str]] = {}
    for el in doc.xpath("//*[@data-stats]"):
        if el.tag == "div":
            where, value = "card", sel(el, ".card-value")[0].text_content()
        elif el.tag == "tr":
            where, value = "table", sel(el, "td")[1].text_content()
        else:
            where, value = "bar", el.get("data-count")
        for name in el.get("data-stats").split():
            places.setdefault(name, []).append(f"{where}:{value}")
    return places


def test_each_statistic_appears_once() -> None:
    _, doc = parse(sample_data())
    places = stat_places(doc)
    assert set(places) == set(STATS)
    assert all(len(p) == 1 for p in places.values()), places
    assert places["totalCount"] == ["card:800"]
    assert places["liveCount"] == ["card:412"]
    assert places["responseRatePercent"] == ["card:75.6%"]
    assert places["callsDuration"] == ["table:28,734"]
    assert places["callsAttempted"] == ["table:763"]
    # a counter that equals one result bar is named on that bar, not repeated in the table
    assert places["busyCount"] == ["bar:29"] and places["answeringMachineCount"] == ["bar:158"]
    cards = [sel(c, ".card-label")[0].text_content() for c in sel(doc, ".card")]
    assert cards[0] == "Contacts" and "People reached" in cards and "Answer rate" in cards


def test_names_of_one_figure_make_one_row() -> None:
    stats = {"callsAttempted": 7, "dialedCount": 7, "callsPlaced": 9, "totalOutboundCount": 9}
    _, doc = parse(sample_data(stats=stats))
    assert stat_places(doc) == {
        "callsAttempted": ["table:7"],
        "dialedCount": ["table:7"],
        "callsPlaced": ["card:9"],
        "totalOutboundCount": ["card:9"],
    }
    assert len(sel(doc, "tr[data-stats]")) == 1 and len(sel(doc, ".card")) == 1
    assert "callsAttempted = dialedCount" in sel(doc, "tr[data-stats]")[0].text_content()


def test_a_counter_that_disagrees_with_its_bar_stays_in_the_table() -> None:
    _, doc = parse(sample_data(stats={"busyCount": 5}))  # the BUSY bar shows 29
    assert stat_places(doc) == {"busyCount": ["table:5"]}


def test_unknown_stats_are_listed_after_known_ones() -> None:
    _, doc = parse(sample_data(stats={"customThing": 3, "errorCount": 1, "liveCount": 1}))
    keys = [r.get("data-stats") for r in sel(doc, "tr[data-stats]")]
    assert keys == ["errorCount", "customThing"]


def test_rows_table() -> None:
    _, doc = parse(sample_data())
    table = sel(doc, "table.results")[0]
    header = [th.text_content() for th in sel(table, "thead th")]
    assert header == ["toNumber", "state", "result", "attempts", "order", "volunteer"]
    body = [[td.text_content() for td in sel(tr, "td")] for tr in sel(table, "tbody tr")]
    assert body[3] == ["12135551103", "FINISHED", "LA", "2", "No", "Maybe later"]
    _, doc = parse(sample_data(row_columns=["result", "toNumber"]))
    header = [th.text_content() for th in sel(doc, "table.results thead th")]
    assert header == ["result", "toNumber"]


def test_everything_is_escaped() -> None:
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    data = sample_data(
        campaign_name=evil,
        subtitle=evil,
        results={evil: 3, "LA": 1},
        answers={evil: {evil: 2}},
        timeline=[("2026-11-30T09:00:00Z", {evil: 1})],
        stats={evil: 1},
        rows=[{evil: evil}],
        generated_at=evil,
    )
    html, doc = parse(data)
    assert not doc.xpath("//script | //img")
    assert not doc.xpath("//@onerror")
    assert doc.get_element_by_id("campaign-name").text_content() == evil
    assert sel(doc, "rect.result-bar")[1].get("data-code") == evil
    assert sel(doc, "#answers .question")[0].get("data-question") == evil
    for svg in re.findall(r"<svg\b.*?</svg>", html, flags=re.S):
        lxml.etree.fromstring(svg.encode())  # still well-formed


def test_empty_report() -> None:
    _, doc = parse(ReportData("Empty", "now", stats={}, results={}))
    assert not doc.xpath("//svg")
    empties = [p.text_content() for p in sel(doc, ".empty")]
    assert empties == [
        "No call results yet.",
        "No call attempts yet.",
        "The dialplan stashed no answers.",
    ]
    assert not sel(doc, "#stats") and not sel(doc, "#recipients") and not sel(doc, ".card")


def test_naive_generated_at_is_taken_as_utc() -> None:
    _, doc = parse(sample_data(generated_at=datetime(2026, 1, 2, 3, 4)))
    assert doc.get_element_by_id("generated-at").text_content() == "2026-01-02 03:04 UTC"


@pytest.mark.parametrize(
    "override",
    [
        {"results": {"LA": -1}},
        {"results": {"LA": 1.5}},
        {"results": {"LA": True}},
        {"answers": {"q": {"yes": -2}}},
        {"timeline": [("2026-11-30T09:00:00Z", {"LA": "3"})]},
    ],
)
def test_bad_counts_are_rejected(override: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"count|whole number"):
        render_report(sample_data(**override))


def test_plain_mapping_in_the_report_data_shape() -> None:
    """The dict ``broadcast.reporting.data.report_data`` returns is accepted as is."""
    mapping = {
        "name": "Spring survey",
        "broadcast_id": "b-42",
        "state": "finished",
        "started_at": "2026-12-01T12:00:00.000Z",
        "finished_at": "2026-12-01T12:13:17.450Z",
        "stats": {"totalCount": 5, "liveCount": 2},
        "results": [
            {"result": "LA", "count": 2},
            {"result": "BUSY", "count": 1},
            {"result": None, "count": 2},
        ],
        "answers": [{"question": "tickets", "responses": [{"response": "yes", "count": 2}]}],
        "calls_over_time": [
            {"start": "2026-12-01T12:00:00.000Z", "calls": 3},
            {"start": "2026-12-01T12:01:00.000Z", "calls": 4},
        ],
        "bucket_seconds": 60.0,
    }
    _, doc = parse(mapping)  # type: ignore[arg-type]
    assert doc.get_element_by_id("campaign-name").text_content() == "Spring survey"
    assert (
        sel(doc, ".subtitle")[0].text_content()
        == "Broadcast b-42 · finished · 2026-12-01 12:00 → 12:13 UTC"
    )
    bars = {b.get("data-code"): int(b.get("data-count")) for b in sel(doc, "rect.result-bar")}
    assert bars == {"LA": 2, "BUSY": 1, "PENDING": 2}
    assert [c.get("data-total") for c in sel(doc, "g.timeline-col")] == ["3", "4"]
    assert [li.text_content() for li in sel(doc, "#timeline .legend li")] == ["Call attempts"]
    assert (
        sel(doc, "#timeline .hint")[0].text_content()
        == "Call attempts per time bucket (times in UTC)"
    )
    assert [q.get("data-question") for q in sel(doc, "#answers .question")] == ["tickets"]


def test_mapping_in_the_dataclass_shape() -> None:
    data = ReportData.from_mapping(
        {
            "campaign_name": "X",
            "generated_at": "today",
            "stats": {},
            "results": {"AM": 1},
            "answers": {"q": {"a": 1}},
            "timeline": [("2026-12-01T12:00:00Z", {"AM": 1})],
        }
    )
    assert data.results == {"AM": 1} and data.answers == {"q": {"a": 1}}
    assert data.timeline == [("2026-12-01T12:00:00Z", {"AM": 1})]
    assert data.subtitle is None and data.generated_at == "today"


def test_many_distinct_responses_are_summarised() -> None:
    from dialplan.broadcast.reporting.report import MAX_RESPONSES, OTHER_RESPONSES

    zips = {f"{10000 + i}": 100 - i for i in range(40)}
    _, doc = parse(sample_data(answers={"zip": zips}))
    bars = sel(doc, "rect.answer-bar")
    assert len(bars) == MAX_RESPONSES + 1
    assert [b.get("data-response") for b in bars[:3]] == ["10000", "10001", "10002"]
    other = bars[-1]
    assert other.get("data-response") == OTHER_RESPONSES
    assert int(other.get("data-count")) == sum(100 - i for i in range(MAX_RESPONSES, 40))
    labels = [t.text_content() for t in sel(doc, "#answers .bar-label")]
    assert labels[-1] == f"{40 - MAX_RESPONSES} other responses"
    assert f"{sum(zips.values()):,} responses" in sel(doc, ".question h3")[0].text_content()
