"""``@record`` events and effects keep the behaviour of frozen slotted dataclasses."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle

import pytest

from dialplan.engine import effects as fx
from dialplan.engine import events as ev
from dialplan.engine.result import effect_to_dict


def test_fields_defaults_and_repr() -> None:
    play = fx.Play(3, "tts", "Hello", node="dialplan/play[1]")
    assert [f.name for f in dataclasses.fields(play)] == [
        "play_id",
        "kind",
        "value",
        "voice",
        "cache",
        "barge_in",
        "node",
    ]
    assert repr(play) == (
        "Play(play_id=3, kind='tts', value='Hello', voice=None, cache=True, "
        "barge_in=False, node='dialplan/play[1]')"
    )
    assert type(play) is fx.Play and dataclasses.is_dataclass(play)
    assert fx.Play.__match_args__ == (
        "play_id",
        "kind",
        "value",
        "voice",
        "cache",
        "barge_in",
        "node",
    )
    assert list(inspect.signature(fx.Play).parameters)[:3] == ["play_id", "kind", "value"]


def test_immutable() -> None:
    event = ev.DigitPressed("5")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.key = "6"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del event.key  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.other = 1  # type: ignore[attr-defined]
    assert not hasattr(event, "__dict__")  # slots only
    assert event.key == "5"


def test_equality_and_hash_by_class_and_fields() -> None:
    assert ev.PlaybackDone(1) == ev.PlaybackDone(1)
    assert ev.PlaybackDone(1) != ev.PlaybackDone(2)
    assert ev.PlaybackDone(1) != ev.PauseDone(1)  # same fields, other class
    assert hash(ev.PlaybackDone(1)) == hash(ev.PlaybackDone(1)) == hash((1,))
    assert len({fx.StopPlayback(1), fx.StopPlayback(1), fx.StopCollecting(1)}) == 2


def test_default_factory_copy_pickle_replace() -> None:
    a, b = fx.CallEnded("hangup"), fx.CallEnded("hangup")
    assert a.extra == {} and a.extra is not b.extra
    assert pickle.loads(pickle.dumps(fx.Transfer(("1", "2")))) == fx.Transfer(("1", "2"))
    assert copy.deepcopy(a) == a and copy.copy(a) == a
    assert dataclasses.replace(a, error="x") == fx.CallEnded("hangup", "x")
    assert fx.CallEnded("error", extra={"k": "v"}).extra == {"k": "v"}
    assert fx.Log(message="m", level="info") == fx.Log("info", "m", "")
    with pytest.raises(TypeError):
        fx.Log("info")  # type: ignore[call-arg]
    assert effect_to_dict(fx.Transfer(("1",), callerid="9")) == {
        "type": "Transfer",
        "numbers": ["1"],
        "mode": "ringall",
        "callerid": "9",
        "timeout_s": 30,
        "musiconhold": "ringing",
        "whisper": None,
        "continue_after": False,
    }


def test_pattern_matching() -> None:
    match ev.HttpDone(4, 200, "ok"):
        case ev.HttpDone(request_id, status, body):
            assert (request_id, status, body) == (4, 200, "ok")
        case _:
            pytest.fail("no match")
