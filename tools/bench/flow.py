"""Flow analysis: control-flow graph, flow lint rules, pictures and route enumeration.

``python -m tools.bench flow [--json] [--quick]`` times each on a synthetic chain of menus (300,
or 60 with ``--quick``) and the flow rules over the shared corpus. No targets: these figures
watch for super-linear behaviour (the graph and the rules must stay linear in the plan's size).
"""

from __future__ import annotations

from collections.abc import Sequence

from .common import CORPUS, Figure, Report, cli, ensure_root_on_path, time_call

ensure_root_on_path()

from dialplan.lint.config import LintConfig  # noqa: E402
from dialplan.lint.linter import lint_source  # noqa: E402
from dialplan.model import build_plan  # noqa: E402
from dialplan.model.flow import build_flow  # noqa: E402
from dialplan.model.paths import enumerate_routes  # noqa: E402
from dialplan.parse import parse_any  # noqa: E402
from dialplan.pictures import picture, to_dot  # noqa: E402

FLOW_CODES = LintConfig(select=("W07", "E07", "I07"))


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


def run(quick: bool = False) -> Report:
    menus = 60 if quick else 300
    xml = synthetic(menus)
    plan = build_plan(parse_any(xml))
    rows = [
        ("build_flow", lambda: build_flow(plan)),
        ("flow lint rules (W070-W076, incl. parse)", lambda: lint_source(xml, config=FLOW_CODES)),
        ("picture + DOT", lambda: to_dot(picture(plan))),
        ("paths (limit 1000)", lambda: enumerate_routes(plan, limit=1000)),
    ]
    figures = [
        Figure(f"{label}, {menus} menus", time_call(fn, repeat=3)["cpu_s"] * 1000, "ms CPU")
        for label, fn in rows
    ]
    files = sorted(CORPUS.rglob("*.xml")) if CORPUS.is_dir() else []
    if files:
        per_corpus = time_call(lambda: [lint_source(f, config=FLOW_CODES) for f in files], repeat=3)
        figures.append(
            Figure(
                f"flow lint over the corpus ({len(files)} files)",
                per_corpus["cpu_s"] * 1000,
                "ms CPU",
            )
        )
    return Report(
        "flow",
        figures,
        command="python -m tools.bench flow" + (" --quick" if quick else ""),
        details={"menus": menus, "tags": len(plan.nodes), "bytes": len(xml)},
    )


def main(argv: Sequence[str] | None = None) -> int:
    return cli("flow", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
