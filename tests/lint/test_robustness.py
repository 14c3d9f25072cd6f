"""Any text in any value: the §6.4–6.6 rules report, they never crash, and positions stay valid."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialplan.lint.linter import lint_source

from ._support import VALUE_CODES

#: Characters that matter to the rules, plus some ordinary ones.
ALPHABET = st.sampled_from(list("${}$}{ 0123456789x,-+().#*'\"=<>!&|;abcXé\n\t"))
VALUES = st.text(ALPHABET, max_size=30)


def document(value: str, attr_value: str) -> str:
    a = quoteattr(attr_value)
    t = escape(value)
    return (
        "<dialplan>\n"
        f'<menu maxDigits="2"><play type="tts">{t}</play>'
        f"<keypress pressed={a}><stash varname={a}>{t}</stash></keypress>"
        f'<keypress pressed="1-5"><setvar varname={a}>{t}</setvar></keypress></menu>\n'
        f"<transfer callerid={a}>{t}</transfer><dnc>{t}</dnc><sms to={a}>{t}</sms>\n"
        f"<if expr={a}><hangup/></if><equal var={a} expr={a}><hangup/></equal>\n"
        f"<record varname={a}/><get varname={a}>http://x/?{t}</get>\n"
        "</dialplan>"
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUES, VALUES)
def test_rules_never_crash_and_locations_are_inside_the_document(value: str, attr: str) -> None:
    xml = document(value, attr)
    lines = xml.split("\n")
    for d in lint_source(xml):
        if d.code in VALUE_CODES:
            assert 1 <= d.line <= len(lines)
            assert 1 <= d.column <= len(lines[d.line - 1]) + 1
