"""``dialplan simulate``: play one scripted call and print a transcript or the JSON result."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..engine.result import CallResult
from ..errors import InvalidDialplan, UsageError


def pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    """``NAME=VALUE`` options into a dict (raise UsageError on a missing ``=``)."""
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"bad {what} {item!r}: use NAME=VALUE")
        out[name.strip()] = value
    return out


def load_or_report(path: str, refused: str = "not simulated") -> object:
    """Load a dialplan; on errors print every error diagnostic and exit 1 (a missing file is a
    usage error: exit 2)."""
    from pathlib import Path

    from .._api import load

    if not Path(path).is_file():
        raise UsageError(f"no such file: {path}")
    try:
        return load(path)
    except InvalidDialplan as exc:
        for d in exc.diagnostics:
            if d.severity.name == "ERROR":
                click.echo(f"{d.file}:{d.line}:{d.column}: {d.code} {d.message}", err=True)
        click.echo(f"dialplan: {path} has errors; {refused}", err=True)
        sys.exit(1)


def transcript(result: CallResult) -> str:
    """A readable account of the call: who says what, what was pressed, where it jumped."""
    lines = []
    for entry in result.trace:
        lines.append(f"{entry.t:8.1f}s  {entry.actor:<7} {entry.text}")
    lines.append("")
    summary = f"outcome: {result.outcome}"
    if result.error:
        summary += f" ({result.error})"
    lines.append(f"{summary}   steps: {result.steps}   duration: {result.duration_s:.1f} s")
    if result.responses:
        answers = ", ".join(f"{r['question']}={r['response']}" for r in result.responses)
        lines.append(f"responses: {answers}")
    if result.transfer is not None:
        t = result.transfer
        lines.append(
            f"transfer: {', '.join(t['numbers'])} ({t['mode']}, callerid {t['callerid'] or '-'})"
            f" -> {t['outcome']}"
        )
    if result.variables:
        lines.append("variables: " + ", ".join(f"{k}={v}" for k, v in result.variables.items()))
    return "\n".join(lines) + "\n"


def _given(value: str | None, default: str) -> str:
    return default if value is None else value


def _http_pairs(values: tuple[str, ...]) -> dict[str, str]:
    """``URL=BODY``: split at the first ``=`` after the URL's path (query strings keep theirs)."""
    out: dict[str, str] = {}
    for item in values:
        url, sep, body = item.rpartition("=")
        if not sep or not url:
            raise UsageError(f"bad --http {item!r}: use URL=BODY")
        out[url] = body
    return out


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--amd", type=click.Choice(["live", "machine"]), default="live", show_default=True,
              help="Answering-machine detection result.")  # fmt: skip
@click.option("--input", "inputs", multiple=True, metavar="KEYS",
              help="What the caller does at the next input: keys (1, 5551234567#), "
                   "'timeout' (silence) or 'hangup'. Repeat in order; afterwards the caller is silent.")  # fmt: skip
@click.option("--transfer", type=click.Choice(["answered", "no_answer", "busy", "failed"]),
              default="answered", show_default=True, help="How transfers end.")  # fmt: skip
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="Preset a variable; call.callerid/call.phonenumber/call.dnis and contact.* "
                   "set those values.")  # fmt: skip
@click.option("--contact", "contact", multiple=True, metavar="FIELD=VALUE",
              help="A contact field (firstName) or column (A-ZZ).")  # fmt: skip
@click.option("--http", "http", multiple=True, metavar="URL=BODY",
              help="Answer <get>/<post> to URL with BODY (status 200); other requests fail.")  # fmt: skip
@click.option("--callerid", default=None, help="call.callerid (default 15555550100).")
@click.option("--phonenumber", default=None, help="call.phonenumber (default 15555550123).")
@click.option(
    "--dnis", default=None, help="call.dnis: the number that was dialled (default empty)."
)
@click.option("--now", default=None, help="Virtual start time, ISO 8601 UTC (default 2026-01-05T15:30:00Z).")  # fmt: skip
@click.option("--max-steps", type=click.IntRange(min=1), default=10_000, show_default=True)
@click.option("--js-budget", "js_budget_s", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="JavaScript seconds per call (virtual time: 1 ms per evaluation).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of JavaScript's Math.random (the same seed gives the same call).")  # fmt: skip
@click.option("--max-value-length", type=click.IntRange(min=1), default=65_536, show_default=True,
              help="Longest value of one variable or answer, in characters.")  # fmt: skip
@click.option("--max-values-length", type=click.IntRange(min=1), default=1_048_576,
              show_default=True, help="All values of the call together, in characters.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)  # fmt: skip
def simulate(
    file: str,
    amd: str,
    inputs: tuple[str, ...],
    transfer: str,
    variables: tuple[str, ...],
    contact: tuple[str, ...],
    http: tuple[str, ...],
    callerid: str | None,
    phonenumber: str | None,
    dnis: str | None,
    now: str | None,
    max_steps: int,
    js_budget_s: float,
    seed: int,
    max_value_length: int,
    max_values_length: int,
    fmt: str,
) -> None:
    """Simulate one call through FILE on a virtual clock and show what happened.

    Warns on stderr (and in JSON under "warnings") about --input values the call never used
    and ${contact.*} fields the plan reads that were not given or are empty.
    Exit status: 0 the call ran to an end, 1 the dialplan is invalid or the call ended with a
    runtime error (a step, duration, JavaScript or value-length limit), 2 usage error.
    """
    from ..drivers.simulate import DEFAULT_CALLERID, DEFAULT_PHONENUMBER
    from ..drivers.simulate import simulate as run
    from ..drivers.simwarnings import run_variable_notes, simulate_warnings

    plan: Any = load_or_report(file)
    preset = pairs(variables, "--var")
    fields = pairs(contact, "--contact")
    call_values = {"callerid": callerid, "phonenumber": phonenumber, "dnis": dnis}
    for name in [n for n in preset if "." in n]:
        head, _, rest = name.partition(".")
        if head == "call" and rest in call_values:
            value = preset.pop(name)
            if call_values[rest] is None:  # the explicit option wins
                call_values[rest] = value
        elif head == "contact" and rest:
            fields.setdefault(rest, preset.pop(name))
        else:
            raise UsageError(
                f"--var {name}: only user variables, call.callerid, call.phonenumber, "
                "call.dnis and contact.* can be preset"
            )
    result = run(
        plan,
        amd=amd,
        inputs=list(inputs),
        transfer=transfer,
        variables=preset,
        contact=fields,
        http=_http_pairs(http) or None,
        now=now,
        max_steps=max_steps,
        js_budget_s=js_budget_s,
        seed=seed,
        max_value_length=max_value_length,
        max_values_length=max_values_length,
        trace=fmt == "text",
        callerid=_given(call_values["callerid"], DEFAULT_CALLERID),
        phonenumber=_given(call_values["phonenumber"], DEFAULT_PHONENUMBER),
        dnis=_given(call_values["dnis"], ""),
    )
    warnings = simulate_warnings(plan, result, inputs, fields)
    for warning in warnings:
        click.echo(f"dialplan: warning: {warning}", err=True)
    for note in run_variable_notes(plan, fields):
        click.echo(f"dialplan: note: {note}", err=True)
    if fmt == "json":
        doc = result.to_dict()
        doc["warnings"] = warnings
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        click.echo(transcript(result), nl=False)
    if result.outcome == "error":
        sys.exit(1)
