"""Call tests: scenario files (TOML) of simulated calls with expectations, and branch coverage.

``dialplan test`` is the command-line front end; the format is in docs/testing-dialplans.md.
"""

from .scenarios import (
    Branch,
    Coverage,
    coverage,
    read_scenario,
    run_case,
    scenario_from_dict,
)

__all__ = [
    "Branch",
    "Coverage",
    "coverage",
    "read_scenario",
    "run_case",
    "scenario_from_dict",
]
