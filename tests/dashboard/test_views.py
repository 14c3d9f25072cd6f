"""The dashboard's plain-data helpers: source listing, lint summary, SVG charts, recipients CSV."""

from __future__ import annotations

import pytest
from lxml import etree

from dialplan.service.dashboard.broadcastdata import CsvProblem, read_recipients
from dialplan.service.dashboard.views import bar_chart, lint_status, source_lines


def test_findings_land_on_their_lines_and_the_rest_aside() -> None:
    found = [
        {"line": 2, "column": 3, "severity": "warning", "code": "W001"},
        {"line": 2, "column": 9, "severity": "error", "code": "E031"},
        {"line": 0, "column": 0, "severity": "info", "code": "I001"},
        {"line": 99, "column": 1, "severity": "info", "code": "I002"},
    ]
    rows, elsewhere = source_lines("<a>\n  <b/>\n</a>", found)
    assert [r.number for r in rows] == [1, 2, 3]
    assert [f["code"] for f in rows[1].findings] == ["W001", "E031"]
    assert rows[1].worst == "error"
    assert rows[0].worst is None
    assert [f["code"] for f in elsewhere] == ["I001", "I002"]


def test_lint_status_counts_by_severity() -> None:
    assert lint_status([]) == "clean"
    found = [{"severity": "warning"}, {"severity": "warning"}, {"severity": "info"}]
    assert lint_status(found) == "2 warnings, 1 info"


def test_a_bar_chart_is_well_formed_svg_with_its_numbers_described() -> None:
    svg = bar_chart('Results of "Gala" <2026>', [("Live answer", 3), ("Busy", 1)])
    root = etree.fromstring(svg.encode())
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert root.get("role") == "img"
    assert root.findtext("s:title", namespaces=ns) == 'Results of "Gala" <2026>'
    assert root.findtext("s:desc", namespaces=ns) == "Live answer: 3; Busy: 1"
    widths = [int(r.get("width")) for r in root.findall("s:rect", ns)]
    assert widths[0] == 3 * widths[1]
    assert "75 %" in svg
    empty = etree.fromstring(bar_chart("Nothing", []).encode())
    assert empty.findtext("s:desc", namespaces=ns) == "no data yet"


def test_recipients_csv_rows_become_recipients() -> None:
    people = read_recipients(
        "\ufeffphone_number,firstName,sim_result\n+12125550101,Ann,LA\n\n(212) 555-0102,,BUSY\n"
    )
    assert [p.phone_number for p in people] == ["+12125550101", "(212) 555-0102"]
    assert dict(people[0].attributes) == {"firstName": "Ann", "sim_result": "LA"}
    assert dict(people[1].attributes) == {"sim_result": "BUSY"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the recipients CSV is empty"),
        ("phone\n1\n", "line 1: a phone_number column is required"),
        ("phone_number\n", "has no rows below its header"),
        ("phone_number,a\n1,2,3\n", "line 2: more cells than header columns"),
        ('phone_number\n"1\n', "line 2"),
    ],
)
def test_bad_recipients_csv_is_named_by_line(text: str, message: str) -> None:
    with pytest.raises(CsvProblem, match=message):
        read_recipients(text)
