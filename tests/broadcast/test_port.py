"""The telephony port's drivers dispatch every engine effect (none is dropped silently)."""

from __future__ import annotations


def test_both_drivers_name_every_engine_effect() -> None:
    """Exhaustive dispatch: the simulated driver lists every effect type (its REACTIONS table) and the
    SIP driver's ``match`` names every one (``assert_never`` for the rest, checked by mypy)."""
    import ast
    from pathlib import Path
    from typing import get_args

    from dialplan.drivers import sim
    from dialplan.engine import effects as fx

    every = set(get_args(fx.Effect))
    assert set(sim.REACTIONS) == every
    source = (Path(sim.__file__).parent / "sip" / "driver.py").read_text(encoding="utf-8")
    named = {
        node.cls.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.MatchClass) and isinstance(node.cls, ast.Attribute)
    }
    assert named == {t.__name__ for t in every}
    assert "assert_never(effect)" in source
