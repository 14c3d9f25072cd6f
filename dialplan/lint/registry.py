"""The rule registry: each rule is a function that yields problems, registered with its code.

A rule family lives in one module of ``dialplan.lint.rules``; each rule's docstring is its user
documentation (what it finds, why it matters, a failing and a passing example), shown by
``dialplan rules CODE``. The linter stamps code, name, severity and file onto what rules yield.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..diagnostics import Location, Severity

#: Rule family modules, in the order ``dialplan rules`` lists them.
FAMILIES = (
    "structure",
    "attributes",
    "names",
    "menus",
    "numbers",
    "variables",
    "flow",
)


@dataclass(frozen=True, slots=True)
class Problem:
    """What a rule yields: a message and where (the linter adds the rest)."""

    message: str
    loc: Location


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    family: str
    severity: Severity
    check: Callable[..., Iterator[Problem]]

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.check.__doc__ or "")

    @property
    def summary(self) -> str:
        return self.doc.splitlines()[0] if self.doc else self.name


#: Codes produced outside rule modules (parser and schema), documented here.
PIPELINE_CODES: dict[str, tuple[str, str]] = {
    "E000": (
        "internal-error",
        "Linting this file failed unexpectedly (a bug in dialplan: please report it with the "
        "file). The message names the exception; the other files are still linted.",
    ),
    "E001": (
        "not-well-formed",
        "The file is not well-formed XML (or is empty, binary or unreadable).",
    ),
    "E015": (
        "dtd-forbidden",
        "DOCTYPE/ENTITY declarations are refused: they enable entity attacks.",
    ),
    "E016": ("document-too-large", "The file exceeds the size limit for a dialplan."),
    "E017": (
        "nesting-too-deep",
        "Elements nest deeper than the limit (128 levels), or ${…} references nest deeper "
        "than 32 levels (real dialplans nest two: ${choice${num}}).",
    ),
    "E018": (
        "schema-violation",
        "The document breaks the bundled XML Schema (xsd/dialplan.xsd) in a way no other rule "
        "reports, e.g. text inside <hangup>/<record>. Schema findings that match a spec rule "
        "are reported under that rule's code. See docs/schema.md.",
    ),
    "E019": (
        "value-too-large",
        "An attribute holds a number of more than 1000 digits (counts, timeouts, key ranges "
        "and phone numbers have a few dozen at most); the document is refused.",
    ),
}

_RULES: dict[str, Rule] = {}
#: ``_RULES`` sorted by code, and whether the family modules were imported (checked per file)
_by_code: dict[str, Rule] = {}
_families_loaded = False


def rule(
    code: str, name: str
) -> Callable[[Callable[..., Iterator[Problem]]], Callable[..., Iterator[Problem]]]:
    """Register a rule function under ``code`` (e.g. ``E041``) and kebab-case ``name``."""

    def register(fn: Callable[..., Iterator[Problem]]) -> Callable[..., Iterator[Problem]]:
        if code in _RULES:
            raise ValueError(f"rule code {code} registered twice")
        family = fn.__module__.rsplit(".", 1)[-1]
        _RULES[code] = Rule(code, name, family, Severity.from_code(code), fn)
        return fn

    return register


def all_rules() -> dict[str, Rule]:
    """Every registered rule by code (imports the family modules on first use)."""
    global _families_loaded, _by_code
    if not _families_loaded:
        for family in FAMILIES:
            try:
                importlib.import_module(f"{__package__}.rules.{family}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{__package__}.rules.{family}":
                    raise
        _families_loaded = True
    if len(_by_code) != len(_RULES):  # sorted once, again only if a rule was registered since
        _by_code = dict(sorted(_RULES.items()))
    return dict(_by_code)
