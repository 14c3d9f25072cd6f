"""The JSON document of ``dialplan paths --format json`` (shared by the CLI and the service)."""

from __future__ import annotations

from typing import Any

from .model.paths import Route
from .replay import TakenRoutes

#: ``max_loops`` ceiling: the number of routes grows fast with it (loops combine)
MAX_LOOPS = 10


def routes_document(found: TakenRoutes, file: str) -> dict[str, Any]:
    """Every route of ``found`` as plain data; ``file`` names the plan in the replay commands."""
    return {
        "file": file,
        "max_loops": found.max_loops,
        "truncated": found.truncated,
        "max_steps": found.max_steps,
        "size_limited": found.size_limited,
        "routes": [
            {
                "id": i,
                **_route(taken.route),
                "simulate": ["dialplan", "simulate", file, *taken.replay.args()],
            }
            for i, taken in enumerate(found.routes, 1)
        ],
        "left_out": [_route(route) for route in found.left_out],
        "left_out_untried": found.untried,
    }


def _route(route: Route) -> dict[str, Any]:
    return {
        "ending": route.ending,
        "end": {
            "line": route.end_loc.line,
            "column": route.end_loc.column,
            "tag": route.end_what,
        },
        "amd": route.amd,
        "transfer": route.transfer,
        "inputs": list(route.inputs),
        "assumptions": list(route.assumptions),
        "steps": [
            {
                "kind": s.kind,
                "node_index": s.node_index,
                "label": s.label,
                "value": s.value,
                "line": s.loc.line,
                "tag": s.what,
            }
            for s in route.steps
        ],
    }
