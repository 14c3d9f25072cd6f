"""Variable names (spec §4): the system variables of §4.2 and the names a dialplan assigns.

Pure functions over strings and model nodes, no I/O: the lint rules (W060–W068) and the engine
share this one list of system variables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .template import Ref, Template

#: ``call.*`` and ``global.*`` variables of spec §4.2 (exact, case-sensitive names).
CALL_VARIABLES = frozenset(
    {
        "call.ani",
        "call.callerid",
        "call.callerid.alpha",
        "call.dnis",
        "call.id",
        "call.lastinput",
        "call.path",
        "call.phonenumber",
    }
)
GLOBAL_VARIABLES = frozenset(
    {
        "global.date",
        "global.time",
        "global.time.hour",
        "global.time.hour.military",
        "global.date.month",
        "global.date.day",
        "global.date.year",
        "global.date.dayOfWeek",
    }
)
#: The six reserved contact fields (besides the columns ``contact.A`` … ``contact.ZZ``).
CONTACT_FIELDS = frozenset(
    {"firstName", "lastName", "zipcode", "workPhone", "mobilePhone", "homePhone"}
)
#: System variables whose value is a number (everything else is a string, e.g. a caller ID).
NUMERIC_VARIABLES = frozenset(
    {
        "global.time.hour",
        "global.time.hour.military",
        "global.date.month",
        "global.date.day",
        "global.date.year",
        "global.date.dayOfWeek",
    }
)
SYSTEM_PREFIXES = ("call.", "contact.", "global.")

_COLUMN = re.compile(r"[A-Za-z]{1,2}")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+")


def contact_column(name: str) -> str | None:
    """The upper-case column letters of ``contact.X`` (``contact.d`` → ``D``), else None."""
    if not name.startswith("contact."):
        return None
    rest = name[8:]
    return rest.upper() if _COLUMN.fullmatch(rest) else None


def is_system_name(name: str) -> bool:
    """Whether ``name`` is in the system namespaces (``call.``/``contact.``/``global.``, any case)."""
    return name[:8].lower().startswith(SYSTEM_PREFIXES)


def is_system_variable(name: str) -> bool:
    """Whether ``name`` is a system variable of spec §4.2 (contact columns in any case)."""
    if name in CALL_VARIABLES or name in GLOBAL_VARIABLES:
        return True
    if name.startswith("contact."):
        return name[8:] in CONTACT_FIELDS or contact_column(name) is not None
    return False


def system_suggestion(name: str) -> str | None:
    """A known system variable that differs from ``name`` only in case (for "did you mean")."""
    lowered = name.lower()
    for known in (*CALL_VARIABLES, *GLOBAL_VARIABLES, *(f"contact.{f}" for f in CONTACT_FIELDS)):
        if known.lower() == lowered:
            return known
    return None


def is_plain_name(name: str) -> bool:
    """Spec §4.1: letters, digits and underscore only."""
    return bool(_PLAIN_NAME.fullmatch(name))


def static_prefix(template: Template) -> str:
    """The literal text before the first ``${`` (``stashDNC${n}`` → ``stashDNC``)."""
    out: list[str] = []
    for part in template.parts:
        if isinstance(part, Ref):
            break
        out.append(part.text)
    return "".join(out).strip()


@dataclass(frozen=True, slots=True)
class Assignments:
    """Which names a document assigns (spec §4, §3.9).

    ``assigned``: static names set by ``setvar``/``record``/``get``/``post`` ``varname``;
    ``dynamic_prefixes``: literal prefixes of dynamic varnames of those tags (``x${n}`` → ``x``),
    which may assign any name starting with the prefix; ``stashed``: static ``stash`` varnames.
    """

    assigned: frozenset[str] = frozenset()
    dynamic_prefixes: tuple[str, ...] = ()
    stashed: frozenset[str] = field(default_factory=frozenset)

    def may_be_assigned(self, name: str) -> bool:
        return name in self.assigned or any(name.startswith(p) for p in self.dynamic_prefixes)


#: Tags whose ``varname`` defines a variable (``stash`` does not, spec §3.9).
ASSIGNING_TAGS = frozenset({"setvar", "record", "get", "post"})


def collect_assignments(varnames: Iterable[tuple[str, Template]]) -> Assignments:
    """Fold ``(tag, varname template)`` pairs into :class:`Assignments`."""
    assigned: set[str] = set()
    prefixes: set[str] = set()
    stashed: set[str] = set()
    for tag, template in varnames:
        if tag == "stash":
            if template.is_constant:
                stashed.add(template.source.strip())
        elif tag in ASSIGNING_TAGS:
            if template.is_constant:
                assigned.add(template.source.strip())
            else:
                prefixes.add(static_prefix(template))
    return Assignments(frozenset(assigned), tuple(sorted(prefixes)), frozenset(stashed))


def ref_end(text: str, start: int) -> int:
    """Index just after the ``${…}`` that begins at ``start`` (nested references included);
    ``len(text)`` when it is unterminated."""
    depth = 0
    i = start
    while True:
        close = text.find("}", i)
        if close == -1:
            return len(text)
        opening = text.find("${", i, close)
        if opening != -1:
            depth += 1
            i = opening + 2
        else:
            depth -= 1
            i = close + 1
            if depth <= 0:
                return i
