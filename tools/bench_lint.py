"""Time the lint pipeline and each rule (prints figures; nothing is asserted).

Usage: python tools/bench_lint.py [PATH ...] [--repeat N]
(default PATH: ../shared/corpus; default N: 20). Prints parse+model time per file, the whole
``lint_source`` time per file, and the slowest rules by mean time per file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dialplan.lint import all_rules, iter_files, lint_source  # noqa: E402
from dialplan.lint.context import LintContext  # noqa: E402
from dialplan.model import build_plan  # noqa: E402
from dialplan.parse import parse_any  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[str(ROOT.parent / "shared" / "corpus")])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    files = list(iter_files(args.paths))
    if not files:
        sys.exit("no dialplans found")
    rules = all_rules()
    docs = [parse_any(f) for f in files]

    start = time.perf_counter()
    for _ in range(args.repeat):
        plans = [build_plan(parse_any(f)) for f in files]
    model_ms = (time.perf_counter() - start) / args.repeat / len(files) * 1e3

    start = time.perf_counter()
    for _ in range(args.repeat):
        for f in files:
            lint_source(f)
    lint_ms = (time.perf_counter() - start) / args.repeat / len(files) * 1e3

    per_rule = dict.fromkeys(rules, 0.0)
    for _ in range(args.repeat):
        for doc, plan in zip(docs, plans, strict=True):
            ctx = LintContext(plan, doc)
            for code, rule in rules.items():
                t = time.perf_counter()
                for _problem in rule.check(ctx):
                    pass
                per_rule[code] += time.perf_counter() - t
    scale = 1e3 / args.repeat / len(files)
    print(f"{len(files)} files, {args.repeat} rounds")
    print(f"parse + model      {model_ms:7.3f} ms/file")
    print(f"lint_source        {lint_ms:7.3f} ms/file (parse, model, {len(rules)} rules, XSD)")
    print(f"all rules          {sum(per_rule.values()) * scale:7.3f} ms/file")
    for code, total in sorted(per_rule.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {code} {rules[code].name:<28} {total * scale:7.3f} ms/file")


if __name__ == "__main__":
    main()
