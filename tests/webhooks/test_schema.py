"""The published JSON Schema of webhook bodies matches what the builders produce, and rejects the rest."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialplan.broadcast import webhooks as wh

SCHEMA = json.loads(
    resources.files("dialplan")
    .joinpath("data/schemas/webhook-event.schema.json")
    .read_text(encoding="utf-8")
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

text = st.text(min_size=1, max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
custom = st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=4)
when = st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False)
answered = st.none() | st.sampled_from(["HUMAN", "MACHINE"])
optional_text = st.none() | text


def leg_kwargs() -> dict[str, Any]:
    return {
        "event_id": text,
        "broadcast_id": text,
        "voice_id": text,
        "to": text,
        "timestamp": when,
        "custom_data": custom,
        "from_": optional_text,
    }


bodies = st.one_of(
    st.builds(wh.ringing, channel_id=optional_text, **leg_kwargs()),
    st.builds(wh.connected, call_answered_by=answered, **leg_kwargs()),
    st.builds(
        wh.playstate,
        playstate=st.sampled_from(["initiated", "playfinished"]),
        prompt_ref=text,
        prompt_name=optional_text,
        **leg_kwargs(),
    ),
    st.builds(
        wh.disconnected,
        call_duration=st.floats(min_value=0, max_value=1e6, allow_nan=False),
        disconnect_reason=text,
        disconnect_cause_code=st.integers(0, 127),
        call_answered_by=answered,
        call_result=optional_text,
        **leg_kwargs(),
    ),
    st.builds(
        wh.broadcastcall_complete,
        event_id=text,
        broadcast_id=text,
        timestamp=when,
        custom_data=custom,
        broadcast_call_info=st.lists(
            st.builds(
                wh.CallInfo,
                voice_id=text,
                to=text,
                call_duration=st.floats(min_value=0, max_value=1e5, allow_nan=False),
                call_state=st.text(max_size=10),
                disconnect_reason=st.text(max_size=10),
                disconnect_reason_code=st.integers(0, 127),
                call_answered_by=answered,
                call_result=optional_text,
            ),
            max_size=3,
        ),
        call_blacklisted=st.lists(text, max_size=2),
        country_not_allowed=st.lists(text, max_size=2),
    ),
)


@settings(max_examples=60, deadline=None)
@given(bodies)
def test_every_builder_output_matches_the_schema(body: bytes) -> None:
    VALIDATOR.validate(json.loads(body))


def good() -> dict[str, Any]:
    return json.loads(
        wh.disconnected(
            event_id="e",
            broadcast_id="b",
            voice_id="v",
            to="1",
            timestamp=0,
            call_duration=1.5,
            disconnect_reason="Normal Clearing",
            disconnect_cause_code=16,
        )
    )


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("event_id"),
        lambda b: b.pop("disconnect_cause_code"),
        lambda b: b.update(event="hangup"),
        lambda b: b.update(event="ringing"),  # ringing has no call_duration
        lambda b: b.update(timestamp="2026-04-08 15:24:10"),
        lambda b: b.update(call_answered_by="human"),
        lambda b: b.update(disconnect_cause_code=200),
        lambda b: b.update(unexpected=1),
        lambda b: b.update(custom_data=[1]),
        lambda b: b.update(state="ringing"),  # state mirrors event
    ],
)
def test_schema_rejects_bodies_outside_the_contract(mutate: Any) -> None:
    body = good()
    VALIDATOR.validate(body)
    mutate(body)
    assert not VALIDATOR.is_valid(body)


def test_complete_event_must_not_carry_a_leg() -> None:
    body = json.loads(
        wh.broadcastcall_complete(
            event_id="e", broadcast_id="b", timestamp=0, broadcast_call_info=[]
        )
    )
    VALIDATOR.validate(body)
    body["voice_id"] = "v"
    assert not VALIDATOR.is_valid(body)
