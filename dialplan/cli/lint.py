"""``dialplan lint`` and ``dialplan rules``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..errors import UsageError
from ..lint.config import discover_config, load_config, split_codes
from ..lint.formatters import FORMATTERS, format_text
from ..lint.linter import dialplan_files, failed, lint_paths


def _use_color(stream: object) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATTERS)),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--select", multiple=True, help="Only these codes or prefixes (E, W06, E041); comma-separated."
)
@click.option("--ignore", multiple=True, help="Skip these codes or prefixes; comma-separated.")
@click.option("--strict/--no-strict", default=None, help="Warnings fail the run too.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="A TOML config file (default: [tool.dialplan.lint] of the nearest pyproject.toml).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report to a file.")
def lint(
    paths: tuple[str, ...],
    fmt: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    strict: bool | None,
    config_path: str | None,
    output: str | None,
) -> None:
    """Lint dialplan files and directories (recursing into *.xml and Callr *.yaml); report
    every finding.

    Exit status: 0 no errors, 1 at least one error (or warning with --strict), 2 usage error.
    """
    config = load_config(config_path) if config_path else discover_config(Path.cwd())
    config = config.merged(split_codes(select), split_codes(ignore), strict)
    for path in paths:
        if Path(path).is_dir() and next(dialplan_files(Path(path)), None) is None:
            click.echo(
                f"dialplan: warning: no dialplan files (*.xml, Callr *.yaml) in directory {path}",
                err=True,
            )
    diags = lint_paths(paths, config)
    if fmt == "text":
        report = format_text(diags, color=output is None and _use_color(sys.stdout))
    else:
        report = FORMATTERS[fmt](diags)
    if output:
        try:
            Path(output).write_text(report, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    else:
        click.echo(report, nl=False)
    if failed(diags, config.strict):
        sys.exit(1)


@click.command()
@click.argument("code", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def rules(code: str | None, fmt: str) -> None:
    """List every lint rule, or explain one (dialplan rules W070)."""
    import json

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
    rows = [(c, n, "error", t) for c, (n, t) in PIPELINE_CODES.items()]
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
