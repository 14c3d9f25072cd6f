"""The JSON Schema of Callr scenarios, derived from the action table (one source).

The shipped copy is ``dialplan/data/schemas/callr-scenario.schema.json`` (for editors, e.g. the
YAML language server's ``# yaml-language-server: $schema=…``); regenerate it with
``python -m dialplan.callr.jsonschema > dialplan/data/schemas/callr-scenario.schema.json`` and
review the diff. A test checks that the shipped file equals this function's output.
"""

from __future__ import annotations

import json
from typing import Any

from .actions import ACTIONS, Param

_EXPR = {"type": "string", "pattern": r"^\s*\$\{\{.*\}\}\s*$"}
_KINDS: dict[str, dict[str, Any]] = {
    "text": {"type": ["string", "number"]},
    "code": {"type": "string"},
    "number": {"anyOf": [{"type": "integer"}, _EXPR]},
    "variable": {"type": "string", "pattern": r"^\$[A-Za-z_][A-Za-z0-9_]*$"},
    "map": {"type": "object"},
    "list": {"type": "array"},
}


def _params(params: dict[str, Param]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: _KINDS[p.kind] for name, p in params.items()},
        "required": [name for name, p in params.items() if p.required],
        "additionalProperties": False,
    }


def scenario_schema() -> dict[str, Any]:
    """The schema as a JSON value."""
    actions = []
    for name, action in ACTIONS.items():
        if not action.supported:
            continue
        item: dict[str, Any] = {
            "properties": {"action": {"const": name}, "params": _params(action.params)},
        }
        if any(p.required for p in action.params.values()):
            item["required"] = ["params"]
        actions.append({"if": {"properties": {"action": {"const": name}}, "required": ["action"]},
                        "then": item})  # fmt: skip
    item_ref = {"$ref": "#/$defs/item"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://dialplan.invalid/schemas/callr-scenario.schema.json",
        "title": "Callr Actions scenario (as run by dialplan)",
        "type": "object",
        "properties": {
            "dialplan": {"const": "yaml"},
            "description": {"type": "string"},
            "compat": {"type": "object"},
            "defaults": {"type": "object", "properties": {"language": {"type": "string"}}},
            "variables": {
                "type": "object",
                "propertyNames": {"pattern": r"^\$[A-Za-z_][A-Za-z0-9_]*$"},
            },
            "branches": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {
                    "type": "object",
                    "properties": {"actions": {"type": "array", "items": item_ref}},
                },
            },
        },
        "required": ["branches"],
        "$defs": {
            "item": {
                "type": "object",
                "properties": {
                    "action": {"enum": [n for n, a in ACTIONS.items() if a.supported]},
                    "params": {"type": "object"},
                    "label": {"type": "string"},
                    "if": {"type": ["string", "boolean"]},
                    "then": {"type": "array", "items": item_ref},
                    "else": {"type": "array", "items": item_ref},
                    "goto": {
                        "type": "object",
                        "properties": {"label": {"type": "string"}, "branch": {"type": "string"}},
                        "minProperties": 1,
                        "additionalProperties": False,
                    },
                },
                "additionalProperties": False,
                "anyOf": [
                    {"required": ["action"]},
                    {"required": ["goto"]},
                    {"required": ["if"]},
                ],
                "allOf": actions,
            }
        },
    }


def schema_text() -> str:
    return json.dumps(scenario_schema(), indent=2) + "\n"


if __name__ == "__main__":  # pragma: no cover - the regeneration command
    print(schema_text(), end="")
