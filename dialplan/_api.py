"""The public functions behind ``dialplan.load``, ``dialplan.lint`` and ``dialplan.simulate``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .diagnostics import Diagnostic
from .lint.config import LintConfig
from .lint.linter import lint_source
from .model import Plan
from .validate import validate

if TYPE_CHECKING:
    from .engine.result import CallResult

Source = str | bytes | os.PathLike[str]


def load(src: Source | Plan, name: str | None = None) -> Plan:
    """Parse, validate and model a dialplan; raise :class:`InvalidDialplan` if it has errors.

    ``src`` is a path, XML text or XML bytes (a :class:`Plan` is returned as it is). The errors
    are those of the validation stage (:func:`dialplan.validate.validate`).
    """
    if isinstance(src, Plan):
        return src
    return validate(src, name)


def lint(
    src: Source, name: str | None = None, config: LintConfig | None = None
) -> list[Diagnostic]:
    """Every finding for one dialplan (path, text or bytes), sorted by position."""
    return lint_source(src, name, config)


def simulate(plan: Source | Plan, **options: Any) -> CallResult:
    """Play one call through the engine with the simulated driver (see ``dialplan.engine``)."""
    run = _simulate[0] if _simulate else _import_simulate()
    return run(plan if type(plan) is Plan else load(plan), **options)


#: ``drivers.simulate.simulate``, imported on first use (``import dialplan`` stays light)
_simulate: list[Callable[..., CallResult]] = []


def _import_simulate() -> Callable[..., CallResult]:
    from .drivers.simulate import simulate as run

    _simulate.append(run)
    return run
