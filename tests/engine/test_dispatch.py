"""The dispatch tables that replace exhaustive ``match`` statements cover every type."""

from __future__ import annotations

from typing import get_args

from dialplan.drivers.sim import REACTIONS
from dialplan.engine import effects as fx
from dialplan.engine import events as ev
from dialplan.engine.session import ROUTES


def test_the_session_routes_every_event_type() -> None:
    assert set(ROUTES) == set(get_args(ev.Event))


def test_the_simulated_driver_reacts_to_every_effect_type() -> None:
    assert set(REACTIONS) == set(get_args(fx.Effect))
