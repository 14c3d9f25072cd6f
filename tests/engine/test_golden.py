"""Golden call tests over the shared corpus: scripted calls whose expected results were written
by hand from the spec's rules (``golden/*.toml``, in the ``dialplan test`` scenario format)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from dialplan.calltest import run_case, scenario_from_dict
from dialplan.model import build_plan
from dialplan.parse import parse, read_source
from tests.conftest import CORPUS, corpus_files

GOLDEN = Path(__file__).parent / "golden"


def golden_cases() -> list[tuple[str, int]]:
    out = []
    for path in sorted(GOLDEN.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        out.extend((path.name, i) for i in range(len(data["case"])))
    return out


def model(relative: str):  # type: ignore[no-untyped-def]
    """The plan straight from the model (engine tests do not depend on lint rules)."""
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"shared corpus file not available: {relative}")
    return build_plan(parse(read_source(path)))


@pytest.mark.parametrize(("file", "index"), golden_cases())
def test_golden_case(file: str, index: int) -> None:
    data = tomllib.loads((GOLDEN / file).read_text(encoding="utf-8"))
    scenario = scenario_from_dict(data, file)
    plan = model(data["dialplan"])
    case = scenario.cases[index]
    outcome = run_case(plan, case, file)
    assert outcome.passed, f"{case.name}:\n  " + "\n  ".join(outcome.failures)


def test_every_corpus_dialplan_has_golden_calls() -> None:
    if not corpus_files():
        pytest.skip("../shared/corpus is not available")
    covered = {
        tomllib.loads(p.read_text(encoding="utf-8"))["dialplan"] for p in GOLDEN.glob("*.toml")
    }
    missing = [
        str(p.relative_to(CORPUS))
        for p in corpus_files()
        if str(p.relative_to(CORPUS)) not in covered
    ]
    assert not missing
