"""What a call's result can depend on besides the script, read from the plan's model: the
contact fields and ``call.*`` variables it references, whether it reads the clock, whether its
JavaScript draws random numbers. Callers that reuse results across calls (the campaign runner's
cache) build their keys from this, never by searching the dialplan's raw text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..expr.template import Literal, Ref, Template
from ..model import Equal, GotoXML, If, Node, Plan, RunVars, Script, Setvar, Stash

#: Words in the author's JavaScript that reach the clock or a random source, directly or
#: through a computed name (``Math["random"]``, ``globalThis``, ``eval``…).
_RANDOM = re.compile(r"random|Math\s*\[|globalThis|\beval\b|\bFunction\b|constructor|\bthis\b")
_CLOCK = re.compile(r"Date")


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """``contact_keys``: contact fields/columns referenced (as written); ``whole_contact``: a
    reference whose name is built at run time may read any field; ``call_keys``: ``call.*``
    names referenced (without the prefix; ``all_call`` when built at run time); ``clock``:
    ``${global.*}`` or JavaScript ``Date``; ``random``: the result may differ between two calls
    with equal inputs (``Math.random``, a computed global, or ``<gotoXML>`` loading a plan we
    cannot see)."""

    contact_keys: tuple[str, ...]
    whole_contact: bool
    call_keys: tuple[str, ...]
    all_call: bool
    clock: bool
    random: bool


def _templates(node: Node) -> list[Template]:
    return [v for v in vars(node).values() if isinstance(v, Template)]


def _code(node: Node) -> Template | None:
    """The template the engine evaluates as JavaScript (spec §5.1), if any."""
    if isinstance(node, Setvar | Stash):
        return node.value
    if isinstance(node, If | Equal):
        return node.expr
    return None


def _literal_text(template: Template) -> str:
    return "".join(p.text for p in template.parts if isinstance(p, Literal))


def plan_inputs(plan: Plan) -> PlanInputs:
    contact: set[str] = set()
    call: set[str] = set()
    whole_contact = all_call = clock = random = False
    for node in plan.nodes:
        if isinstance(node, GotoXML):
            random = True
        elif isinstance(node, RunVars):  # a Callr run's variables are any contact field
            whole_contact = True
        elif isinstance(node, Script):  # $call, $now and any JavaScript (docs/callr-yaml.md)
            all_call = True
            clock = clock or "$now" in node.code or _CLOCK.search(node.code) is not None
            random = random or _RANDOM.search(node.code) is not None
        for template in _templates(node):
            for ref in template.refs():
                name = ref.static_name
                if name is None:
                    head = _static_head(ref)
                    whole_contact = whole_contact or _may_start(head, "contact.")
                    all_call = all_call or _may_start(head, "call.")
                    clock = clock or _may_start(head, "global.")
                elif name.startswith("contact."):
                    contact.add(name[8:])
                elif name.startswith("call."):
                    call.add(name[5:])
                elif name.startswith("global."):
                    clock = True
        code = _code(node)
        if code is not None:
            text = _literal_text(code)
            clock = clock or _CLOCK.search(text) is not None
            random = random or _RANDOM.search(text) is not None
    return PlanInputs(
        tuple(sorted(contact)), whole_contact, tuple(sorted(call)), all_call, clock, random
    )


def _may_start(head: str, prefix: str) -> bool:
    """Whether a name that starts with ``head`` (then anything) may start with ``prefix``."""
    return head.startswith(prefix) or prefix.startswith(head)


def _static_head(ref: Ref) -> str:
    """The literal start of a name built at run time (``contact.${c}`` → ``contact.``; ""
    when it starts with a reference, so it may be anything)."""
    first = ref.parts[0] if ref.parts else None
    return first.text.lstrip() if isinstance(first, Literal) else ""
