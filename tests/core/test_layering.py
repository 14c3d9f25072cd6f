"""The architecture's one-way data flow, checked on the source: no I/O in engine/model/expr (nor
in anything they import, transitively), no module importing from a higher floor, nothing but the
CLI (and ``__main__``) importing the CLI."""

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


# ---- floors and the engine's transitive imports ---------------------------------------------

#: The package's floors, lowest first: a module may import from its own floor and the ones below,
#: never from a higher one. A module belongs to the floor of its longest matching prefix; a new
#: top-level module or package not listed here sits on the "apps" floor (just below the CLI).
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "base",
        (
            "dialplan._version",
            "dialplan.diagnostics",
            "dialplan.errors",
            "dialplan.limits",
            "dialplan.forking",  # whether a child process may be forked (lint, loading)
            "dialplan.sounds.names",  # what a sound library name looks like (lint checks it)
        ),
    ),
    # the Callr YAML front-end reads and compiles documents for the model builder, like parse
    ("parse", ("dialplan.parse", "dialplan.callr")),
    ("expr", ("dialplan.expr",)),  # the model compiles ${…} templates when it is built
    ("model", ("dialplan.model",)),
    ("engine", ("dialplan.engine",)),
    ("schema", ("dialplan.schema",)),  # the XSD, checked on the tag table of the model
    (
        "rules",
        (
            "dialplan.lint.registry",
            "dialplan.lint.context",
            "dialplan.lint.index",
            "dialplan.lint.positions",
            "dialplan.lint.frontends",
            "dialplan.lint.suppress",
            "dialplan.lint.rules",
        ),
    ),
    ("validate", ("dialplan.validate",)),  # schema + the error rules, for load, lint, service
    ("lint", ("dialplan.lint",)),  # the linter proper: config, files, output formats
    # voices, SSML and audio rendering: the SIP driver speaks with them (the library is an app)
    (
        "drivers",
        (
            "dialplan.netguard",
            "dialplan.drivers",
            "dialplan.sounds.voices",
            "dialplan.sounds.ssml",
            "dialplan.sounds.render",
        ),
    ),
    ("api", ("dialplan", "dialplan._api")),
    (
        "apps",
        ("dialplan.broadcast", "dialplan.calltest", "dialplan.pictures", "dialplan.callr.convert"),
    ),
    ("cli", ("dialplan.cli", "dialplan.__main__")),
)
APPS = next(i for i, (name, _) in enumerate(FLOORS) if name == "apps")
#: Modules that do I/O or read the clock: nothing the engine runs may import them.
IO_ROOTS = {
    "anyio",
    "asyncio",
    "fcntl",
    "glob",
    "http",
    "httpcore",
    "httpx",
    "io",
    "mmap",
    "multiprocessing",
    "os",
    "pathlib",
    "select",
    "selectors",
    "shutil",
    "signal",
    "socket",
    "sqlite3",
    "ssl",
    "subprocess",
    "tempfile",
    "threading",
    "time",
    "urllib",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def floor_of(module: str) -> int:
    best, found = -1, APPS
    for i, (_, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            inside = module.startswith(prefix + ".") and prefix != "dialplan"  # the root: itself
            if (module == prefix or inside) and len(prefix) > best:
                best, found = len(prefix), i
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def dependencies(module: str, runtime_only: bool) -> set[str]:
    """What ``module`` imports: dialplan modules by full name, other packages by top-level name.

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a module, else ``pkg``.
    With ``runtime_only``, imports under ``if TYPE_CHECKING:`` are left out.
    """
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if runtime_only and isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                found.add(name if name.startswith("dialplan") else name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if not name.startswith("dialplan"):
                found.add(name.split(".")[0])
                return
            for alias in node.names:
                sub = f"{name}.{alias.name}"
                found.add(sub if sub in MODULES else name)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def test_every_floor_prefix_names_an_existing_module() -> None:
    for _, prefixes in FLOORS:
        for prefix in prefixes:
            assert any(m == prefix or m.startswith(prefix + ".") for m in MODULES), prefix


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_from_a_higher_floor(module: str) -> None:
    mine = floor_of(module)
    higher = sorted(
        f"{dep} ({FLOORS[floor_of(dep)][0]})"
        for dep in dependencies(module, runtime_only=False)
        if dep.startswith("dialplan") and floor_of(dep) > mine
    )
    assert not higher, f"{module} ({FLOORS[mine][0]}) imports from a higher floor: {higher}"


def _closure(start: str) -> set[str]:
    """``start`` and every dialplan module it imports at run time, transitively.

    The enclosing packages' ``__init__`` (which Python runs before any submodule) are not
    followed: the root package is the public API and imports the linter; the engine's own
    imports are what this checks.
    """
    seen: set[str] = set()
    todo = [start]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(dep for dep in dependencies(module, runtime_only=True) if dep in MODULES)
    return seen


PURE = [m for m in sorted(MODULES) if m.startswith(tuple(f"dialplan.{p}" for p in PURE_LAYERS))]


@pytest.mark.parametrize("module", PURE)
def test_the_engine_imports_nothing_that_does_io_even_transitively(module: str) -> None:
    """Engine, model and expr modules, and every module they import at run time."""
    for reached in sorted(_closure(module)):
        bad = sorted(dep for dep in dependencies(reached, runtime_only=True) if dep in IO_ROOTS)
        assert not bad, f"{module} reaches {reached}, which imports {bad}"


def test_importing_the_engine_loads_no_network_database_or_process_module() -> None:
    """The same at run time, third-party packages included (the interpreter preloads os/io)."""
    import subprocess
    import sys

    code = (
        "import sys; before = set(sys.modules); import dialplan.engine; "
        "print(' '.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    roots = {name.split(".")[0] for name in out}
    assert not roots & (IO_ROOTS - {"os", "io", "time", "pathlib", "threading", "signal"}), sorted(
        roots & IO_ROOTS
    )
