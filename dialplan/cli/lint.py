"""``dialplan lint`` and ``dialplan rules``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

from ..errors import UsageError
from ..lint import cache
from ..lint.cache import LintCache
from ..lint.config import ConfigFinder, LintConfig, load_config, split_codes
from ..lint.formatters import FORMATTERS, format_statistics, format_text
from ..lint.linter import dialplan_files, failed, lint_run, lint_source


def _use_color(stream: object) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def with_sound_library(config: LintConfig, db: str) -> LintConfig:
    """``config`` with the ids and names of ``db``'s sound library for E072."""
    from dataclasses import replace

    from ..lint.rules.sounds import OPTION
    from ..sounds.library import library_names

    if not Path(db).is_file():
        raise UsageError(f"--sounds-db: no database {db}")
    option = {"names": sorted(library_names(db) or ())}
    return replace(config, rule_options={**config.rule_options, OPTION: option})


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATTERS)),
    default="text",
    show_default=True,
    help="Output format (text shows each finding's source line; concise does not).",
)
@click.option(
    "--select", multiple=True, help="Only these codes or prefixes (E, W06, E041); comma-separated."
)
@click.option(
    "--extend-select", multiple=True, help="Codes or prefixes to add to the configured selection."
)
@click.option("--ignore", multiple=True, help="Skip these codes or prefixes; comma-separated.")
@click.option("--strict/--no-strict", default=None, help="Warnings fail the run too.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="A TOML config file for every file (default: each file's nearest dialplan.toml, or "
    "pyproject.toml with a [tool.dialplan.lint] table).",
)
@click.option(
    "--stdin-filename",
    help="The name to report (and to find the configuration from) for the file read from '-'.",
)
@click.option("--statistics", is_flag=True, help="Count the findings per code instead of listing.")
@click.option(
    "--no-cache", is_flag=True, help="Lint every file, neither reading nor writing the cache."
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    help="Where the cache lives (default: cache-dir setting, $DIALPLAN_CACHE_DIR, .dialplan_cache).",
)
@click.option("--fix", is_flag=True, help="Repair the findings whose repair is certain.")
@click.option("--diff", is_flag=True, help="Show the --fix repairs as a diff; change nothing.")
@click.option(
    "--unsafe-fixes", is_flag=True, help="Also repairs that change a value (URL whitespace)."
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to a file.")
@click.option(
    "--sounds-db",
    type=click.Path(dir_okay=False),
    help='A campaign database whose sound library <play type="callfireid"> must name (E072).',
)
def lint(
    paths: tuple[str, ...],
    fmt: str,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    strict: bool | None,
    config_path: str | None,
    stdin_filename: str | None,
    statistics: bool,
    no_cache: bool,
    cache_dir: str | None,
    fix: bool,
    diff: bool,
    unsafe_fixes: bool,
    output: str | None,
    sounds_db: str | None,
) -> None:
    """Lint dialplan files and directories (recursing into *.xml and Callr *.yaml); report
    every finding.

    '-' reads one dialplan from standard input. Inline comments silence findings:
    <!-- dialplan: ignore[W070] --> on the line before, <!-- dialplan: ignore-file[W070] -->
    for the whole file.

    Exit status: 0 no errors, 1 at least one error (or warning with --strict), 2 usage error.
    """
    cli_select, cli_ignore = split_codes(select), split_codes(ignore)
    cli_extend = split_codes(extend_select)
    finder = ConfigFinder()
    explicit = load_config(config_path) if config_path else None

    merged: dict[int, LintConfig] = {}

    def config_of(path: Path) -> LintConfig:
        base = explicit if explicit is not None else finder.for_file(path)
        found = merged.get(id(base))
        if found is None:  # (the finder keeps each base alive: ids are not reused)
            found = base.merged(cli_select, cli_ignore, strict, cli_extend)
            if sounds_db is not None:
                found = with_sound_library(found, sounds_db)
            merged[id(base)] = found
        return found

    top = config_of(Path.cwd() / "-")
    for path in paths:
        if Path(path).is_dir() and next(dialplan_files(Path(path)), None) is None:
            click.echo(
                f"dialplan: warning: no dialplan files (*.xml, Callr *.yaml) in directory {path}",
                err=True,
            )
    files = [p for p in paths if p != "-"]
    if fix or diff:
        _fix(paths, config_of, stdin_filename, diff, unsafe_fixes, top)
        return
    stdin_text: str | None = None
    diags = []
    checked = 0
    if len(files) != len(paths):
        data = click.get_binary_stream("stdin").read()
        name = stdin_filename or "-"
        stdin_path = Path(name)
        diags.extend(lint_source(data, name, config_of(stdin_path).for_file(stdin_path)))
        stdin_text = _decode(data)
        checked += 1
    if files:
        cache = None if no_cache else LintCache(_cache_dir(cache_dir, top))
        run = lint_run(files, config_of, cache=cache)
        diags.extend(run.diagnostics)
        checked += run.files
    if fmt == "text" and statistics:
        report = format_statistics(diags, checked)
    elif fmt == "text":
        lines = _SourceLines({stdin_filename or "-": stdin_text} if stdin_text is not None else {})
        color = output is None and _use_color(sys.stdout)
        report = format_text(diags, color=color, source=lines, checked=checked)
    else:
        report = FORMATTERS[fmt](diags)
    if output:
        try:
            Path(output).write_text(report, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    else:
        click.echo(report, nl=False)
    if failed(diags, top.strict):
        sys.exit(1)


def _fix(
    paths: tuple[str, ...],
    config_of: Callable[[Path], LintConfig],
    stdin_filename: str | None,
    diff: bool,
    unsafe: bool,
    top: LintConfig,
) -> None:
    """``--fix``/``--diff``: repair (or show the repairs of) each file, then report what is left.

    With ``-`` the repaired text goes to standard output (the report to standard error).
    """
    from ..lint.fixes import fix_source, unified_diff
    from ..lint.linter import iter_files

    jobs: list[tuple[str, bytes | None]] = []
    for raw in paths:
        if raw == "-":
            jobs.append((stdin_filename or "-", click.get_binary_stream("stdin").read()))
        else:
            jobs.extend((str(p), None) for p in iter_files([raw], config_of))
    left = []
    fixed = changed = 0
    to_stdout = any(raw == "-" for raw in paths)
    for name, data in jobs:
        from_stdin = data is not None
        if data is None:
            try:
                data = Path(name).read_bytes()
            except OSError as exc:
                raise UsageError(f"cannot read {name}: {exc.strerror}") from None
        result = fix_source(data, name, config_of(Path(name)).for_file(Path(name)), unsafe)
        fixed += result.fixed
        changed += result.changed
        left.extend(result.diagnostics)
        if diff:
            click.echo(unified_diff(result, name), nl=False)
        elif from_stdin:
            click.get_binary_stream("stdout").write(result.encoded())
        elif result.changed:
            try:
                Path(name).write_bytes(result.encoded())
            except OSError as exc:
                raise UsageError(f"cannot write {name}: {exc.strerror}") from None
    out = sys.stderr if (to_stdout and not diff) or diff else sys.stdout
    if diff:
        n = f"{fixed} fix{'es' * (fixed != 1)}"
        click.echo(f"would apply {n} in {changed} file{'s' * (changed != 1)}", file=out)
        sys.exit(1 if changed else 0)
    if not to_stdout:
        click.echo(
            format_text(
                left, color=_use_color(sys.stdout), source=_SourceLines({}), checked=len(jobs)
            ),
            nl=False,
        )
    else:
        click.echo(format_text(left, checked=len(jobs)), nl=False, file=out)
    click.echo(
        f"fixed {fixed} finding{'s' * (fixed != 1)} in {changed} file{'s' * (changed != 1)}",
        file=out,
    )
    if failed(left, top.strict):
        sys.exit(1)


def _cache_dir(option: str | None, config: LintConfig) -> str:
    return option or config.cache_dir or os.environ.get("DIALPLAN_CACHE_DIR") or cache.DEFAULT_DIR


def _decode(data: bytes) -> str:
    from ..parse import detect_encoding

    try:
        return data.decode(detect_encoding(data), errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


class _SourceLines:
    """A finding's source line, each file read (and decoded like the parser does) once."""

    def __init__(self, texts: dict[str, str]) -> None:
        self._lines = {name: text.splitlines() for name, text in texts.items()}

    def __call__(self, file: str, line: int) -> str | None:
        if file not in self._lines:
            try:
                from ..parse import detect_encoding

                data = Path(file).read_bytes()
                self._lines[file] = data.decode(
                    detect_encoding(data), errors="replace"
                ).splitlines()
            except (OSError, LookupError, ValueError):
                self._lines[file] = []
        lines = self._lines[file]
        return lines[line - 1] if 0 < line <= len(lines) else None


@click.command()
@click.argument("code", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def rules(code: str | None, fmt: str) -> None:
    """List every lint rule, or explain one (dialplan rules W070)."""
    import json

    from ..diagnostics import Severity
    from ..lint.registry import PIPELINE_CODES, all_rules

    registry = all_rules()
    if code:
        code = code.upper()
        rule = registry.get(code)
        if rule is None and code in PIPELINE_CODES:
            name, text = PIPELINE_CODES[code]
            click.echo(f"{code} {name}\n\n{text}")
            return
        if rule is None:
            raise UsageError(f"unknown rule code: {code} (see 'dialplan rules')")
        if fmt == "json":
            click.echo(
                json.dumps(
                    {
                        "code": rule.code,
                        "name": rule.name,
                        "family": rule.family,
                        "severity": rule.severity.label,
                        "doc": rule.doc,
                    },
                    indent=2,
                )
            )
        else:
            click.echo(
                f"{rule.code} {rule.name} ({rule.severity.label}, {rule.family})\n\n"
                + _plain(rule.doc)
            )
        return
    rows = [(c, n, Severity.from_code(c).label, t) for c, (n, t) in PIPELINE_CODES.items()]
    rows += [(r.code, r.name, r.severity.label, r.summary) for r in registry.values()]
    rows.sort()
    if fmt == "json":
        click.echo(
            json.dumps(
                [{"code": c, "name": n, "severity": s, "summary": t} for c, n, s, t in rows],
                indent=2,
            )
        )
        return
    for c, n, s, t in rows:
        click.echo(f"{c}  {n:<28} {s:<8} {_plain(t)}")


def _plain(text: str) -> str:
    """Docstring markup for a terminal: reST ````code```` becomes Markdown-style `code`."""
    return text.replace("``", "`")
