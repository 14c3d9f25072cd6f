"""Run every selected rule over one file or many: parse → schema → model → rules → diagnostics."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from ..diagnostics import Diagnostic, Severity, make, sort_diagnostics
from ..errors import UsageError
from ..model import Plan, build_plan
from ..parse import ParsedDocument, ParseFailure, parse, read_source
from .cache import LintCache
from .config import LintConfig
from .context import LintContext
from .registry import CODES, PIPELINE_CODES, all_rules
from .suppress import apply_suppressions


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
    """Diagnostics for one dialplan (path, XML text or bytes), sorted by position.

    Inline suppression comments (:mod:`dialplan.lint.suppress`) are applied.
    """
    config = config or LintConfig()
    try:
        doc = parse(read_source(src, name))
    except ParseFailure as failure:
        return [failure.diagnostic] if config.enabled(failure.diagnostic.code) else []
    return lint_document(doc, config)


def lint_document(doc: ParsedDocument, config: LintConfig | None = None) -> list[Diagnostic]:
    """Diagnostics for a parsed document, suppressions applied, sorted by position."""
    config = config or LintConfig()
    found = check_document(doc, config)
    found = apply_suppressions(found, doc.text, doc.source.name, config.enabled, _known)
    return sort_diagnostics(found)


def _known(code: str) -> bool:
    return code in all_rules() or code in PIPELINE_CODES


#: The configuration of each file: one for all, or one per file (e.g. :class:`ConfigFinder`).
Configs = LintConfig | Callable[[Path], LintConfig]


def _config_of(configs: Configs | None, path: Path) -> LintConfig:
    if configs is None:
        return LintConfig()
    if isinstance(configs, LintConfig):
        return configs
    return configs(path)


def iter_files(
    paths: Iterable[str | os.PathLike[str]], config: Configs | None = None
) -> Iterator[Path]:
    """The files to lint: given files as they are, directories searched for ``*.xml`` and
    Callr scenarios (``*.yaml``/``*.yml`` with a top-level ``branches:`` or the
    ``dialplan: yaml`` marker; other YAML, such as CI configuration, is not a dialplan)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in sorted(dialplan_files(path), key=str):  # (Path.__lt__ is slow)
                if not _config_of(config, found).excluded(found):
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


class LintRun(NamedTuple):
    """What one run found, and how many files it checked (and how many came from the cache)."""

    diagnostics: list[Diagnostic]
    files: int
    cached: int = 0


def lint_paths(
    paths: Iterable[str | os.PathLike[str]],
    config: Configs | None = None,
    jobs: int | None = None,
) -> list[Diagnostic]:
    """All findings of all files, sorted by file, line and column (see :func:`lint_run`)."""
    return lint_run(paths, config, jobs).diagnostics


def lint_run(
    paths: Iterable[str | os.PathLike[str]],
    config: Configs | None = None,
    jobs: int | None = None,
    cache: LintCache | None = None,
) -> LintRun:
    """Lint every file; ``config`` is one configuration or a function giving each file's.

    ``jobs`` is the number of worker processes; by default (or ``DIALPLAN_LINT_JOBS``) one per
    CPU when there are at least :data:`PARALLEL_MIN_FILES` files to lint, else none. The result
    does not depend on it. With a ``cache``, unchanged files (same content, configuration and
    version) are not linted again, and the cache is saved at the end.
    """
    todo: list[tuple[str, LintConfig]] = []
    found: list[Diagnostic] = []
    keys: dict[str, str] = {}
    count = hits = 0
    for path in iter_files(paths, config):
        count += 1
        file_config = _config_of(config, path).for_file(path)
        name = str(path)
        if cache is not None:
            try:
                data = path.read_bytes()
            except OSError:
                data = None
            if data is not None:
                key = LintCache.key(data, file_config)
                known = cache.get(key, name)
                if known is not None:
                    found.extend(known)
                    hits += 1
                    continue
                keys[name] = key
        todo.append((name, file_config))
    fresh = _lint_all(todo, jobs)
    if cache is not None:
        by_file: dict[str, list[Diagnostic]] = {name: [] for name in keys}
        for d in fresh:
            if d.file in by_file:
                by_file[d.file].append(d)
        for name, key in keys.items():
            if not any(d.code == "E000" for d in by_file[name]):
                cache.put(key, by_file[name])
        cache.save()
    found.extend(fresh)
    return LintRun(sort_diagnostics(found), count, hits)


def _lint_all(todo: list[tuple[str, LintConfig]], jobs: int | None) -> list[Diagnostic]:
    workers = _workers(len(todo), jobs)
    if workers <= 1:
        return _lint_files(todo)
    import multiprocessing

    from .. import schema
    from ..forking import start_method

    all_rules()  # import the rule modules and compile the schema once, before forking
    schema.compiled()
    chunks = [todo[i : i + _CHUNK] for i in range(0, len(todo), _CHUNK)]
    found: list[Diagnostic] = []
    # fork is the fast start (the schema and rules are inherited), but only safe in a process
    # with no other thread (see dialplan.forking); otherwise a fresh forkserver
    with multiprocessing.get_context(start_method("forkserver")).Pool(workers) as pool:
        for part in pool.imap_unordered(_lint_files, chunks):
            found.extend(part)
    return found


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


def _lint_files(todo: Iterable[tuple[str, LintConfig]]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for path, config in todo:
        try:
            found.extend(lint_source(path, path, config))
        except Exception as exc:  # one file's bug must not stop the others (E000)
            if os.environ.get("DIALPLAN_DEBUG"):
                raise
            message = f"linting this file failed: {type(exc).__name__}: {exc}"
            found.append(make("E000", CODES["E000"][0], message[:500], file=path))
    return found


def failed(diags: Iterable[Diagnostic], strict: bool = False) -> bool:
    """Whether the run fails: any error, or (strict) any warning."""
    worst = Severity.WARNING if strict else Severity.ERROR
    return any(d.severity >= worst for d in diags)
