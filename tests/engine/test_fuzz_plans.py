"""Property test over generated dialplans (not only the corpus): any structurally valid plan,
including ones lint would reject (endless loops, dead gotos), runs to an end without raising."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialplan.drivers.simulate import simulate
from tests.engine.util import plan_of

NAMES = ["a", "b", "c", "d"]
ENDINGS = {"hangup", "transfer", "caller_hangup", "error"}


def leaf() -> st.SearchStrategy[str]:
    name = st.sampled_from(["", *(f' name="{n}"' for n in NAMES)])
    return st.one_of(
        st.builds(lambda n: f'<play type="tts"{n}>Hi ${{x}} ${{call.lastinput}}</play>', name),
        st.builds(lambda n: f"<goto{n}>{{}}</goto>", name).flatmap(
            lambda t: st.sampled_from(NAMES).map(t.format)
        ),
        st.builds(
            lambda n, v: f'<setvar varname="x"{n}>{v}</setvar>',
            name,
            st.sampled_from(["${x}+1", "1", "'a'", "Homer Simpson", "${x} * 2"]),
        ),
        st.builds(lambda n: f'<stash varname="q${{x}}"{n}>${{x}}</stash>', name),
        st.just("<hangup/>"),
        st.just('<transfer mode="waterfall">2135551212,3105551212</transfer>'),
        st.just('<record varname="r"/>'),
        st.just('<get varname="g">http://127.0.0.1/${x}</get>'),
        st.just('<sms to="2135551212">hi</sms>'),
        st.just("<dnc>${call.phonenumber}</dnc>"),
        st.just("<wait>1</wait>"),
    )


def block(children: st.SearchStrategy[list[str]]) -> st.SearchStrategy[str]:
    body = children.map("".join)
    name = st.sampled_from(["", *(f' name="{n}"' for n in NAMES)])
    keys = st.lists(st.sampled_from(["1", "2", "1-3", "default", "timeout", "#", "12"]),
                    unique=True, max_size=3)  # fmt: skip
    return st.one_of(
        st.builds(
            lambda n, ks, b, m: (
                f'<menu{n} maxDigits="{m}" timeout="2"><play type="tts">q</play>'
                + "".join(f'<keypress pressed="{k}">{b}</keypress>' for k in ks)
                + "</menu>"
            ),
            name,
            keys,
            body,
            st.integers(1, 3),
        ),
        st.builds(lambda b, c: f"<amd><live>{b}</live><machine>{c}</machine></amd>", body, body),
        st.builds(lambda b, c: f'<if expr="${{x}} &gt; 2">{b}<else>{c}</else></if>', body, body),
        st.builds(lambda b: f'<equal var="${{x}}" expr="1">{b}</equal>', body),
        st.builds(
            lambda b, v: f'<catch type="digit" value="{v}" goto="a">{b}</catch>',
            body,
            st.sampled_from(["1", "*"]),
        ),
        st.builds(lambda b: f'<catch type="hangup" goto="b">{b}</catch>', body),
    )


tags = st.recursive(leaf(), lambda inner: block(st.lists(inner, max_size=3)), max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.lists(tags, min_size=1, max_size=5),
    inputs=st.lists(
        st.sampled_from(["1", "2", "12#", "#", "*", "timeout", "hangup", "3"]), max_size=8
    ),
    amd=st.sampled_from(["live", "machine"]),
    transfer=st.sampled_from(["answered", "no_answer", "busy"]),
)
def test_generated_plans_always_end(
    body: list[str], inputs: list[str], amd: str, transfer: str
) -> None:
    xml = '<dialplan name="root">' + "".join(body) + "</dialplan>"
    plan = plan_of(xml)
    result = simulate(plan, inputs=inputs, amd=amd, transfer=transfer, max_steps=300)
    assert result.outcome in ENDINGS, xml
    assert result.steps <= 301
    again = simulate(plan, inputs=inputs, amd=amd, transfer=transfer, max_steps=300)
    assert again.to_dict() == result.to_dict()
