"""The test-only SIP peers (starting baresip/SIPp) live in ``tools/``, not in the package."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import dialplan

PACKAGE = Path(dialplan.__file__).parent


def imported_names(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_the_package_ships_no_test_peers_and_imports_no_test_code() -> None:
    assert importlib.util.find_spec("dialplan.drivers.sip.peers") is None
    assert importlib.util.find_spec("dialplan.broadcast.pg.throwaway") is None
    offenders = [
        f"{path.relative_to(PACKAGE)}: imports {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for name in imported_names(path)
        if name.split(".")[0] in ("tools", "tests")
    ]
    assert offenders == []


def test_tests_and_the_benchmark_share_the_peers_in_tools() -> None:
    from tools.bench import sip as bench
    from tools.sip_peers import Sipp, sipp_uas_scenario

    assert bench.Sipp is Sipp and bench.sipp_uas_scenario is sipp_uas_scenario
