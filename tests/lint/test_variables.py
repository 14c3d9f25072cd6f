"""Variable and expression rules (spec §6.6): W060–I068, and the shared variable knowledge."""

from __future__ import annotations

import pytest

from dialplan.expr.template import parse_template
from dialplan.expr.variables import (
    collect_assignments,
    contact_column,
    is_system_name,
    is_system_variable,
    system_suggestion,
)
from dialplan.lint.rules.variables import js_placeholder

from ._support import codes, lint_values

# --- the shared variable knowledge (dialplan.expr.variables) ---------------------------------


@pytest.mark.parametrize(
    ("name", "known"),
    [
        ("call.callerid", True),
        ("call.callerid.alpha", True),
        ("call.lastinput", True),
        ("call.path", True),
        ("contact.A", True),
        ("contact.a", True),
        ("contact.ZZ", True),
        ("contact.zz", True),
        ("contact.firstName", True),
        ("contact.homePhone", True),
        ("global.date.dayOfWeek", True),
        ("global.time.hour.military", True),
        ("contact.AAA", False),
        ("contact.A1", False),
        ("contact.firstname", False),
        ("call.field.e", False),  # undocumented, spec §4.2 says treat as unknown
        ("call.callerID", False),
        ("global.date.weekday", False),
        ("Call.callerid", False),
        ("Counter", False),
    ],
)
def test_system_variables(name: str, known: bool) -> None:
    assert is_system_variable(name) is known


def test_system_namespace_and_suggestions() -> None:
    assert is_system_name("Call.callerid") and is_system_name("global.x")
    assert not is_system_name("callerid")
    assert system_suggestion("call.callerID") == "call.callerid"
    assert system_suggestion("contact.firstname") == "contact.firstName"
    assert system_suggestion("call.nothing") is None
    assert contact_column("contact.ab") == "AB"
    assert contact_column("contact.firstName") is None


def test_collect_assignments() -> None:
    pairs = [
        ("setvar", parse_template("count")),
        ("record", parse_template("message")),
        ("get", parse_template("result")),
        ("stash", parse_template("answer")),
        ("stash", parse_template("dyn${n}")),
        ("setvar", parse_template("choice${n}")),
    ]
    found = collect_assignments(pairs)
    assert found.assigned == {"count", "message", "result"}
    assert found.stashed == {"answer"}
    assert found.may_be_assigned("choice2") and not found.may_be_assigned("answer")


# --- the rules ---------------------------------------------------------------------------------


def plan(body: str) -> str:
    return f"<dialplan>{body}</dialplan>"


def test_nested_reference_checks_only_inner_part() -> None:
    xml = plan('<play type="tts">${choice${num}}</play>')
    assert [d.code for d in lint_values(xml)] == ["I068", "W060"]
    (w060,) = [d for d in lint_values(xml) if d.code == "W060"]
    assert "${num}" in w060.message and w060.column == 36


def test_undefined_variable_suggests_case_variant() -> None:
    xml = plan('<setvar varname="custID">1</setvar><play type="tts">${custid}</play>')
    (found,) = lint_values(xml)
    assert found.code == "W060" and "did you mean ${custID}" in found.message


def test_dynamic_setvar_varname_may_assign_matching_names() -> None:
    xml = plan(
        '<setvar varname="n">1</setvar><setvar varname="choice${n}">x</setvar>'
        '<play type="tts">${choice1} ${other}</play>'
    )
    assert sorted(d.code for d in lint_values(xml)) == ["I068", "W060"]


def test_references_in_attributes_are_located_at_the_attribute() -> None:
    xml = plan('<transfer callerid="${callerNumber}">2135551212</transfer>')
    (found,) = lint_values(xml)
    assert (found.code, found.line, found.column) == ("W060", 1, 21)


def test_reference_position_survives_entities_and_line_breaks() -> None:
    xml = '<dialplan>\n<play type="tts">\n   a &amp; b\r\n  ${who}</play></dialplan>'
    (found,) = lint_values(xml)
    assert (found.code, found.line, found.column) == ("W060", 4, 3)


def test_record_get_post_define_variables_and_stash_does_not() -> None:
    xml = plan(
        '<record varname="r"/><get varname="g">http://a/</get><post varname="p">http://a/</post>'
        '<stash varname="s">1</stash><play type="tts">${r} ${g} ${p} ${s}</play>'
    )
    assert [d.code for d in lint_values(xml)] == ["W061"]


def test_unknown_system_variable_suggests_spelling() -> None:
    (found,) = lint_values(plan('<play type="tts">${contact.firstname}</play>'))
    assert found.code == "W062" and "contact.firstName" in found.message


@pytest.mark.parametrize(
    ("xml", "column"),
    [
        ('<play type="tts">a ${b</play>', 30),
        ('<setvar varname="x">${a} ${b${c}</setvar>', 36),
        ('<sms to="${call.phonenumber">hi</sms>', 16),  # attribute problems: the attribute
        ('<if expr="${a} == 1 || ${b"><hangup/></if>', 15),
    ],
)
def test_unterminated_reference_column(xml: str, column: int) -> None:
    found = [d for d in lint_values(plan(xml)) if d.code == "E063"]
    assert [d.column for d in found] == [column]


