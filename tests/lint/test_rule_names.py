"""Each rule name is written once, on the rule (or, for the parser's and the schema's own codes, in
their ``CODES`` table); every other view (schema findings, ``dialplan rules``, output) derives it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from dialplan.lint import all_rules
from dialplan.lint.registry import PIPELINE_CODES

PACKAGE = Path(__file__).resolve().parents[2] / "dialplan"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _own_names(module: str, source: str) -> set[str]:
    """The rule names ``module`` defines: its rules', or those of its ``CODES`` table."""
    mine = {r.name for r in all_rules().values() if r.check.__module__ == module}
    if "CODES" not in source:
        return mine
    codes = getattr(importlib.import_module(module), "CODES", None)
    if isinstance(codes, dict):
        mine |= {entry[0] for entry in codes.values() if isinstance(entry, tuple)}
    return mine


def test_every_rule_name_is_spelled_only_where_it_is_defined() -> None:
    names = {r.name for r in all_rules().values()} | {n for n, _ in PIPELINE_CODES.values()}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module(path)
        source = path.read_text(encoding="utf-8")
        strings = {
            node.value
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
        stray = (strings & names) - _own_names(module, source)
        found += [f"{module}: {name}" for name in sorted(stray)]
    assert found == []
