"""Which auto-reply answers an inbound text, and what it says (dialplan.messaging.autoreply)."""

from __future__ import annotations

import time

import pytest

from dialplan.messaging.autoreply import (
    AutoReply,
    MatchError,
    choose,
    compile_match,
    first_word,
    reply_text,
)
from dialplan.messaging.port import InboundText

OURS = "+12025550000"


def inbound(text: str, to: str = OURS) -> InboundText:
    return InboundText("+12025550101", to, text, 0.0)


@pytest.mark.parametrize(
    ("text", "word"),
    [("hours?", "HOURS"), ("  Refill   now", "REFILL"), ("", ""), ("  ", ""), ("ok.", "OK")],
)
def test_the_keyword_is_the_first_word_without_trailing_punctuation(text: str, word: str) -> None:
    assert first_word(text) == word


def test_the_most_specific_rule_answers() -> None:
    every = AutoReply(1, "every text")
    keyword = AutoReply(2, "keyword", keyword="hours")
    numbered = AutoReply(3, "numbered", number=OURS)
    both = AutoReply(4, "both", number=OURS, keyword="HOURS")
    rules = [every, keyword, numbered, both]
    assert choose(rules, inbound("Hours please"), OURS) == both
    assert choose(rules, inbound("anything"), OURS) == numbered
    assert choose([every, keyword], inbound("hours"), OURS) == keyword
    assert choose([every, AutoReply(0, "older")], inbound("x"), OURS) == AutoReply(0, "older")


def test_a_rule_without_a_number_answers_for_the_broadcasts_own_number_only() -> None:
    every = AutoReply(1, "every text")
    short = AutoReply(2, "short code", number="67076")
    assert choose([every, short], inbound("hi", to="+12025559999"), OURS) is None
    assert choose([every, short], inbound("hi", to="67076"), OURS) == short
    assert choose([every, short], inbound("hi"), OURS) == every


@pytest.mark.parametrize("text", ["STOP", "stop", " Help ", "START", "unsubscribe"])
def test_opt_out_opt_in_and_help_keywords_never_get_an_auto_reply(text: str) -> None:
    assert choose([AutoReply(1, "every text")], inbound(text), OURS) is None


def test_a_keyword_followed_by_more_words_is_no_opt_out_and_may_be_answered() -> None:
    assert choose([AutoReply(1, "yes")], inbound("stop please"), OURS) == AutoReply(1, "yes")


@pytest.mark.parametrize(
    ("pattern", "text", "hit"),
    [
        (".*", "anything", True),
        ("", "anything", True),
        ("refill", "I need a REFILL", True),
        ("^refill$", "I need a refill", False),
        ("re-?fill", "re-fill please", True),
        ("hours|open", "when are you OPEN", True),
        ("hours", "thanks", False),
    ],
)
def test_match_is_a_case_insensitive_pattern_found_in_the_text(
    pattern: str, text: str, hit: bool
) -> None:
    rule = AutoReply(1, "m", match=pattern or None)
    assert (choose([rule], inbound(text), OURS) is not None) is hit


def test_a_keyword_written_with_punctuation_is_its_word() -> None:
    rule = AutoReply(1, "m", keyword="Hours?")
    assert choose([rule], inbound("HOURS please"), OURS) == rule
    assert choose([rule], inbound("hours."), OURS) == rule


def test_keyword_and_match_must_both_hold() -> None:
    rule = AutoReply(1, "m", keyword="order", match="[0-9]{5}")
    assert choose([rule], inbound("order 12345"), OURS) == rule
    assert choose([rule], inbound("order soon"), OURS) is None
    assert choose([rule], inbound("my order 12345"), OURS) is None


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "not a pattern RE2 takes"),
        ("(?=a)", "not a pattern RE2 takes"),
        ("(", "not a pattern RE2 takes"),
        ("a" * 201, "at most 200 characters"),
    ],
)
def test_patterns_re2_refuses_are_match_errors(pattern: str, reason: str) -> None:
    with pytest.raises(MatchError, match=reason):
        compile_match(pattern)


def test_a_pattern_that_backtracks_exponentially_elsewhere_runs_in_linear_time() -> None:
    """``(a+)+$`` on ``a…ab`` takes Python's ``re`` exponential time; RE2 answers at once."""
    rule = AutoReply(1, "m", match="(a+)+$")
    text = "a" * 10_000 + "b"
    t0 = time.perf_counter()
    assert choose([rule], inbound(text), OURS) is None
    assert time.perf_counter() - t0 < 1.0  # a bound, not a timing: re needs years here


def test_the_reply_substitutes_the_inbound_text_once() -> None:
    rule = AutoReply(1, "Echo - ${text.message}! (${text.fromNumber} → ${ text.toNumber }) ${x}")
    said = inbound("${text.fromNumber} hi")
    assert reply_text(rule, said) == "Echo - ${text.fromNumber} hi! (+12025550101 → +12025550000) "
