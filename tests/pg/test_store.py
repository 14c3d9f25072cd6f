"""The PostgreSQL store answers the store interfaces the commands use, method by method (the
attempt-booking half of the queue is the workers' primitives instead)."""

from __future__ import annotations

import inspect

import pytest

from dialplan.broadcast.pg.store import PgStore
from dialplan.broadcast.store.interfaces import Campaigns, RecipientQueue, Reporting

#: booked by the workers' primitives (dp_start, dp_finish, dp_reap), not through the store
WORKER_PRIMITIVES = {
    "pending",
    "record_attempts",
    "record_responses",
    "update_recipients",
    "add_in_flight",
    "in_flight",
    "remove_in_flight",
}


def _members(protocol: type) -> dict[str, inspect.Signature]:
    out = {}
    for klass in protocol.__mro__:
        if klass is object or not getattr(klass, "_is_protocol", False):
            continue
        for name, value in vars(klass).items():
            if callable(value) and not name.startswith("_"):
                out.setdefault(name, inspect.signature(value))
    return out


@pytest.mark.parametrize("protocol", [Campaigns, RecipientQueue, Reporting], ids=str)
def test_the_postgresql_store_implements(protocol: type) -> None:
    members = _members(protocol)
    assert members
    for name, expected in members.items():
        if name in WORKER_PRIMITIVES:
            continue
        method = getattr(PgStore, name, None)
        assert method is not None, f"PgStore lacks {protocol.__name__}.{name}"
        assert list(inspect.signature(method).parameters) == list(expected.parameters), name
