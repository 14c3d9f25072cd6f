"""Schema findings: spec codes, positions, normalisation of tolerated spellings, de-duplication."""

from __future__ import annotations

import pytest
from lxml import etree

from dialplan import schema, validate
from dialplan.diagnostics import Diagnostic, Location, Severity, make
from dialplan.lint.linter import lint_source
from dialplan.lint.registry import PIPELINE_CODES, all_rules
from dialplan.parse import ParsedDocument, parse_any


def found(xml: str) -> list[tuple[str, int]]:
    return sorted((d.code, d.line) for d in validate.schema_errors(parse_any(xml)))


def plan(body: str) -> str:
    """A dialplan whose first body line is line 2."""
    return f'<dialplan name="root">\n{body}\n</dialplan>'


PLAY = '<play type="tts">hi</play>'

# What the spec (§3, §6) rejects: the schema finds it under the spec's code, at the right line.
INVALID = [
    ("E002 root not dialplan", '<menu name="m">\n</menu>', [("E002", 1)]),
    ("E003 unknown tag", plan(f"{PLAY}\n<say>hi</say>"), [("E003", 3)]),
    ("E003 wrong case is unknown", plan("<Play type='tts'>x</Play>"), [("E003", 2)]),
    ("E005 keypress outside menu", plan('<keypress pressed="1"/>'), [("E005", 2)]),
    ("E005 live outside amd", plan("<live/>"), [("E005", 2)]),
    ("E005 else outside if", plan("<menu>\n<else/>\n</menu>"), [("E005", 3)]),
    ("E005 nested dialplan", plan("<dialplan/>"), [("E005", 2)]),
    ("E005 menu in menu", plan(f"<menu>{PLAY}\n<menu>{PLAY}</menu>\n</menu>"), [("E005", 3)]),
    ("E006 amd without machine", plan("<amd>\n<live/>\n</amd>"), [("E006", 2)]),
    ("E006 amd with two lives", plan("<amd><live/>\n<live/><machine/></amd>"), [("E006", 3)]),
    ("E006 amd with a play", plan(f"<amd><live/><machine/>\n{PLAY}</amd>"), [("E006", 3)]),
    ("E009 two else", plan("<if expr='1'><else/>\n<else/></if>"), [("E009", 3)]),
    ("E011 text in container", plan("<menu>press one\n</menu>"), [("E011", 2)]),
    ("E012 element in play", plan('<play type="tts">a <b>bold</b></play>'), [("E012", 2)]),
    ("E012 element in goto", plan("<goto><x/></goto>"), [("E012", 2)]),
    ("E013 empty play", plan('<play type="tts">  \n </play>'), [("E013", 2)]),
    ("E013 empty transfer", plan("<transfer/>"), [("E013", 2)]),
    ("E013 empty sms", plan('<sms to="${n}"></sms>'), [("E013", 2)]),
    ("E020 play without type", plan("<play>hi</play>"), [("E020", 2)]),
    ("E020 keypress without pressed", plan(f"<menu>{PLAY}\n<keypress/></menu>"), [("E020", 3)]),
    ("E020 stash without varname", plan("<stash>1</stash>"), [("E020", 2)]),
    ("E020 if without expr", plan("<if/>"), [("E020", 2)]),
    ("E020 equal without var", plan("<equal expr='1'/>"), [("E020", 2)]),
    ("E020 sms without to", plan("<sms>hi</sms>"), [("E020", 2)]),
    ("E020 catch without goto", plan("<catch type='hangup'/>"), [("E020", 2)]),
    ("E021 play type", plan('<play type="mp3">x</play>'), [("E021", 2)]),
    ("E021 transfer mode", plan('<transfer mode="serial">5551234567</transfer>'), [("E021", 2)]),
    ("E021 catch type", plan('<catch type="key" goto="root"/>'), [("E021", 2)]),
    ("E021 boolean 1", plan('<transfer continue-after="1">5551234567</transfer>'), [("E021", 2)]),
    ("E021 boolean yes", plan('<record background="yes"/>'), [("E021", 2)]),
    ("E022 timeout zero", plan(f'<menu timeout="0">{PLAY}</menu>'), [("E022", 2)]),
    ("E022 maxDigits word", plan(f'<menu maxDigits="two">{PLAY}</menu>'), [("E022", 2)]),
    ("E022 transfer timeout", plan('<transfer timeout="-5">5551234567</transfer>'), [("E022", 2)]),
    ("E022 record timeout", plan('<record timeout="1.5"/>'), [("E022", 2)]),
    ("E023 catch value", plan('<catch type="digit" value="#" goto="root"/>'), [("E023", 2)]),
    (
        "E030 duplicate name",
        plan("<play name='a' type='tts'>x</play>\n<hangup name='a'/>"),
        [("E030", 3)],
    ),
    ("E030 duplicate of the root name", plan("<hangup name='root'/>"), [("E030", 2)]),
    ("E031 goto unknown", plan("<goto>nowhere</goto>"), [("E031", 2)]),
    ("E031 goto case mismatch", plan("<hangup name='live'/>\n<goto>Live</goto>"), [("E031", 3)]),
    ("E031 catch goto unknown", plan("<catch type='hangup' goto='x'/>"), [("E031", 2)]),
    ("E032 dynamic goto", plan("<goto>menu${n}</goto>"), [("E032", 2)]),
    ("E040 bad pattern", plan(f'<menu>{PLAY}\n<keypress pressed="1,2"/></menu>'), [("E040", 3)]),
    ("E040 open range", plan(f'<menu>{PLAY}\n<keypress pressed="4-"/></menu>'), [("E040", 3)]),
    (
        "E041 duplicate pattern",
        plan(f'<menu>{PLAY}\n<keypress pressed="1"/>\n<keypress pressed="1"/></menu>'),
        [("E041", 4)],
    ),
    (
        "E041 default and Default",
        plan(f'<menu>{PLAY}\n<keypress pressed="default"/>\n<keypress pressed="Default"/></menu>'),
        [("E041", 4)],
    ),
    ("E018 text in hangup", plan("<hangup>bye</hangup>"), [("E018", 2)]),
    ("E018 text in record", plan("<record>beep</record>"), [("E018", 2)]),
]


