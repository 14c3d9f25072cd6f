"""Run every selected rule over one file or many: parse → schema → model → rules → diagnostics."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..diagnostics import Diagnostic, Severity, make, sort_diagnostics
from ..errors import UsageError
from ..model import Plan, build_plan
from ..parse import ParsedDocument, ParseFailure, parse, read_source
from .config import LintConfig
from .context import LintContext
from .registry import CODES, all_rules


def check_document(
    doc: ParsedDocument, config: LintConfig | None = None, plan: Plan | None = None
) -> list[Diagnostic]:
    """All findings for an already parsed document (unsorted).

    The errors come from the validation stage (:func:`dialplan.validate.errors_in`, the same
    pass ``dialplan.load`` makes), the warnings and infos from the other selected rules, run on
    the same context. ``plan`` is ``build_plan(doc)`` when the caller has it already.
    """
    from ..validate import errors_in

    config = config or LintConfig()
    file = doc.source.name
    plan = plan if plan is not None else build_plan(doc)
    ctx = LintContext(plan, doc, config.rule_options)
    found = errors_in(ctx)
    for rule in all_rules().values():
        if rule.severity is not Severity.ERROR and config.enabled(rule.code):
            found.extend(rule.findings(ctx, file))
    return [d for d in found if config.enabled(d.code)]


def lint_source(
    src: str | bytes | os.PathLike[str], name: str | None = None, config: LintConfig | None = None
) -> list[Diagnostic]:
    """Diagnostics for one dialplan (path, XML text or bytes), sorted by position."""
    config = config or LintConfig()
    try:
        doc = parse(read_source(src, name))
    except ParseFailure as failure:
        return [failure.diagnostic] if config.enabled(failure.diagnostic.code) else []
    return sort_diagnostics(check_document(doc, config))


def iter_files(
    paths: Iterable[str | os.PathLike[str]], config: LintConfig | None = None
) -> Iterator[Path]:
    """The files to lint: given files as they are, directories searched for ``*.xml`` and
    Callr scenarios (``*.yaml``/``*.yml`` with a top-level ``branches:`` or the
    ``dialplan: yaml`` marker; other YAML, such as CI configuration, is not a dialplan)."""
    config = config or LintConfig()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in sorted(dialplan_files(path)):
                if not config.excluded(found):
                    yield found
        elif path.exists():
            yield path
        else:
            raise UsageError(f"no such file or directory: {raw}")


_SCENARIO = re.compile(rb"^(?:branches|dialplan)\s*:", re.M)


def dialplan_files(directory: Path) -> Iterator[Path]:
    """The dialplans under ``directory``: ``*.xml`` and Callr scenarios."""
    for found in directory.rglob("*"):
        if not found.is_file():
            continue
        suffix = found.suffix.lower()
        if suffix == ".xml":
            yield found
        elif suffix in (".yaml", ".yml"):
            try:
                with found.open("rb") as fh:
                    head = fh.read(65536)
            except OSError:
                continue
            if _SCENARIO.search(head):
                yield found


#: From this many files on, ``lint_paths`` spreads the work over one process per CPU.
PARALLEL_MIN_FILES = 200
_CHUNK = 64


def lint_paths(
    paths: Iterable[str | os.PathLike[str]],
    config: LintConfig | None = None,
    jobs: int | None = None,
) -> list[Diagnostic]:
    """All findings of all files, sorted by file, line and column.

    ``jobs`` is the number of worker processes; by default (or ``DIALPLAN_LINT_JOBS``) one per
    CPU when there are at least :data:`PARALLEL_MIN_FILES` files, else none. The result does not
    depend on it.
    """
    config = config or LintConfig()
    files = [str(path) for path in iter_files(paths, config)]
    workers = _workers(len(files), jobs)
    if workers <= 1:
        return sort_diagnostics(_lint_files(files, config))
    import multiprocessing

    from .. import schema

    all_rules()  # import the rule modules and compile the schema once, before forking
    schema.compiled()
    chunks = [files[i : i + _CHUNK] for i in range(0, len(files), _CHUNK)]
    found: list[Diagnostic] = []
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for part in pool.imap_unordered(_lint_chunk, [(chunk, config) for chunk in chunks]):
            found.extend(part)
    return sort_diagnostics(found)


def _workers(count: int, jobs: int | None) -> int:
    if jobs is None:
        env = os.environ.get("DIALPLAN_LINT_JOBS", "")
        jobs = int(env) if env.isdigit() else None
    if jobs is None:
        jobs = (os.cpu_count() or 1) if count >= PARALLEL_MIN_FILES else 1
    workers = max(1, min(jobs, (count + _CHUNK - 1) // _CHUNK))
    if workers == 1:
        return 1  # (without importing multiprocessing: it costs start-up time)
    import multiprocessing

    return workers if "fork" in multiprocessing.get_all_start_methods() else 1


def _lint_files(files: Iterable[str], config: LintConfig) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for path in files:
        try:
            found.extend(lint_source(path, path, config))
        except Exception as exc:  # one file's bug must not stop the others (E000)
            if os.environ.get("DIALPLAN_DEBUG"):
                raise
            message = f"linting this file failed: {type(exc).__name__}: {exc}"
            found.append(make("E000", CODES["E000"][0], message[:500], file=path))
    return found


def _lint_chunk(job: tuple[list[str], LintConfig]) -> list[Diagnostic]:
    return _lint_files(*job)


def failed(diags: Iterable[Diagnostic], strict: bool = False) -> bool:
    """Whether the run fails: any error, or (strict) any warning."""
    worst = Severity.WARNING if strict else Severity.ERROR
    return any(d.severity >= worst for d in diags)
