"""The architecture's one-way data flow, checked on the source: no I/O in engine/model/expr,
no driver in the engine, nothing but the CLI (and ``__main__``) imports the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "dialplan"
IO_MODULES = {
    "httpx",
    "socket",
    "asyncio",
    "sqlite3",
    "subprocess",
    "urllib",
    "http",
    "shutil",
    "time",
}
PURE_LAYERS = ("engine", "model", "expr")


def imports_of(path: Path) -> set[str]:
    """Absolute dotted names a module imports (relative ones resolved against the package)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", PURE_LAYERS)
def test_pure_layers_do_no_io(layer: str) -> None:
    for path in modules(layer):
        bad = {name for name in imports_of(path) if name.split(".")[0] in IO_MODULES}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


@pytest.mark.parametrize("layer", PURE_LAYERS)
def test_pure_layers_import_no_outer_layer(layer: str) -> None:
    outer = ("dialplan.drivers", "dialplan.broadcast", "dialplan.cli", "dialplan.lint")
    for path in modules(layer):
        bad = {name for name in imports_of(path) if name.startswith(outer)}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_nothing_imports_the_cli() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "cli" or path.name == "__main__.py":
            continue
        bad = {name for name in imports_of(path) if name.startswith("dialplan.cli")}
        assert not bad, f"{path.relative_to(PACKAGE)} imports the CLI"
