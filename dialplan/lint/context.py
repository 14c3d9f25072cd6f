"""What a rule sees: the model, the parsed document, options, and shared computed facts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..model import Plan
from ..parse import ParsedDocument

T = TypeVar("T")


@dataclass(slots=True)
class LintContext:
    plan: Plan
    doc: ParsedDocument
    #: per-rule options from the config, keyed by rule name
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.plan.source

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """Compute a fact once per file and share it between rules (e.g. the control-flow graph)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]  # type: ignore[no-any-return]
