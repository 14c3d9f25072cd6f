"""Positions inside text values: the n-th character of a trimmed value, where it was written."""

from __future__ import annotations

import dialplan


def _where(xml: str, code: str) -> tuple[int, int]:
    (d,) = [d for d in dialplan.lint(xml) if d.code == code]
    return d.line, d.column


def test_a_value_trimmed_of_unicode_space_points_after_that_space() -> None:
    """The model trims values with ``str.strip()``; positions skip the same characters."""
    xml = '<dialplan name="root">\n<play type="tts">\u00a0${call.bogus} hi</play>\n<hangup/>\n</dialplan>'
    assert _where(xml, "W062") == (2, 19)


def test_a_reference_after_entities_and_newlines_is_found_where_written() -> None:
    xml = (
        '<dialplan name="root">\n<play type="tts">\n  a &amp; b\n  ${call.bogus}</play>\n'
        "<hangup/>\n</dialplan>"
    )
    assert _where(xml, "W062") == (4, 3)
