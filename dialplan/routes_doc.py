"""The JSON document of ``dialplan paths --format json`` (shared by the CLI and the service)."""

from __future__ import annotations

from typing import Any

from .model.paths import MAX_STEPS, Routes

#: ``max_loops`` ceiling: the number of routes grows fast with it (loops combine)
MAX_LOOPS = 10


def routes_document(found: Routes, file: str) -> dict[str, Any]:
    """Every route of ``found`` as plain data; ``file`` names the plan in the replay commands."""
    return {
        "file": file,
        "max_loops": found.max_loops,
        "truncated": found.truncated,
        "max_steps": MAX_STEPS,
        "size_limited": found.size_limited,
        "routes": [
            {
                "id": i,
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
                "simulate": ["dialplan", "simulate", file, *route.simulate_args()],
            }
            for i, route in enumerate(found.routes, 1)
        ],
    }
