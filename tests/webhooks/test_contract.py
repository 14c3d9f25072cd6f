"""The JSON Schema is the one source of the webhook body contract: whatever a builder accepts, the
schema accepts; whatever the schema rejects in a field, the builder refuses with ``ValueError``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialplan.broadcast import webhooks as wh

from .test_schema import SCHEMA, VALIDATOR

#: any JSON-like value a caller might pass for one field
anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["HUMAN", "MACHINE", "human", "initiated", "playfinished", ""]),
    st.lists(st.integers(), max_size=2),
)
LEG = {"event_id": "e", "broadcast_id": "b", "voice_id": "v", "to": "1", "timestamp": 0}
BUILDERS: dict[str, tuple[Any, dict[str, Any]]] = {
    "ringing": (wh.ringing, {}),
    "connected": (wh.connected, {}),
    "playstate": (wh.playstate, {"playstate": "initiated", "prompt_ref": "p"}),
    "disconnected": (
        wh.disconnected,
        {"call_duration": 1, "disconnect_reason": "Normal", "disconnect_cause_code": 16},
    ),
}
#: (event, keyword argument) → every field a caller sets
FIELDS = [
    ("ringing", "event_id"),
    ("ringing", "broadcast_id"),
    ("ringing", "voice_id"),
    ("ringing", "to"),
    ("ringing", "from_"),
    ("ringing", "channel_id"),
    ("connected", "call_answered_by"),
    ("playstate", "playstate"),
    ("playstate", "prompt_ref"),
    ("playstate", "prompt_name"),
    ("disconnected", "call_duration"),
    ("disconnected", "disconnect_reason"),
    ("disconnected", "disconnect_cause_code"),
    ("disconnected", "call_answered_by"),
    ("disconnected", "call_result"),
]
#: CallInfo field → its key on the wire (EnableX spelling)
WIRE = {
    "voice_id": "voice_id",
    "to": "to",
    "call_duration": "callDuration",
    "call_state": "callState",
    "disconnect_reason": "disconnectReason",
    "disconnect_reason_code": "disconnectReasonCode",
    "call_answered_by": "call_answered_by",
    "call_result": "callResult",
}
CALL_INFO = {
    "voice_id": "v",
    "to": "1",
    "call_duration": 1,
    "call_state": "completed",
    "disconnect_reason": "Normal",
    "disconnect_reason_code": 16,
}


def _built(build: Any) -> dict[str, Any] | None:
    try:
        return json.loads(build())
    except ValueError:
        return None


@pytest.mark.parametrize(("event", "name"), FIELDS)
@settings(max_examples=40, deadline=None)
@given(value=anything)
def test_a_leg_event_field_is_refused_exactly_when_the_schema_refuses_it(
    event: str, name: str, value: Any
) -> None:
    builder, extra = BUILDERS[event]
    body = _built(lambda: builder(**{**LEG, **extra, name: value}))
    if body is not None:
        VALIDATOR.validate(body)  # accepted by the builder → valid for the schema
    elif value is not None:  # refused: the schema refuses the value in that field too
        good = json.loads(builder(**LEG, **extra))
        good[name.rstrip("_")] = value
        assert not _valid(good) or _integral_float(value), (name, value)


@pytest.mark.parametrize("name", sorted(WIRE))
@settings(max_examples=40, deadline=None)
@given(value=anything)
def test_a_call_info_field_is_refused_exactly_when_the_schema_refuses_it(
    name: str, value: Any
) -> None:
    def build(**fields: Any) -> bytes:
        info = wh.CallInfo(**{**CALL_INFO, **fields})
        return wh.broadcastcall_complete(
            event_id="e", broadcast_id="b", timestamp=0, broadcast_call_info=[info]
        )

    body = _built(lambda: build(**{name: value}))
    if body is not None:
        VALIDATOR.validate(body)
    elif value is not None:
        good = json.loads(build())
        good["broadcast_call_info"][0][WIRE[name]] = value
        assert not _valid(good) or _integral_float(value), (name, value)


def _integral_float(value: Any) -> bool:
    """``16.0``: an integer to JSON Schema, refused by the builders, which write integers as such."""
    return isinstance(value, float) and value.is_integer()


def _valid(body: dict[str, Any]) -> bool:
    try:
        json.dumps(body, allow_nan=False)
    except ValueError:
        return False  # NaN and infinities have no JSON spelling
    return VALIDATOR.is_valid(body)


def test_the_published_enumerations_are_the_builders() -> None:
    assert tuple(SCHEMA["properties"]["event"]["enum"]) == wh.EVENTS
    assert tuple(SCHEMA["$defs"]["answeredBy"]["enum"]) == wh.ANSWERED_BY
