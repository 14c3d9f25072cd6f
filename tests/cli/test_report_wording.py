"""The HTML report counts answers in proper English."""

from __future__ import annotations

from dialplan.broadcast.reporting.report import ReportData, render_report


def test_one_response_is_singular() -> None:
    html = render_report(
        ReportData(
            "C",
            "2026-12-01T00:00:00Z",
            stats={},
            results={},
            answers={"optout": {"yes": 1}, "tickets": {"yes": 2}},
        )
    )
    assert "· 1 response</span>" in html
    assert "· 2 responses</span>" in html
    assert "1 responses" not in html
