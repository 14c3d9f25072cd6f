"""Findings that name the cause: knock-on findings kept out, offending values quoted (issue 15)."""

from __future__ import annotations

from dialplan.lint.linter import lint_source


def found(text: str) -> list[tuple[str, int, str]]:
    return [(d.code, d.line, d.message) for d in lint_source(text.encode(), "t.xml")]


MISSPELT_GOTO = """<dialplan name="Root">
  <play type="tts">Hi</play>
  <goto>main</goto>
  <menu name="Main" maxDigits="1" timeout="3000">
    <play type="tts">Press 1</play>
    <keypress pressed="1"><hangup/></keypress>
  </menu>
</dialplan>
"""


def test_misspelt_goto_reports_the_cause_not_the_unreachable_menu() -> None:
    diags = found(MISSPELT_GOTO)
    assert [(c, line) for c, line, _ in diags] == [("E031", 3)]
    assert diags[0][2].endswith('so <menu name="Main"> (line 4) never runs')


def test_unreachable_tag_not_meant_by_a_broken_goto_is_still_reported() -> None:
    text = MISSPELT_GOTO.replace("<goto>main</goto>", "<goto>Elsewhere</goto>")
    assert {c for c, _, _ in found(text)} == {"E031", "W070"}
    assert "never runs" not in found(text)[0][2]


def test_text_before_the_root_element_is_quoted() -> None:
    diags = found("Paste here:\n<dialplan><hangup/></dialplan>\n")
    assert diags == [
        (
            "E001",
            1,
            "text before the root element: 'Paste here:' (a dialplan starts with <dialplan> or "
            "<?xml …?>)",
        )
    ]
    # a BOM, comments and the XML declaration are not text
    ok = '\ufeff<?xml version="1.0"?>\n<!-- c -->\n<dialplan><hangup/></dialplan>\n'
    assert not [d for d in found(ok) if d[0] == "E001"]


def test_url_findings_say_what_is_wrong() -> None:
    text = (
        "<dialplan>\n"
        '<get varname="a">ftp://x.com/a</get>\n'
        '<get varname="b">https://x.com/a b</get>\n'
        '<get varname="c">https://x.com/a?\n  b=1</get>\n'
        '<get varname="d">x.com/a</get>\n'
        "<hangup/></dialplan>\n"
    )
    messages = [m for c, _, m in found(text) if c == "W02B"]
    assert messages == [
        "\"ftp://x.com/a\" in <get> is not an absolute http(s) URL: the scheme 'ftp' is not http "
        "or https",
        '"https://x.com/a b" in <get> is not an absolute http(s) URL: it contains a space',
        '"https://x.com/a?\\n  b=1" in <get> is not an absolute http(s) URL: it contains a line '
        "break",
        '"x.com/a" in <get> is not an absolute http(s) URL: it has no scheme (write https://…)',
    ]


def test_empty_dialplan_is_reported_once() -> None:
    assert [(c, line) for c, line, _ in found('<dialplan name="R">\n</dialplan>\n')] == [
        ("W01B", 1)
    ]


def test_menu_trapping_silence_is_reported_by_one_rule_only() -> None:
    text = """<dialplan name="Root">
  <menu name="main" maxDigits="1" timeout="3000">
    <play type="tts">Press 1</play>
    <keypress pressed="1"><hangup/></keypress>
  </menu>
  <menu name="next" maxDigits="1" timeout="3000">
    <play type="tts">Press 1</play>
    <keypress pressed="1"><hangup/></keypress>
    <keypress pressed="timeout"><goto>next</goto></keypress>
  </menu>
</dialplan>
"""
    codes = [(c, line) for c, line, _ in found(text) if c in ("W072", "W077")]
    assert codes == [("W077", 2), ("W072", 9)]  # each menu once


def test_bare_caller_id_reference_is_w069_not_w053() -> None:
    text = '<dialplan><transfer callerid="$call.callerid">2135551212</transfer></dialplan>'
    codes = {c for c, _, _ in found(text)}
    assert "W069" in codes and "W053" not in codes