def test_goto_text_is_not_a_template() -> None:
    # `${` in a goto target is E032 (names family); it is never substituted
    assert codes(plan("<goto>${x</goto><goto>${y}</goto>")) == set()


@pytest.mark.parametrize(
    ("varname", "warn"),
    [
        ("a-b", True),
        ("a b", True),
        ("x.y", True),
        ("é", True),
        ("ok_1", False),
        ("stash${n}", False),
        ("bad-${n}", True),
    ],
)
def test_varname_characters(varname: str, warn: bool) -> None:
    xml = plan(f'<setvar varname="n">1</setvar><stash varname="{varname}">1</stash>')
    assert ("W064" in codes(xml)) is warn


@pytest.mark.parametrize(
    ("expr", "error"),
    [
        ("${a} == 1", False),
        ("${a} &gt; 2;", False),
        ("'${a}'.split('').join(' ')", False),
        ("isNaN('${a}')", False),
        ("${a}.length &gt; 3", False),  # a reference before "." is not a number literal
        ("${a} ? 1 : 0", False),
        ("${a} ==", True),
        ("(${a} &gt; 1", True),
        ("${a} ${a}", True),
        ("${a} =&gt; 3", True),
        ("if (${a}) {", True),
    ],
)
def test_if_expression_syntax(expr: str, error: bool) -> None:
    xml = plan(f'<setvar varname="a">1</setvar><if expr="{expr}"><hangup/></if>')
    assert ("E065" in codes(xml)) is error


@pytest.mark.parametrize(
    ("expr", "error"),
    [("Homer Simpson", False), ("5", False), ("${a} + 1", False), ("'open", True), ("(1", True)],
)
def test_equal_expression_may_be_a_literal(expr: str, error: bool) -> None:
    xml = plan(f'<setvar varname="a">1</setvar><equal var="${{a}}" expr="{expr}"><hangup/></equal>')
    assert ("E065" in codes(xml)) is error


def test_assignment_with_reference_is_both_a_syntax_error_and_w067() -> None:
    assert codes(plan('<if expr="${call.lastinput} = 1"><hangup/></if>')) == {"E065", "W067"}


@pytest.mark.parametrize(
    "expr",
    [
        "${call.callerid}.toLowerCase()",
        "${call.callerid} == 'blocked'",
        "'anonymous' === ${call.callerid}",
        "${contact.firstName}.length",
        "${answer} == 'yes'",  # spec §5.3 revised rule 3: never met unless answer is a number
        "'no' != ${answer}",
        "${answer}.toUpperCase() == 'YES'",
    ],
)
def test_unquoted_string_variable(expr: str) -> None:
    xml = plan(f'<if expr="{expr}"><hangup/></if>')
    assert "W066" in codes(xml)


@pytest.mark.parametrize(
    "expr",
    [
        "'${call.callerid}'.toLowerCase()",
        '"${call.callerid}" == "blocked"',
        "${call.callerid} == 15551234567",
        "${global.date.dayOfWeek} == 'x'",  # numeric variable
        "'x ${call.callerid} y'.length",
        "'${answer}' == 'yes'",
        "${count} == 3",
    ],
)
def test_quoted_or_numeric_is_fine(expr: str) -> None:
    xml = plan(f'<if expr="{expr}"><hangup/></if>')
    assert "W066" not in codes(xml)


def test_unquoted_string_variable_in_setvar_value() -> None:
    xml = plan('<setvar varname="s">${call.callerid}.split("").join(" ")</setvar>')
    assert "W066" in codes(xml)


@pytest.mark.parametrize(
    ("expr", "warn"),
    [
        ("x = 1", True),
        ("x += 1", True),
        ("x == 1", False),
        ("x === 1", False),
        ("x != 1 &amp;&amp; x !== 2", False),
        ("x &lt;= 1 || x &gt;= 2", False),
        ("'a=b' == x", False),
        ("[1].map(v =&gt; v)", False),
    ],
)
def test_assignment_in_condition(expr: str, warn: bool) -> None:
    assert ("W067" in codes(plan(f'<if expr="{expr}"><hangup/></if>'))) is warn


def test_dynamic_stash_varname_is_information_once() -> None:
    xml = plan('<setvar varname="n">1</setvar><stash varname="s${n}">1</stash>')
    assert [d.code for d in lint_values(xml)] == ["I068"]


def test_placeholder() -> None:
    assert js_placeholder(parse_template("${a}+1")) == "0+1"
    assert js_placeholder(parse_template("${a}.length")) == "_.length"
    assert js_placeholder(parse_template("'${a}'.length")) == "'0'.length"


def test_reference_position_inside_cdata() -> None:
    xml = '<dialplan>\n<play type="tts"><![CDATA[a & b ${who}]]></play></dialplan>'
    (found,) = lint_values(xml)
    assert (found.code, found.line, found.column) == ("W060", 2, 33)
