"""The SQLite store implements every store interface (the contract a PostgreSQL backend
follows): each protocol method exists on it with the same parameters."""

from __future__ import annotations

import inspect

import pytest

from dialplan.broadcast.store.interfaces import INTERFACES, CampaignDatabase
from dialplan.broadcast.store.sqlite import Store


def _members(protocol: type) -> dict[str, inspect.Signature]:
    out = {}
    for klass in protocol.__mro__:
        if klass is object or not getattr(klass, "_is_protocol", False):
            continue
        for name, value in vars(klass).items():
            if callable(value) and not name.startswith("_"):
                out.setdefault(name, inspect.signature(value))
    return out


@pytest.mark.parametrize("protocol", [*INTERFACES, CampaignDatabase], ids=lambda p: p.__name__)
def test_sqlite_store_implements(protocol: type) -> None:
    members = _members(protocol)
    assert members
    for name, expected in members.items():
        method = getattr(Store, name, None)
        assert method is not None, f"Store lacks {protocol.__name__}.{name}"
        got = inspect.signature(method)
        assert list(got.parameters) == list(expected.parameters), name


def test_the_runner_uses_the_interfaces_only() -> None:
    """runners/ and scheduler/ never import the SQLite module's internals beyond ``Store``."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "dialplan" / "broadcast"
    for path in [*(root / "runners").glob("*.py"), *(root / "scheduler").glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        assert "sqlite3" not in text and "execute(" not in text, path.name
