"""The rule registry: each rule is a function that yields problems, registered with its code.

A rule family lives in one module of ``dialplan.lint.rules``; each rule's docstring is its user
documentation (what it finds, why it matters, a failing and a passing example), shown by
``dialplan rules CODE``. The linter stamps code, name, severity and file onto what rules yield.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from typing import NamedTuple

from .. import parse, schema
from ..diagnostics import Diagnostic, Location, Severity
from . import suppress

#: Rule family modules, in the order ``dialplan rules`` lists them.
FAMILIES = (
    "structure",
    "attributes",
    "names",
    "menus",
    "numbers",
    "variables",
    "flow",
    "sounds",
)


class Problem(NamedTuple):
    """What a rule yields: a message and where (the linter adds the rest)."""

    message: str
    loc: Location


class Rule(NamedTuple):
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

    def findings(self, ctx: object, file: str) -> Iterator[Diagnostic]:
        """Run the rule on one file's context; its problems stamped with code, name, severity."""
        for problem in self.check(ctx):
            loc = problem.loc
            yield Diagnostic(
                self.code, self.name, problem.message, loc.line, loc.column, file, self.severity
            )


#: The linter's own code: a file whose linting failed unexpectedly (the others are still linted).
CODES: dict[str, tuple[str, str]] = {
    "E000": (
        "internal-error",
        "Linting this file failed unexpectedly (a bug in dialplan: please report it with the "
        "file). The message names the exception; the other files are still linted.",
    ),
}

#: Codes produced outside rule modules (parser, schema, linter), documented where they are made.
PIPELINE_CODES: dict[str, tuple[str, str]] = {
    **CODES,
    **parse.CODES,
    **schema.CODES,
    **suppress.CODES,
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


def rule_name(code: str) -> str:
    """The kebab-case name of ``code``: the rule's own, or the parser's or schema's."""
    found = all_rules().get(code)
    return found.name if found is not None else PIPELINE_CODES[code][0]
