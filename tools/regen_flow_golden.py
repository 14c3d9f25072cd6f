"""Regenerate the golden pictures of tests/flow (review the diff before committing!).

Usage, from the repository root:

    python tools/regen_flow_golden.py

Writes tests/flow/golden/<fixture>.dot and .mmd for every fixture listed in GOLDEN below.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dialplan.model import build_plan  # noqa: E402
from dialplan.parse import parse_any  # noqa: E402
from dialplan.pictures import picture, to_dot, to_mermaid  # noqa: E402

FIXTURES = ROOT / "tests" / "flow" / "fixtures"
GOLDEN = ROOT / "tests" / "flow" / "golden"
NAMES = ("graph_small",)


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name in NAMES:
        pic = picture(build_plan(parse_any(FIXTURES / f"{name}.xml")))
        for suffix, text in ((".dot", to_dot(pic)), (".mmd", to_mermaid(pic))):
            out = GOLDEN / f"{name}{suffix}"
            old = out.read_text(encoding="utf-8") if out.exists() else None
            out.write_text(text, encoding="utf-8")
            print(f"{'unchanged' if old == text else 'written  '} {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
