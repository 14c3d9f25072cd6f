"""Big but valid plans: wall clock, CPU and peak RSS of ``paths`` and ``graph`` (issue 13 item 10).

``python -m tools.bench bigplans [--json] [--quick]`` writes plans of chained menus (2,200 menus,
about 650 KB, and 2,499, the most the parser accepts; 300 with ``--quick``) and runs each
command as a user does, in a child process. Target for every command: ≤ 2 s wall and ≤ 200 MB
peak RSS. ``graph --format svg`` of such a plan is refused before Graphviz runs (exit 2).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .common import Figure, Report, cli, compile_bytecode, subprocess_env, time_process

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("paths",),
    ("paths", "--format", "json"),
    ("graph",),
    ("graph", "--format", "mermaid"),
    ("graph", "--format", "svg"),
    ("lint",),
)
WALL_TARGET_S = 2.0
RSS_TARGET_MB = 200.0


def chained_menus(count: int) -> str:
    """Menu i: 1 goes to the next menu, 2 jumps ahead, timeout hangs up (about 250 bytes each)."""
    parts = ['<dialplan name="Big">']
    for i in range(count):
        parts.append(
            f'<menu name="M{i}" maxDigits="1" timeout="5">'
            f'<play type="tts">Menu {i}: press 1 for the next one, 2 to jump.</play>'
            f'<keypress pressed="1"><goto>M{(i + 1) % count}</goto></keypress>'
            f'<keypress pressed="2"><goto>M{(i * 7 + 3) % count}</goto></keypress>'
            '<keypress pressed="timeout"><hangup/></keypress></menu>'
        )
    parts.append("</dialplan>")
    return "\n".join(parts) + "\n"


def run(quick: bool = False) -> Report:
    sizes = (300,) if quick else (2200, 2499)
    repeat = 1 if quick else 3
    env = subprocess_env()
    compile_bytecode(env)
    figures: list[Figure] = []
    details: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for menus in sizes:
            plan = Path(tmp) / f"menus{menus}.xml"
            plan.write_text(chained_menus(menus), encoding="utf-8")
            details[f"{menus} menus"] = {"bytes": plan.stat().st_size}
            for command in COMMANDS:
                argv = [sys.executable, "-m", "dialplan", command[0], str(plan), *command[1:]]
                got = time_process(argv, repeat=repeat, warmup=0, env=env)
                label = f"{' '.join(command)}, {menus} menus"
                rss = got["max_rss_mb"]
                figures.append(
                    Figure(
                        f"{label}: wall",
                        got["wall_s"],
                        "s",
                        f"≤ {WALL_TARGET_S:g} s",
                        got["wall_s"] <= WALL_TARGET_S,
                        note=f"CPU {got['cpu_s']:.2f} s, exit {got['exit_code']}",
                    )
                )
                figures.append(
                    Figure(
                        f"{label}: peak RSS",
                        rss,
                        "MB",
                        f"≤ {RSS_TARGET_MB:g} MB",
                        None if rss is None else rss <= RSS_TARGET_MB,
                    )
                )
    return Report(
        "bigplans",
        figures,
        command="python -m tools.bench bigplans" + (" --quick" if quick else ""),
        details=details,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return cli("bigplans", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
