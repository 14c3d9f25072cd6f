"""The webhook body contract, read from its one source: ``data/schemas/webhook-event.schema.json``.

The builders in :mod:`dialplan.broadcast.webhooks.delivery` check each field they are given against that
field's subschema here, so the published schema and the checks cannot drift apart. Only the
keywords the schema's fields use are understood (``$ref`` to ``$defs``, ``type``, ``enum``,
``const``, ``minLength``, ``minimum``, ``maximum``, ``pattern``); the whole-body rules (which
fields each event carries) are the builders' shape, checked against the schema by the tests.
Integers must be Python ``int`` (a body never writes ``16.0`` for a cause code).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any, Final

SCHEMA: Final[Mapping[str, Any]] = json.loads(
    resources.files("dialplan")
    .joinpath("data/schemas/webhook-event.schema.json")
    .read_text(encoding="utf-8")
)
_DEFS: Final[Mapping[str, Any]] = SCHEMA["$defs"]
_BRANCHES: Final[dict[str, Mapping[str, Any]]] = {
    branch["properties"]["event"]["const"]: branch for branch in SCHEMA["oneOf"]
}

#: every event name, in the schema's order
EVENTS: Final = tuple(SCHEMA["properties"]["event"]["enum"])


def resolve(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """``spec`` with a ``$ref`` to ``$defs`` followed."""
    ref = spec.get("$ref")
    if ref is None:
        return spec
    prefix = "#/$defs/"
    if not ref.startswith(prefix):
        raise ValueError(f"unsupported $ref {ref!r} in the webhook schema")
    return resolve(_DEFS[ref[len(prefix) :]])


def field(event: str, key: str, *inner: str) -> Mapping[str, Any]:
    """The subschema of body field ``key`` in an ``event`` body, or of a part of it.

    ``inner`` walks into the field: ``"items"`` for a list's items, a name for an object's
    property (``field("broadcastcall_complete", "broadcast_call_info", "items", "to")``).
    """
    own = _BRANCHES[event].get("properties", {})
    spec = own.get(key) or SCHEMA["properties"].get(key)
    if spec is None:
        raise KeyError(f"{event} bodies have no field {key!r}")
    spec = resolve(spec)
    for step in inner:
        spec = resolve(spec["items"] if step == "items" else spec["properties"][step])
    return spec


def allowed(event: str, key: str) -> tuple[Any, ...]:
    """The values an enumerated field allows."""
    return tuple(field(event, key)["enum"])


_TYPES: Final = {
    "string": "a string",
    "number": "a finite number",
    "integer": "an integer",
    "object": "an object",
    "array": "a list",
    "boolean": "true or false",
}


def _describe(spec: Mapping[str, Any]) -> str:
    if "description" in spec:
        return str(spec["description"])
    if "enum" in spec:
        return f"one of {tuple(spec['enum'])}"
    if "const" in spec:
        return repr(spec["const"])
    kind = spec.get("type")
    if kind == "string" and spec.get("minLength") == 1:
        return "a non-empty string"
    what = _TYPES.get(str(kind), "a value")
    if "minimum" in spec and "maximum" in spec:
        return f"{what} from {spec['minimum']} to {spec['maximum']}"
    if "minimum" in spec:
        return f"{what} >= {spec['minimum']}"
    return what


def _type_ok(kind: str | None, value: Any) -> bool:
    if kind is None:
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return number and math.isfinite(value)
    if kind == "object":
        return isinstance(value, Mapping)
    if kind == "array":
        return isinstance(value, list | tuple)
    if kind == "boolean":
        return isinstance(value, bool)
    raise ValueError(f"unsupported type {kind!r} in the webhook schema")


def conforms(value: Any, spec: Mapping[str, Any]) -> bool:
    """Whether ``value`` satisfies the field subschema ``spec``."""
    if "enum" in spec:
        return any(value == v and type(value) is type(v) for v in spec["enum"])
    if "const" in spec:
        return bool(value == spec["const"])
    if not _type_ok(spec.get("type"), value):
        return False
    if "minLength" in spec and len(value) < spec["minLength"]:
        return False
    if "minimum" in spec and value < spec["minimum"]:
        return False
    if "maximum" in spec and value > spec["maximum"]:
        return False
    return not ("pattern" in spec and re.search(spec["pattern"], value) is None)


def check(value: Any, spec: Mapping[str, Any], name: str) -> Any:
    """``value`` itself if it satisfies ``spec``; else ``ValueError`` naming ``name``."""
    if not conforms(value, spec):
        raise ValueError(f"{name} must be {_describe(spec)}, got {value!r}")
    return value
