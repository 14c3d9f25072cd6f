"""Lint benchmark: full lint of many dialplans vs xmllint and xmlschema; CLI cold start.

    python -m tools.bench lint [--json] [--quick]

The corpus dialplans (``shared/corpus``, else ``examples/``) are replicated into a temporary
directory (10,000 files; 200 with ``--quick``). Measured on the same files:

* ``dialplan lint DIR`` as a command (every rule plus the schema check; ``--no-cache``), and
  ``lint_paths`` in process, per file;
* ``dialplan lint DIR`` with a fresh cache folder: once cold (filling the cache), then warm (every
  file unchanged: read and hashed, its findings taken from the cache);
* ``xmllint --noout --schema xsd/dialplan.xsd FILES`` (libxml2 in C: schema check only);
* ``xmlschema-validate --schema xsd/dialplan.xsd FILES`` (pure Python) on a subset, extrapolated
  per file (it is slow);
* cold start: ``python -m dialplan lint one.xml`` against the floor ``python3 -c "import lxml.etree"``
  (median of at least 10 runs each);
* a per-stage split of the in-process pipeline (parse, model, rules, schema).

Targets: full lint at most 3x xmllint; warm (cached) re-lint at most 1x xmllint; at least 20x
faster than xmlschema-validate; cold start at most 100 ms (on a quiet machine) and at most 60 ms
above the floor of the same run. Ratios use CPU time (user+sys), which other load on the machine
disturbs less than wall time; wall times are reported too.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.bench.common import (
    CORPUS,
    ROOT,
    Figure,
    Report,
    cli,
    compile_bytecode,
    ensure_root_on_path,
    median,
    subprocess_env,
    time_call,
    time_process,
)

ensure_root_on_path()

XSD = ROOT / "xsd" / "dialplan.xsd"
FULL_FILES = 10_000
QUICK_FILES = 200
TARGET_XMLLINT_RATIO = 3.0
TARGET_WARM_RATIO = 1.0
TARGET_XMLSCHEMA_SPEEDUP = 20.0
TARGET_COLD_MS = 100.0
#: cold start above the floor ``python -c "import lxml.etree"`` of the same run
TARGET_COLD_OVER_FLOOR_MS = 60.0


def sources() -> list[Path]:
    """The dialplans to replicate: the shared corpus, else the repository's examples."""
    found = sorted(CORPUS.rglob("*.xml")) if CORPUS.is_dir() else []
    return found or sorted((ROOT / "examples").glob("*.xml"))


def replicate(files: Sequence[Path], count: int, dest: Path) -> list[Path]:
    """``count`` files in ``dest`` (short names), copies of ``files`` round-robin."""
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        target = dest / f"{i:05d}.xml"
        shutil.copyfile(files[i % len(files)], target)
        out.append(target)
    return out


def stage_split(files: Sequence[Path], rounds: int) -> dict[str, float]:
    """CPU microseconds per file for each pipeline stage, over the distinct source files."""
    from dialplan import schema
    from dialplan.lint.config import LintConfig
    from dialplan.lint.linter import check_document
    from dialplan.model import build_plan
    from dialplan.parse import parse, read_source

    datas = [f.read_bytes() for f in files]
    docs = [parse(read_source(d)) for d in datas]
    check_document(docs[0], LintConfig())  # warm-up: rule modules, compiled schema

    def per_file(fn: Any, items: Sequence[Any]) -> float:
        t0 = time.process_time()
        for _ in range(rounds):
            for item in items:
                fn(item)
        return 1e6 * (time.process_time() - t0) / (rounds * len(items))

    parse_us = per_file(lambda d: parse(read_source(d)), datas)
    model_us = per_file(build_plan, docs)
    schema_us = per_file(lambda doc: list(schema.iter_errors(doc)), docs)
    check_us = per_file(lambda doc: check_document(doc, LintConfig()), docs)
    return {
        "parse_us": round(parse_us, 1),
        "model_us": round(model_us, 1),
        "rules_us": round(max(check_us - model_us - schema_us, 0.0), 1),
        "schema_us": round(schema_us, 1),
        "total_us": round(parse_us + check_us, 1),
    }