@pytest.mark.parametrize(("xml", "expected"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_spec_errors_are_found_under_the_spec_code(
    xml: str, expected: list[tuple[str, int]]
) -> None:
    assert found(xml) == expected


# What the spec accepts (perhaps with a warning or info): the schema has nothing to say.
VALID = [
    ("empty dialplan", "<dialplan/>"),
    (
        "tolerated camel-case spellings",
        plan(
            f'<menu maxdigits="2" timeout="3500">{PLAY}<keypress pressed="12"/></menu>\n'
            '<notequal var="a" expr="b"><hangup/></notequal>\n'
            "<gotoxml>http://example.com/next.xml</gotoxml>"
        ).replace("<dialplan ", '<dialplan loggingenabled="true" '),
    ),
    (
        "capitalised Default and Timeout",
        plan(f'<menu>{PLAY}<keypress pressed="Default"/><keypress pressed="Timeout"/></menu>'),
    ),
    ("URL play type", plan('<play type="URL" cache="false">http://x/a.wav</play>')),
    (
        "musiconhold aliases and unknown value",
        plan(
            '<transfer musiconhold="Silent">5551234567</transfer>\n'
            '<transfer musiconhold="newage" mode="Waterfall">5551234567</transfer>\n'
            '<transfer musiconhold="disco">5551234567</transfer>'
        ),
    ),
    (
        "unknown voice and unknown attribute",
        plan('<play type="tts" voice="robot7" speed="2">x</play>'),
    ),
    ("else not last", plan(f"<if expr='1'><else>{PLAY}</else>{PLAY}</if>")),
    (
        "menu without keypress, prompt-phase children",
        plan(
            f"<menu>{PLAY}<setvar varname='a'>1</setvar><record/><transfer>5551234567</transfer></menu>"
        ),
    ),
    (
        "menu inside keypress",
        plan(f"<menu>{PLAY}<keypress pressed='1'><menu>{PLAY}</menu></keypress></menu>"),
    ),
    (
        "menu inside every other container",
        plan(
            f"<amd><live><menu>{PLAY}</menu></live><machine/></amd>"
            f"<if expr='1'><menu>{PLAY}</menu><else><menu>{PLAY}</menu></else></if>"
            f"<catch type='digit' value='*' goto='root'><menu>{PLAY}</menu></catch>"
            f"<equal var='1' expr='1'><menu>{PLAY}</menu></equal>"
        ),
    ),
    ("machine before live", plan("<amd><machine/><live/></amd>")),
    ("empty setvar and stash", plan("<setvar varname='a'/><stash varname='b'> </stash>")),
    (
        "SDK-only tags and text alias",
        plan(
            "<dtmf>12w3</dtmf><wait>500</wait><analytics account='a' category='c'/>"
            "<gtalk to='x'/><text to='${n}'>hi</text><dnc loggingEnabled='false'>${call.callerid}</dnc>"
        ),
    ),
    (
        "goto targets: root, nested prompt, padded text",
        plan(
            "<menu name='m'><play name='p' type='tts'>x</play><keypress pressed='1-3'><goto>\n  p\n</goto></keypress></menu>"
            "<goto>root</goto><catch type='hangup' goto='m'/>"
        ),
    ),
    (
        "ranges and key strings",
        plan(
            f"<menu>{PLAY}<keypress pressed='1000000000-9999999999'/><keypress pressed='*9#'/>"
            "<keypress pressed=' 5 '/><keypress pressed='timeout'/></menu>"
        ),
    ),
    (
        "record and hangup with whitespace",
        plan("<record varname='r'>   \n  </record><hangup> </hangup>"),
    ),
    (
        "comments and schema location",
        plan("<!-- c --><hangup/>").replace(
            "<dialplan ",
            '<dialplan xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:noNamespaceSchemaLocation="dialplan.xsd" ',
        ),
    ),
    ("default namespace", '<dialplan xmlns="urn:example"><hangup/></dialplan>'),
    (
        "entity-encoded VTML",
        plan('<play type="tts">&lt;vtml_speed value="60"&gt;slow&lt;/vtml_speed&gt;</play>'),
    ),
]


@pytest.mark.parametrize("xml", [c[1] for c in VALID], ids=[c[0] for c in VALID])
def test_what_the_spec_accepts_validates(xml: str) -> None:
    assert found(xml) == []


def test_attribute_errors_point_at_the_attribute() -> None:
    xml = '<dialplan>\n  <menu name="m" timeout="soon">\n    <play type="tts">x</play>\n  </menu>\n</dialplan>'
    (d,) = validate.schema_errors(parse_any(xml))
    assert (d.code, d.line, d.column) == ("E022", 2, 18)
    assert "timeout" in d.message and "'soon'" in d.message and "positive integer" in d.message
    assert d.severity is Severity.ERROR and d.rule == "not-positive-integer"


def test_attribute_error_uses_the_spelling_found() -> None:
    xml = '<dialplan>\n<menu maxdigits="x"><play type="tts">x</play></menu></dialplan>'
    (d,) = validate.schema_errors(parse_any(xml))
    assert d.code == "E022" and "@maxdigits" in d.message
    assert (d.line, d.column) == (2, 7)


def test_elements_on_one_line_are_told_apart_by_column() -> None:
    xml = '<dialplan><play type="tts">a</play><play type="mp3">b</play><play>c</play></dialplan>'
    got = [(d.code, d.column) for d in validate.schema_errors(parse_any(xml))]
    assert sorted(got) == [("E020", 61), ("E021", 42)]


def test_messages_name_the_element_path_and_the_expectation() -> None:
    xml = plan(f'<menu>{PLAY}</menu>\n<menu>{PLAY}<keypress pressed="9-x"/></menu>')
    (d,) = validate.schema_errors(parse_any(xml))
    assert d.message.startswith("dialplan/menu[2]/keypress/@pressed: '9-x'")
    assert "range lo-hi" in d.message
    (e,) = validate.schema_errors(parse_any(plan("<amd><machine/></amd>")))
    assert "missing <live>" in e.message


def test_normalise_leaves_the_original_alone() -> None:
    doc = parse_any('<dialplan><play type="TTS">x</play><notequal var="a" expr="b"/></dialplan>')
    copy = schema.normalise(doc.root)
    assert copy is not doc.root
    assert [e.tag for e in copy.iter()] == ["dialplan", "play", "notEqual"]
    assert copy[0].get("type") == "tts"
    assert doc.root[0].get("type") == "TTS" and doc.root[1].tag == "notequal"


def test_normalise_returns_the_tree_itself_when_already_canonical() -> None:
    doc = parse_any(plan(f"<menu maxDigits='1'>{PLAY}<keypress pressed='default'/></menu>"))
    assert schema.normalise(doc.root) is doc.root


def test_normalise_prefers_the_canonical_spelling_when_both_are_present() -> None:
    doc = parse_any(
        '<dialplan><menu maxDigits="2" maxdigits="x"><play type="tts">a</play></menu></dialplan>'
    )
    menu = schema.normalise(doc.root)[0]
    assert dict(menu.attrib) == {"maxDigits": "2"}


def test_normalised_copy_validates_with_the_xsd_alone() -> None:
    doc = parse_any(
        plan('<play type="Url">http://x/a.wav</play><transfer mode="RINGALL">5551234567</transfer>')
    )
    assert schema.compiled().validate(schema.normalise(doc.root))
    assert not schema.compiled().validate(doc.root)


def backstop(doc: ParsedDocument, already: list[Diagnostic]) -> list[Diagnostic]:
    """The schema's findings the validation stage keeps beside the rules' ``already``."""
    return validate.schema_backstop(validate.schema_errors(doc), already)


def _diag(code: str, line: int) -> Diagnostic:
    return make(code, "rule", "msg", Location(line, 1))


XML_TWO = plan('<play type="mp3">x</play>\n<play>y</play>')  # E021 on line 2, E020 on line 3


def test_backstop_reports_everything_when_nothing_was_reported() -> None:
    doc = parse_any(XML_TWO)
    assert sorted((d.code, d.line) for d in backstop(doc, [])) == [
        ("E020", 3),
        ("E021", 2),
    ]


def test_backstop_drops_what_a_rule_reported_at_the_same_line() -> None:
    doc = parse_any(XML_TWO)
    assert [(d.code, d.line) for d in backstop(doc, [_diag("E021", 2)])] == [("E020", 3)]


def test_backstop_drops_any_error_at_the_same_line_but_not_a_warning() -> None:
    doc = parse_any(XML_TWO)
    # line 3: some other rule's error is on that element already; line 2: only a warning is
    already = [_diag("W029", 2), _diag("E050", 3)]
    assert [(d.code, d.line) for d in backstop(doc, already)] == [("E021", 2)]


def test_backstop_keeps_an_error_when_only_an_unrelated_warning_is_on_the_line() -> None:
    doc = parse_any(XML_TWO)
    got = [(d.code, d.line) for d in backstop(doc, [_diag("W026", 2), _diag("I074", 3)])]
    assert sorted(got) == [("E020", 3), ("E021", 2)]


def test_backstop_drops_an_unmapped_finding_on_a_line_that_already_has_an_error() -> None:
    doc = parse_any(plan("<hangup>bye</hangup>"))
    assert [d.code for d in backstop(doc, [])] == ["E018"]
    assert list(backstop(doc, [_diag("E012", 2)])) == []


def test_backstop_duplicates_are_matched_file_wide() -> None:
    doc = parse_any(plan("<hangup name='a'/>\n<hangup name='a'/>"))
    assert [d.code for d in backstop(doc, [])] == ["E030"]
    assert list(backstop(doc, [_diag("E030", 2)])) == []


def test_lint_reports_schema_findings_once_with_the_file_name(tmp_path) -> None:
    path = tmp_path / "p.xml"
    path.write_text(plan("<hangup>bye</hangup>\n<say/>"), encoding="utf-8")
    diags = lint_source(path, str(path))
    schema_codes = [(d.code, d.line) for d in diags if d.code in ("E018", "E003")]
    assert sorted(set(schema_codes)) == sorted(schema_codes)  # no duplicates
    assert ("E018", 2) in schema_codes or any(
        d.line == 2 and d.severity is Severity.ERROR for d in diags
    )
    assert all(d.file == str(path) for d in diags)


def test_e018_is_documented_as_a_pipeline_code() -> None:
    name, text = PIPELINE_CODES["E018"]
    assert name == "schema-violation" and "xsd" in text.lower()


def test_libxml2_follow_up_warnings_are_not_reported() -> None:
    xml = plan(f'<menu>{PLAY}<keypress pressed="x"/><keypress pressed="1"/></menu>')
    assert found(xml) == [("E040", 2)]


def test_validation_does_not_touch_the_parsed_tree() -> None:
    doc = parse_any(plan('<play type="TTS">x</play>'))
    before = etree.tostring(doc.root)
    validate.schema_errors(doc)
    assert etree.tostring(doc.root) == before


@pytest.mark.parametrize("xml", [c[1] for c in INVALID], ids=[c[0] for c in INVALID])
def test_schema_findings_carry_the_registered_rule_name(xml: str) -> None:
    """One source for rule names: the registry (``schema.py`` once spelled E040 its own way)."""
    for d in validate.schema_errors(parse_any(xml)):
        expected = all_rules()[d.code].name if d.code in all_rules() else PIPELINE_CODES[d.code][0]
        assert d.rule == expected, d


def test_attribute_values_are_quoted_as_written_not_as_normalised() -> None:
    """Values come from the tree the user wrote, not from libxml2's message on the copy."""
    (d,) = validate.schema_errors(parse_any(plan('<play type="MP3">x</play>')))
    assert d.code == "E021" and "'MP3' is not one of tts, url, callfireid" in d.message


def test_every_missing_required_attribute_is_reported_once_per_element() -> None:
    got = validate.schema_errors(parse_any(plan("<equal/>")))
    assert [(d.code, d.line) for d in got] == [("E020", 2)]
    assert got[0].message.endswith("<equal> needs attribute var")
