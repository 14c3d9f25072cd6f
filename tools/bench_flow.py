"""Time the control-flow graph, the flow lint rules and route enumeration (prints figures).

Usage: python tools/bench_flow.py [N]   (N menus in the synthetic dialplan, default 300)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dialplan.flowgraph import picture, to_dot  # noqa: E402
from dialplan.lint.config import LintConfig  # noqa: E402
from dialplan.lint.linter import lint_source  # noqa: E402
from dialplan.model import build_plan  # noqa: E402
from dialplan.model.flow import build_flow  # noqa: E402
from dialplan.model.paths import enumerate_routes  # noqa: E402
from dialplan.parse import parse_any  # noqa: E402


def synthetic(menus: int) -> str:
    """A chain of menus: key 1 goes on, 2 jumps back two menus, default replays, 9 hangs up."""
    parts = ['<dialplan name="bench">']
    for i in range(menus):
        back = max(0, i - 2)
        parts.append(
            f'<menu name="m{i}" maxDigits="1"><play type="tts">Menu {i}: press 1, 2 or 9</play>'
            f'<keypress pressed="1"><stash varname="a{i}">1</stash></keypress>'
            f'<keypress pressed="2"><goto>m{back}</goto></keypress>'
            f'<keypress pressed="default"><play type="tts">Again</play><goto>m{i}</goto></keypress>'
            f'<keypress pressed="9"><hangup/></keypress></menu>'
        )
    parts.append("<hangup/></dialplan>")
    return "".join(parts)


def timed(label: str, fn: object, repeat: int = 5) -> None:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t)
    print(f"{label:<48} {best * 1000:9.2f} ms")


def main() -> None:
    menus = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    xml = synthetic(menus)
    plan = build_plan(parse_any(xml))
    print(f"synthetic dialplan: {menus} menus, {len(plan.nodes)} tags, {len(xml)} bytes")
    timed("build_flow", lambda: build_flow(plan))
    flow_only = LintConfig(select=("W07", "E07", "I07"))
    timed("flow lint rules (W070-W076, incl. parse)", lambda: lint_source(xml, config=flow_only))
    timed("picture + DOT", lambda: to_dot(picture(plan)))
    timed("paths (limit 1000)", lambda: enumerate_routes(plan, limit=1000), repeat=2)
    corpus = ROOT.parent.parent / "shared" / "corpus"
    corpus = corpus if corpus.is_dir() else Path("/work/shared/corpus")
    files = sorted(corpus.rglob("*.xml"))
    if files:
        timed(
            f"flow lint over corpus ({len(files)} files)",
            lambda: [lint_source(f, config=flow_only) for f in files],
        )


if __name__ == "__main__":
    main()