def run(
    quick: bool = False,
    files: int | None = None,
    xmlschema_files: int | None = None,
    cold_runs: int | None = None,
    repeat: int | None = None,
) -> Report:
    count = files or (QUICK_FILES if quick else FULL_FILES)
    xs_count = min(count, xmlschema_files or (15 if quick else 400))
    cold = cold_runs or (5 if quick else 20)
    reps = repeat or 2
    env = subprocess_env()
    compile_bytecode(env)
    py = sys.executable
    src = sources()
    details: dict[str, Any] = {"files": count, "distinct_sources": len(src)}
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="dialplan-bench-lint-") as tmp:
        tmpdir = Path(tmp)
        paths = replicate(src, count, tmpdir / "plans")
        names = [p.name for p in paths]
        plans = tmpdir / "plans"
        details["bytes_total"] = sum(p.stat().st_size for p in paths)

        # full lint as a command (one process for the whole directory; it forks a worker per CPU
        # from 200 files on, and the CPU time counts the workers too)
        lint_cmd = [py, "-m", "dialplan", "lint", "--no-cache", "--format", "json", str(plans)]
        lint_cli = time_process(lint_cmd, repeat=reps, warmup=0, cwd=ROOT, env=env)
        details["dialplan_lint_cli"] = lint_cli

        # with the cache: a cold run (empty cache: lint everything, then write the cache), then
        # warm runs on the unchanged files (a hash per file, no parsing)
        cache_dir = tmpdir / "cache"
        cached_cmd = [*lint_cmd[:4], "--cache-dir", str(cache_dir), *lint_cmd[5:]]
        cold_cached = time_process(cached_cmd, repeat=1, warmup=0, cwd=ROOT, env=env)
        warm_cached = time_process(cached_cmd, repeat=max(reps, 3), warmup=0, cwd=ROOT, env=env)
        details["dialplan_lint_cli_cache_cold"] = cold_cached
        details["dialplan_lint_cli_cache_warm"] = warm_cached

        # the same in process, per file (no start-up)
        from dialplan.lint.config import LintConfig
        from dialplan.lint.linter import lint_paths

        lint_paths([paths[0]], LintConfig())
        in_proc = time_call(
            lambda: lint_paths([plans], LintConfig(), jobs=1), repeat=reps, warmup=0
        )
        details["lint_paths_in_process"] = in_proc

        # xmllint on the same files
        xmllint = shutil.which("xmllint")
        if xmllint:
            xl = time_process(
                [xmllint, "--noout", "--schema", str(XSD), *names],
                repeat=max(reps, 3),
                cwd=plans,
            )
            details["xmllint"] = xl
        else:
            xl = None
            details["xmllint"] = "not installed"

        # xmlschema-validate: marginal cost per file = (T(k files) - T(1 file)) / (k - 1)
        xsv = shutil.which("xmlschema-validate")
        if xsv:
            base = [xsv, "--schema", str(XSD)]
            xs_one = time_process([*base, names[0]], repeat=1, warmup=0, cwd=plans, env=env)
            xs = time_process([*base, *names[:xs_count]], repeat=1, warmup=0, cwd=plans, env=env)
            xs["files"] = xs_count
            xs["one_file_cpu_s"] = xs_one["cpu_s"]
            xs["per_file_cpu_s"] = max(xs["cpu_s"] - xs_one["cpu_s"], 0.0) / max(xs_count - 1, 1)
            details["xmlschema_validate"] = xs
        else:
            xs = None
            details["xmlschema_validate"] = "not installed"

        # cold start: one small file, many runs
        one = paths[0]
        cold_lint = time_process(
            [py, "-m", "dialplan", "lint", "--no-cache", str(one)], repeat=cold, cwd=ROOT, env=env
        )
        floor = time_process([py, "-c", "import lxml.etree"], repeat=cold, cwd=ROOT, env=env)
        bare = time_process([py, "-c", "pass"], repeat=cold, cwd=ROOT, env=env)
        details["cold_start"] = {"dialplan_lint": cold_lint, "import_lxml": floor, "python": bare}

    details["stages_per_file"] = stage_split(src, rounds=3 if quick else 20)

    lint_cpu_pf = lint_cli["cpu_s"] / count
    figures.append(
        Figure(
            "dialplan lint DIR, per file (CPU)",
            1e6 * lint_cpu_pf,
            "us",
            note=f"{count} files, wall {1e6 * lint_cli['wall_s'] / count:.0f} us/file",
        )
    )
    figures.append(
        Figure(
            "lint_paths in process, one core, per file (CPU)", 1e6 * in_proc["cpu_s"] / count, "us"
        )
    )
    if xl:
        xl_pf = xl["cpu_s"] / count
        figures.append(Figure("xmllint --schema, per file (CPU)", 1e6 * xl_pf, "us"))
        ratio = lint_cpu_pf / xl_pf if xl_pf > 0 else None
        figures.append(
            Figure(
                "full lint / xmllint",
                ratio,
                "x",
                f"<= {TARGET_XMLLINT_RATIO:g}x",
                ratio is not None and ratio <= TARGET_XMLLINT_RATIO,
            )
        )
        for label, timing, target in (
            ("cold lint with cache (fills it) / xmllint", cold_cached, TARGET_XMLLINT_RATIO),
            ("warm (cached) re-lint / xmllint", warm_cached, TARGET_WARM_RATIO),
        ):
            value = (timing["cpu_s"] / count) / xl_pf if xl_pf > 0 else None
            wall = timing["wall_s"] / xl["wall_s"] if xl["wall_s"] > 0 else 0.0
            figures.append(
                Figure(
                    label,
                    value,
                    "x",
                    f"<= {target:g}x",
                    value is not None and value <= target,
                    note=f"CPU {timing['cpu_s']:.2f} s vs {xl['cpu_s']:.2f} s; wall ratio {wall:.2f}",
                )
            )
    if xs:
        xs_pf = xs["per_file_cpu_s"]
        figures.append(
            Figure(
                "xmlschema-validate, per file (CPU)",
                1e6 * xs_pf,
                "us",
                note=f"marginal, {xs_count} files vs 1; start-up {xs['one_file_cpu_s']:.2f} s",
            )
        )
        speedup = xs_pf / lint_cpu_pf if lint_cpu_pf > 0 else None
        figures.append(
            Figure(
                "xmlschema-validate / full lint",
                speedup,
                "x",
                f">= {TARGET_XMLSCHEMA_SPEEDUP:g}x",
                speedup is not None and speedup >= TARGET_XMLSCHEMA_SPEEDUP,
            )
        )
    cold_ms = 1000 * cold_lint["wall_s"]
    figures.append(
        Figure(
            "cold start: dialplan lint one.xml (wall)",
            cold_ms,
            "ms",
            f"<= {TARGET_COLD_MS:g} ms",
            cold_ms <= TARGET_COLD_MS,
            note=f"CPU {1000 * cold_lint['cpu_s']:.0f} ms, median of {cold}",
        )
    )
    figures.append(
        Figure(
            "floor: python -c 'import lxml.etree' (wall)",
            1000 * floor["wall_s"],
            "ms",
            note=f"CPU {1000 * floor['cpu_s']:.0f} ms; bare python {1000 * bare['wall_s']:.0f} ms",
        )
    )
    over = 1000 * (cold_lint["wall_s"] - floor["wall_s"])
    figures.append(
        Figure(
            "cold start above the floor (wall)",
            over,
            "ms",
            f"<= {TARGET_COLD_OVER_FLOOR_MS:g} ms",
            over <= TARGET_COLD_OVER_FLOOR_MS,
            note=f"CPU {1000 * (cold_lint['cpu_s'] - floor['cpu_s']):.0f} ms above the floor's",
        )
    )
    figures.append(Figure("peak RSS, dialplan lint DIR", lint_cli["max_rss_mb"], "MiB"))
    stages = details["stages_per_file"]
    figures.append(
        Figure(
            "in-process stages per file",
            stages["total_us"],
            "us",
            note=", ".join(f"{k[:-3]} {v:.0f}" for k, v in stages.items() if k != "total_us"),
        )
    )
    details["median_of"] = {"lint_and_xmllint_runs": reps, "cold_runs": cold}
    flag = " --quick" if quick else ""
    return Report(
        "lint",
        figures,
        command=f"python -m tools.bench lint{flag}",
        details=details,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return cli("lint", run, argv)


__all__ = ["main", "median", "replicate", "run", "sources", "stage_split"]

if __name__ == "__main__":
    raise SystemExit(main())
