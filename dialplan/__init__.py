"""dialplan: validate, simulate and run CallFire-style XML IVR dialplans and voice broadcasts.

Public API::

    plan = dialplan.load("survey.xml")          # Plan, or raises InvalidDialplan
    problems = dialplan.lint("survey.xml")      # list[Diagnostic]
    result = dialplan.simulate(plan, amd="live", inputs=["1"])
"""

from __future__ import annotations

from ._api import lint, load, simulate
from ._version import __version__
from .diagnostics import Diagnostic, Location, Severity
from .errors import (
    CampaignError,
    DialplanError,
    InvalidDialplan,
    UsageError,
)
from .model import Plan

__all__ = [
    "CampaignError",
    "Diagnostic",
    "DialplanError",
    "InvalidDialplan",
    "Location",
    "Plan",
    "Severity",
    "UsageError",
    "__version__",
    "lint",
    "load",
    "simulate",
]
