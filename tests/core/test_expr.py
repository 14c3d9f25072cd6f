"""``${…}`` templates and the QuickJS sandbox."""

from __future__ import annotations

import time

import pytest

from dialplan.expr.js import JsError, JsSandbox, syntax_error
from dialplan.expr.template import TemplateError, lenient, parse_template


def render(text: str, **values: str) -> str:
    return parse_template(text).render(lambda name: values.get(name, ""))


def test_nested_references_resolve_innermost_first() -> None:
    assert render("${choice${num}}!", num="2", choice2="Otto") == "Otto!"


def test_undefined_is_empty_and_lone_dollar_is_literal() -> None:
    assert render("a${nope}b $5") == "ab $5"


def test_values_containing_references_are_substituted_again_but_bounded() -> None:
    assert render("${a}", a="${b}", b="deep") == "deep"
    assert render("${a}", a="${a}") == "${a}"  # self-reference stops after the round limit


def test_unterminated_reference_reports_offset() -> None:
    with pytest.raises(TemplateError) as info:
        parse_template("hi ${name")
    assert info.value.offset == 3
    assert lenient("hi ${name").render(lambda _: "x") == "hi ${name"


def test_refs_lists_outer_then_inner() -> None:
    refs = list(parse_template("${choice${num}} ${call.lastinput}").refs())
    assert [r.static_name for r in refs] == [None, "num", "call.lastinput"]
    assert refs[0].is_dynamic


def test_js_values_follow_the_literal_fallback_rule() -> None:
    js = JsSandbox()
    assert js.value('"123".split("").join(" ");') == "1 2 3"
    assert js.value("0+1") == "1"
    assert js.value("false") == "false"
    assert js.value("Homer Simpson") == "Homer Simpson"
    assert js.value("http://example.com/a?b=1&c=2") == "http://example.com/a?b=1&c=2"
    assert js.truthy("7 == 7") and not js.truthy("'a' == 'b'")


def test_sandbox_has_no_host_functions() -> None:
    js = JsSandbox()
    for name in ("require", "print", "std", "os", "process", "fetch", "setTimeout"):
        assert js.evaluate(f"typeof {name}") == "undefined"


def test_runaway_script_is_stopped_by_the_time_limit() -> None:
    js = JsSandbox(time_limit_s=0.05)
    start = time.perf_counter()
    with pytest.raises(JsError) as info:
        js.value("while(true){}")
    assert info.value.limit
    assert time.perf_counter() - start < 2.0
    assert js.value("1+1") == "2"  # the context stays usable


def test_calls_do_not_share_state() -> None:
    a, b = JsSandbox(), JsSandbox()
    a.evaluate("globalThis.leak = 42")
    assert b.evaluate("typeof leak") == "undefined"


def test_syntax_check_compiles_without_running() -> None:
    assert syntax_error("a == 'b'") is None
    assert syntax_error("x = 1;") is None
    assert syntax_error("while(true){}") is None  # compiled only, never run
    assert "SyntaxError" in (syntax_error("1 +* 2") or "")
