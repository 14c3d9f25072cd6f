"""What a simulated call warns about (``dialplan simulate`` and the service's simulate): script inputs the call never used and contact fields
the plan reads that were not given (or given empty)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..engine.effects import CollectDigits
from ..engine.result import CallResult
from ..expr.template import lenient
from ..model import Plan, RunVars


def contact_fields(plan: Plan) -> list[str]:
    """The ``contact.*`` names the plan's values reference (``${contact.firstName}``), in
    document order, each once."""
    found: dict[str, None] = {}
    for node in plan.nodes:
        for value in (*node.attrs.values(), node.text):
            if "${" not in value:
                continue
            for ref in lenient(value).refs():
                name = ref.static_name
                if name and name.startswith("contact.") and len(name) > 8:
                    found.setdefault(name, None)
    return list(found)


def contact_key(name: str) -> str:
    """The key of ``contact.X`` in a call's contact row (column letters are upper-cased)."""
    rest = name[len("contact.") :]
    return rest.upper() if len(rest) <= 2 and rest.isalpha() and rest.isascii() else rest


def simulate_warnings(
    plan: Plan, result: CallResult, inputs: Sequence[str], contact: Mapping[str, str]
) -> list[str]:
    """One message per problem: unused ``--input`` values, missing or empty contact fields."""
    warnings: list[str] = []
    waited = sum(1 for effect in result.effects if isinstance(effect, CollectDigits))
    unused = list(inputs[waited:])
    if unused:
        plural = "s were" if len(unused) != 1 else " was"
        warnings.append(
            f"{len(unused)} --input value{plural} not used (the call waited for input "
            f"{waited} time{'s' if waited != 1 else ''}): {' '.join(unused)}"
        )
    given = {contact_key("contact." + key): value for key, value in contact.items()}
    for name in contact_fields(plan):
        key = contact_key(name)
        if key not in given:
            warnings.append(
                f"${{{name}}} is used by the plan but not given (it expands to an empty "
                f"string): add --contact {key}=…"
            )
        elif not given[key].strip():
            warnings.append(f"${{{name}}} is used by the plan but given empty")
    return warnings


def run_variable_notes(plan: Plan, contact: Mapping[str, str]) -> list[str]:
    """Callr scenarios: the run's variables (contact fields) the scenario does not declare;
    they are accepted and visible as ``$name`` (docs/callr-yaml.md)."""
    declared: set[str] | None = None
    for node in plan.nodes:
        if isinstance(node, RunVars):
            declared = {name for name, _ in node.declared}
    if declared is None:
        return []
    return [
        f"run variable ${name} is not declared by the scenario (accepted and visible)"
        for name in contact
        if name not in declared and name.isidentifier()
    ]
