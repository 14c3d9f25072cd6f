"""No exported name that nothing uses (issue 16 item 5): every name in a package's ``__all__``
is used outside that package's ``__init__`` and the module defining it — by other modules, the
tests, the tools or the docs."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(
    ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "dialplan").rglob("__init__.py")
)
SOURCES = [
    p
    for pattern in ("dialplan/**/*.py", "tests/**/*.py", "tools/**/*.py", "docs/*.md", "*.md")
    for p in ROOT.glob(pattern)
]


def exported(package: str) -> list[tuple[str, str]]:
    module = importlib.import_module(package)
    return [(package, name) for name in getattr(module, "__all__", []) if not name.startswith("__")]


EXPORTS = [item for package in PACKAGES for item in exported(package)]


@pytest.fixture(scope="module")
def texts() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in SOURCES}


@pytest.mark.parametrize(("package", "name"), EXPORTS, ids=lambda v: v)
def test_exported_name_is_used(texts: dict[Path, str], package: str, name: str) -> None:
    module = importlib.import_module(package)
    defining = getattr(getattr(module, name), "__module__", None) or package
    own = {
        ROOT / Path(*package.split(".")) / "__init__.py",
        ROOT / Path(*defining.split(".")).with_suffix(".py"),
    }
    word = re.compile(rf"\b{re.escape(name)}\b")
    users = [p for p, text in texts.items() if p not in own and word.search(text)]
    assert users, f"{package}.{name} is exported but nothing uses it"
