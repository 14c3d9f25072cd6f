"""Property tests: random scripts and raw event sequences on random corpus dialplans never
raise, always end within the step limit, and the same script always gives the same result."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialplan.drivers.simulate import simulate
from dialplan.engine import events as ev
from dialplan.engine.context import CallContext
from dialplan.engine.session import CallSession
from dialplan.expr.js import JsError, JsSandbox, literal_condition, literal_value
from dialplan.model import Plan, build_plan
from dialplan.parse import parse, read_source
from tests.conftest import corpus_files

FILES = corpus_files()
ENDINGS = {"hangup", "transfer", "caller_hangup", "error"}
MAX_STEPS = 400

needs_corpus = pytest.mark.skipif(not FILES, reason="../shared/corpus is not available")


@cache
def plan(index: int) -> Plan:
    return build_plan(parse(read_source(FILES[index])))


keys = st.text(alphabet="0123456789*#", min_size=1, max_size=12)
script_item = st.one_of(
    st.sampled_from(["1", "2", "3", "5", "9", "0", "#", "timeout", "hangup", "5551234567#"]),
    keys,
)
scripts = st.lists(script_item, max_size=12)


@needs_corpus
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0, max_value=max(len(FILES) - 1, 0)),
    amd=st.sampled_from(["live", "machine"]),
    inputs=scripts,
    transfer=st.sampled_from(["answered", "no_answer", "busy", "failed"]),
)
def test_random_scripts_end_cleanly_and_deterministically(
    index: int, amd: str, inputs: list[str], transfer: str
) -> None:
    p = plan(index)
    first = simulate(p, amd=amd, inputs=inputs, transfer=transfer, max_steps=MAX_STEPS)
    assert first.outcome in ENDINGS
    assert first.steps <= MAX_STEPS + 1
    assert (first.error is not None) == (first.outcome == "error")
    second = simulate(p, amd=amd, inputs=inputs, transfer=transfer, max_steps=MAX_STEPS)
    assert first.to_dict() == second.to_dict()


def raw_event() -> st.SearchStrategy[ev.Event]:
    ids = st.integers(min_value=0, max_value=12)
    return st.one_of(
        st.builds(ev.PlaybackDone, ids),
        st.builds(ev.DigitPressed, st.sampled_from(list("0123456789*#"))),
        st.builds(ev.InputTimeout, ids),
        st.builds(ev.TransferDone, st.sampled_from(["answered", "no_answer", "busy", "failed"])),
        st.builds(ev.RecordingDone, ids, st.just("http://127.0.0.1/r.mp3")),
        st.builds(ev.HttpDone, ids, st.sampled_from([None, 200, 404]), st.just("body")),
        st.builds(ev.PauseDone, ids),
        st.just(ev.CallerHangup()),
        st.builds(ev.Answered, st.sampled_from(["live", "machine"])),
    )


@needs_corpus
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0, max_value=max(len(FILES) - 1, 0)),
    first=st.sampled_from(["live", "machine"]),
    events=st.lists(raw_event(), max_size=40),
)
def test_random_raw_event_sequences_never_raise(
    index: int, first: str, events: list[ev.Event]
) -> None:
    def run() -> dict[str, object]:
        s = CallSession(plan(index), CallContext(max_steps=MAX_STEPS))
        s.start(0.0)
        s.send(ev.Answered(first), 0.0)  # type: ignore[arg-type]
        for t, event in enumerate(events, 1):
            s.send(event, float(t))
            assert s.result.steps <= MAX_STEPS + 1
        s.send(ev.CallerHangup(), float(len(events) + 1))
        assert s.done  # a caller hang-up always ends the call (hangup catches run without line)
        assert s.result.outcome in ENDINGS
        return s.result.to_dict()

    assert run() == run()


arithmetic = st.builds(
    lambda a, op, b, pad, semi: f"{a}{pad}{op}{pad}{b}{semi}",
    st.one_of(st.integers(0, 10**16), st.sampled_from(["00", "01", "-1", "1.5"])),
    st.sampled_from(["+", "-", "*", "==", "===", "!=", "!==", "<", "<=", ">", ">=", "--"]),
    st.one_of(st.integers(0, 10**16), st.sampled_from(["0", "-2", "007"])),
    st.sampled_from(["", " ", "  "]),
    st.sampled_from(["", ";", " ;"]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="abcXYZ019_ .-'\"+", max_size=12),
        st.from_regex(r"-?[0-9]{1,17}(\.[0-9]{1,9})?", fullmatch=True),
        st.from_regex(r"-?[0-9]\.[0-9]{1,4}", fullmatch=True),
        st.sampled_from(["Yes", "Homer Simpson", "toString", "NaN", "let x", "typeof a", "in"]),
        arithmetic,
    )
)
def test_literal_fast_path_equals_evaluating(text: str) -> None:
    """Spec §5.3 by the engine itself (evaluate, fall back to the text) in a fresh context."""
    stripped = text.strip()
    known = literal_value(stripped, True)
    if known is None or not stripped:
        return
    try:
        real = JsSandbox().evaluate(stripped)
    except JsError:
        real = stripped
    assert known == real


@settings(max_examples=200, deadline=None)
@given(st.one_of(arithmetic, st.from_regex(r"-?[0-9]{1,17}(\.[0-9]{1,9})?", fullmatch=True)))
def test_literal_condition_equals_javascript_truthiness(text: str) -> None:
    known = literal_condition(text.strip())
    if known is None:
        return
    try:
        real = JsSandbox().evaluate(f"!!({text.strip().rstrip(';')})")
    except JsError:
        raise AssertionError(f"{text!r} does not evaluate but the fast path says {known}") from None
    assert known == (real == "true")
