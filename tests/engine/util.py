"""Helpers for engine tests: plans built straight from the model, so deliberately broken
dialplans (endless loops, which lint rejects) still reach the engine."""

from __future__ import annotations

from dialplan.model import Plan, build_plan
from dialplan.parse import parse, read_source


def plan_of(xml: str) -> Plan:
    return build_plan(parse(read_source(xml)))
