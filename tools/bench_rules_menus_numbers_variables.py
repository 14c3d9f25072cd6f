"""Print how long the §6.4–6.6 rule families (menus, numbers, variables) take per file.

Usage: python tools/bench_rules_menus_numbers_variables.py [DIR] [--copies N]

Lints every *.xml under DIR (default: $DIALPLAN_SHARED/corpus), repeated N times, and prints the
CPU time (not wall time: the machine is shared) per file of parsing, model building, and each family's rules, next to xmllint --noout
over the same files. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dialplan.lint.context import LintContext  # noqa: E402
from dialplan.lint.registry import all_rules  # noqa: E402
from dialplan.model import build_plan  # noqa: E402
from dialplan.parse import parse_any  # noqa: E402

FAMILIES = ("menus", "numbers", "variables")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "dir",
        nargs="?",
        default=os.environ.get("DIALPLAN_SHARED", str(ROOT.parent / "shared")) + "/corpus",
    )
    ap.add_argument("--copies", type=int, default=20)
    args = ap.parse_args()
    files = sorted(Path(args.dir).rglob("*.xml"))
    if not files:
        sys.exit(f"no *.xml under {args.dir}")
    rules = [r for r in all_rules().values() if r.family in FAMILIES]
    spent: dict[str, float] = defaultdict(float)
    count = 0
    for _ in range(args.copies):
        for path in files:
            t0 = time.process_time()
            try:
                doc = parse_any(path)
            except Exception:  # a malformed file: only parsing is measured
                spent["parse"] += time.process_time() - t0
                continue
            t1 = time.process_time()
            plan = build_plan(doc)
            t2 = time.process_time()
            spent["parse"] += t1 - t0
            spent["model"] += t2 - t1
            ctx = LintContext(plan, doc)
            for rule in rules:
                t = time.process_time()
                for _problem in rule.check(ctx):
                    pass
                spent[rule.family] += time.process_time() - t
            count += 1
    print(f"{count} documents ({len(files)} files x {args.copies})")
    for key in ("parse", "model", *FAMILIES):
        print(f"  {key:<10} {spent[key] / count * 1e6:8.1f} us/file")
    ours = sum(spent[f] for f in FAMILIES)
    print(f"  {'§6.4-6.6':<10} {ours / count * 1e6:8.1f} us/file (all three families)")
    xmllint = shutil.which("xmllint")
    if xmllint:
        names = [str(p) for p in files] * args.copies
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([xmllint, "--noout", *names], capture_output=True, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(f"  {'xmllint':<10} {cpu / len(names) * 1e6:8.1f} us/file")


if __name__ == "__main__":
    main()
