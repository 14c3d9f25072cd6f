"""Big but valid plans: ``paths`` and ``graph`` stay bounded (issue 13 item 10).

A 2,200-menu plan made ``graph --format svg`` run Graphviz to 9.6 GB and ``paths`` print 4.4
million lines. These tests check the bounds themselves (the step budget, the SVG size limit,
Graphviz's memory cap and timeout); the only time limits are generous hang-guards. Measured
figures are in docs/performance.md (``python -m tools.bench bigplans`` measures them).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from dialplan.errors import DialplanError
from dialplan.model import build_plan
from dialplan.model.paths import LENGTH_CUT, MAX_STEPS, enumerate_routes
from dialplan.parse import parse_any
from dialplan.pictures import picture, svg, to_dot
from tools.bench.bigplans import chained_menus

ROOT = Path(__file__).resolve().parents[2]
#: hang-guard and memory cap for the child processes (far above the bounds measured)
GUARD_S = 120
MEMORY_CAP = 1_500_000_000


@pytest.fixture(scope="module")
def big_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.xml"
    path.write_text(chained_menus(2200), encoding="utf-8")
    assert path.stat().st_size > 500_000
    return path


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def dialplan(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command in a child process, under a memory cap and a hang-guard."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "dialplan", *args],
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        preexec_fn=_cap_memory,
        env=env,
    )


def test_paths_listing_stops_at_the_step_budget(big_plan: Path) -> None:
    done = dialplan("paths", str(big_plan))
    assert done.returncode == 0, done.stderr
    last = done.stdout.rstrip("\n").splitlines()[-1]
    assert f"stopped at the listing's size limit of {MAX_STEPS:,} steps; there are more" in last
    assert done.stdout.count("\n") < MAX_STEPS + 5_000  # was 4.4 million lines


def test_paths_json_says_it_was_cut(big_plan: Path) -> None:
    done = dialplan("paths", str(big_plan), "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["truncated"] is True and doc["size_limited"] is True
    assert doc["max_steps"] == MAX_STEPS
    # (its routes are left out of "routes": thousands of menus outlast the engine's 4-hour call)
    routes = doc["routes"] + doc["left_out"]
    assert 0 < sum(len(r["steps"]) for r in routes) <= MAX_STEPS + 2200 * 2
    assert "size limit" in done.stderr


def test_step_budget_counts_every_listed_step(big_plan: Path) -> None:
    plan = build_plan(parse_any(big_plan))
    found = enumerate_routes(plan, max_steps=5_000)
    assert found.truncated and found.size_limited
    listed = sum(len(r.steps) for r in found.routes)
    longest = max(len(r.steps) for r in found.routes)
    assert listed - longest < 5_000 <= listed


def test_a_route_longer_than_the_budget_is_cut(big_plan: Path) -> None:
    plan = build_plan(parse_any(big_plan))
    found = enumerate_routes(plan, max_steps=300)
    first = found.routes[0]
    assert first.ending == LENGTH_CUT
    assert len(first.steps) == 300
    assert found.size_limited


def test_small_plans_are_not_limited() -> None:
    plan = build_plan(parse_any(chained_menus(3)))
    found = enumerate_routes(plan)
    assert not found.truncated and not found.size_limited
    assert all(r.ending != LENGTH_CUT for r in found.routes)


def test_svg_of_a_big_flow_is_refused_before_graphviz_runs(big_plan: Path) -> None:
    done = dialplan("graph", str(big_plan), "--format", "svg")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("dialplan: error: ")
    assert f"SVG is drawn up to {svg.SVG_MAX_ELEMENTS}" in lines[0]
    assert "--format dot" in lines[0]


def test_dot_and_mermaid_of_a_big_flow_still_work(big_plan: Path) -> None:
    for fmt in ("dot", "mermaid"):
        done = dialplan("graph", str(big_plan), "--format", fmt)
        assert done.returncode == 0, done.stderr
        assert "M2199" in done.stdout


def test_svg_limit_lets_real_plans_through() -> None:
    """The biggest corpus plan has 70 shapes and arrows; 40 chained menus are drawn too."""
    pic = picture(build_plan(parse_any(chained_menus(40))))
    assert len(pic.boxes) + len(pic.arrows) <= svg.SVG_MAX_ELEMENTS


needs_dot = pytest.mark.skipif(
    subprocess.run(["which", "dot"], capture_output=True).returncode != 0,
    reason="Graphviz dot not installed",
)


@needs_dot
def test_graphviz_runs_under_a_memory_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    dot_text = to_dot(picture(build_plan(parse_any(chained_menus(20)))))
    assert svg.render_svg(dot_text).lstrip().startswith(b"<?xml")
    monkeypatch.setattr(svg, "DOT_MEMORY_BYTES", 30 * 2**20)
    with pytest.raises(DialplanError, match="could not draw this flow within"):
        svg.render_svg(dot_text)


@needs_dot
def test_graphviz_runs_under_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """150 chained menus take Graphviz well over a minute; a one-second limit stops it."""
    dot_text = to_dot(picture(build_plan(parse_any(chained_menus(150)))))
    monkeypatch.setattr(svg, "DOT_TIMEOUT_S", 1)
    with pytest.raises(DialplanError, match="could not draw this flow within 1 s"):
        svg.render_svg(dot_text)


def test_lint_of_a_menu_with_thousands_of_keys_is_linear(tmp_path: Path) -> None:
    """W042 compared every pair of keys: 9,990 keys took minutes; literals never overlap."""
    keys = "".join(f'<keypress pressed="{i}"/>' for i in range(10, 10_000))
    path = tmp_path / "wide.xml"
    path.write_text(
        f'<dialplan name="w"><menu name="m" maxDigits="4"><play type="tts">x</play>{keys}'
        '<keypress pressed="1-20"><hangup/></keypress></menu></dialplan>',
        encoding="utf-8",
    )
    done = dialplan("lint", str(path), "--select", "W042")
    assert done.returncode == 0, done.stderr
    # the range is reported once, against the first literal it contains
    assert done.stdout.count("W042") == 1
    assert 'contains the literal pressed="10"' in done.stdout
