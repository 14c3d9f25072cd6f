"""Call tests for dialplan designers: TOML scenario files, expectations, branch coverage.

A scenario file names a dialplan and lists cases; each case is one simulated call (AMD verdict,
caller inputs, contact fields…) with expectations on its result. The format is documented in
``docs/testing-dialplans.md``. ``dialplan test`` is the command-line front end.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.result import CallResult
from ..errors import UsageError
from ..model import Plan

CASE_KEYS = frozenset(
    {
        "name",
        "amd",
        "inputs",
        "transfer",
        "contact",
        "variables",
        "callerid",
        "phonenumber",
        "dnis",
        "now",
        "http",
        "max_steps",
        "js_budget_s",
        "max_value_length",
        "max_values_length",
        "seed",
        "expect",
    }
)
EXPECT_KEYS = frozenset(
    {
        "outcome",
        "error",
        "prompts",
        "prompts_include",
        "prompts_exclude",
        "responses",
        "variables",
        "transfer",
        "sms",
        "dnc",
        "max_steps",
    }
)


@dataclass(slots=True)
class Case:
    name: str
    options: dict[str, Any]
    expect: dict[str, Any]


@dataclass(slots=True)
class Scenario:
    """One scenario file: the dialplan it tests and its cases."""

    path: str
    dialplan: str
    cases: list[Case]


@dataclass(slots=True)
class CaseResult:
    scenario: str
    case: str
    failures: list[str]
    result: CallResult | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(slots=True)
class Branch:
    """One branch a call can take: ``(index, label)`` as recorded in ``CallResult.decisions``."""

    index: int
    label: str
    where: str
    line: int


@dataclass(slots=True)
class Coverage:
    branches: list[Branch] = field(default_factory=list)
    taken: set[tuple[int, str]] = field(default_factory=set)

    @property
    def missed(self) -> list[Branch]:
        return [b for b in self.branches if (b.index, b.label) not in self.taken]

    @property
    def percent(self) -> float:
        if not self.branches:
            return 100.0
        return 100.0 * (len(self.branches) - len(self.missed)) / len(self.branches)


def read_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Parse and check a scenario file (raise :class:`UsageError` with the file and reason)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {p}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{p}: not valid TOML: {exc}") from None
    return scenario_from_dict(data, str(p), base=p.parent)


def scenario_from_dict(
    data: Mapping[str, Any], source: str = "<scenario>", base: Path | None = None
) -> Scenario:
    plan = data.get("dialplan")
    if not isinstance(plan, str) or not plan:
        raise UsageError(
            f"{source}: 'dialplan' (path of the dialplan, relative to this file) is required"
        )
    plan_path = str((base / plan) if base is not None and not os.path.isabs(plan) else plan)
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise UsageError(f"{source}: [defaults] must be a table")
    raw_cases = data.get("case", [])
    if not isinstance(raw_cases, list) or not raw_cases:
        raise UsageError(f"{source}: no [[case]] tables")
    unknown_top = set(data) - {"dialplan", "defaults", "case", "description"}
    if unknown_top:
        raise UsageError(f"{source}: unknown key(s) {', '.join(sorted(unknown_top))}")
    cases = []
    for number, raw in enumerate(raw_cases, 1):
        if not isinstance(raw, dict):
            raise UsageError(f"{source}: case {number} must be a table")
        merged = {**defaults, **raw}
        name = str(merged.get("name") or f"case {number}")
        unknown = set(merged) - CASE_KEYS
        if unknown:
            raise UsageError(
                f"{source}: case {name!r}: unknown key(s) {', '.join(sorted(unknown))}"
            )
        expect = merged.get("expect", {})
        if not isinstance(expect, dict):
            raise UsageError(f"{source}: case {name!r}: [case.expect] must be a table")
        unknown = set(expect) - EXPECT_KEYS
        if unknown:
            raise UsageError(
                f"{source}: case {name!r}: unknown expectation(s) {', '.join(sorted(unknown))}"
            )
        options = {k: v for k, v in merged.items() if k not in ("name", "expect")}
        problem = _check_options(options) or _check_expect(expect)
        if problem:
            raise UsageError(f"{source}: case {name!r}: {problem}")
        cases.append(Case(name, options, expect))
    return Scenario(source, plan_path, cases)


_TABLES = ("contact", "variables", "http")
_STRINGS = ("amd", "callerid", "phonenumber", "dnis", "now")


def _check_options(options: Mapping[str, Any]) -> str | None:
    for key in _TABLES:
        if key in options and not isinstance(options[key], dict):
            return f"{key} must be a table"
    for key in _STRINGS:
        if key in options and not isinstance(options[key], str):
            return f"{key} must be a string"
    inputs = options.get("inputs", [])
    if not isinstance(inputs, list | str) or (
        isinstance(inputs, list) and not all(isinstance(i, str | int) for i in inputs)
    ):
        return "inputs must be a list of strings"
    transfer = options.get("transfer", "answered")
    if not isinstance(transfer, str | list):
        return "transfer must be a string or a list of strings"
    for key in ("max_steps", "max_value_length", "max_values_length"):
        if key in options and (not isinstance(options[key], int) or options[key] < 1):
            return f"{key} must be a positive integer"
    if "seed" in options and (
        isinstance(options["seed"], bool) or not isinstance(options["seed"], int)
    ):
        return "seed must be an integer"
    budget = options.get("js_budget_s", 1.0)
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not budget > 0:
        return "js_budget_s must be a positive number of seconds"
    return _check_values(options)


def _check_values(options: Mapping[str, Any]) -> str | None:
    """The values ``simulate`` would refuse (bad amd, input, transfer outcome, time): a
    scenario-file error, reported before any case runs."""
    from ..drivers.sim import check_input
    from ..drivers.simulate import TRANSFER_OUTCOMES, to_epoch

    amd = options.get("amd", "live")
    if amd not in ("live", "machine"):
        return f"bad amd {amd!r}: use live or machine"
    inputs = options.get("inputs", [])
    try:
        for item in [inputs] if isinstance(inputs, str) else inputs:
            check_input(str(item))
        if "now" in options:
            to_epoch(options["now"])
    except UsageError as exc:
        return str(exc)
    transfer = options.get("transfer", "answered")
    for outcome in [transfer] if isinstance(transfer, str) else transfer:
        if outcome not in TRANSFER_OUTCOMES:
            return f"bad transfer outcome {outcome!r}: use one of {', '.join(TRANSFER_OUTCOMES)}"
    return None


def _check_expect(expect: Mapping[str, Any]) -> str | None:
    for key in ("prompts", "prompts_include", "prompts_exclude", "sms", "dnc"):
        if key in expect and not isinstance(expect[key], list):
            return f"expect.{key} must be a list"
    if "variables" in expect and not isinstance(expect["variables"], dict):
        return "expect.variables must be a table"
    if "transfer" in expect and not (
        isinstance(expect["transfer"], dict) or expect["transfer"] in ("none", False)
    ):
        return 'expect.transfer must be a table or "none"'
    if "responses" in expect and not isinstance(expect["responses"], dict | list):
        return "expect.responses must be a table or a list of {question, response}"
    return None


def run_case(plan: Plan, case: Case, scenario: str = "") -> CaseResult:
    """Simulate one case and compare the result with its expectations."""
    from ..drivers.simulate import simulate

    options = dict(case.options)
    inputs = options.pop("inputs", [])
    if isinstance(inputs, str):
        inputs = [inputs]
    try:
        result = simulate(plan, inputs=[str(i) for i in inputs], **options)
    except (UsageError, TypeError) as exc:
        # a bad value in the case: the scenario file is wrong, not the dialplan
        raise UsageError(f"{scenario or '<scenario>'}: case {case.name!r}: {exc}") from None
    return CaseResult(scenario, case.name, check(result, case.expect), result)


def _norm(text: str) -> str:
    return " ".join(text.split())


def check(result: CallResult, expect: Mapping[str, Any]) -> list[str]:
    """Every way ``result`` differs from ``expect`` (empty: the case passes)."""
    failures: list[str] = []
    if "outcome" in expect and result.outcome != expect["outcome"]:
        failures.append(f"outcome: expected {expect['outcome']!r}, got {result.outcome!r}")
    if "error" in expect:
        want = expect["error"]
        if want in (False, "none", ""):
            if result.error is not None:
                failures.append(f"error: expected none, got {result.error!r}")
        elif result.error is None or _norm(str(want)) not in _norm(result.error):
            failures.append(f"error: expected {want!r} in {result.error!r}")
    prompts = [_norm(p) for p in result.prompts]
    if "prompts" in expect:
        want_prompts = [_norm(str(p)) for p in expect["prompts"]]
        bad = [i for i, (w, p) in enumerate(zip(want_prompts, prompts, strict=False)) if w not in p]
        if bad:
            i = bad[0]
            failures.append(
                f"prompts[{i + 1}]: expected {want_prompts[i]!r} in {prompts[i]!r}"
                f" ({len(bad)} of {len(want_prompts)} prompts differ)"
            )
        elif len(want_prompts) != len(prompts):
            failures.append(
                f"prompts: expected {len(want_prompts)} prompts, heard {len(prompts)}: {prompts!r}"
            )
    if "prompts_include" in expect:
        position = 0
        for fragment in (_norm(str(f)) for f in expect["prompts_include"]):
            while position < len(prompts) and fragment not in prompts[position]:
                position += 1
            if position == len(prompts):
                failures.append(f"prompts_include: {fragment!r} not heard (in this order)")
                break
            position += 1
    for fragment in expect.get("prompts_exclude", []):
        if any(_norm(str(fragment)) in p for p in prompts):
            failures.append(f"prompts_exclude: {fragment!r} was heard")
    if "responses" in expect:
        want = _responses(expect["responses"])
        if want != result.responses:
            failures.append(f"responses: expected {want!r}, got {result.responses!r}")
    for name, value in expect.get("variables", {}).items():
        got = result.variables.get(name)
        if got != str(value):
            failures.append(f"variables.{name}: expected {str(value)!r}, got {got!r}")
    if "transfer" in expect:
        want_t = expect["transfer"]
        if want_t in ("none", False):
            if result.transfer is not None:
                failures.append(f"transfer: expected none, got {result.transfer!r}")
        elif result.transfer is None:
            failures.append("transfer: expected a transfer, none happened")
        else:
            for key, value in want_t.items():
                got_v = result.transfer.get(key)
                if got_v != value:
                    failures.append(f"transfer.{key}: expected {value!r}, got {got_v!r}")
    if "sms" in expect:
        from ..engine.effects import SendSms

        sent = [{"to": e.to, "text": e.text} for e in result.effects if isinstance(e, SendSms)]
        want_sms = [{"to": str(s["to"]), "text": str(s["text"])} for s in expect["sms"]]
        if sent != want_sms:
            failures.append(f"sms: expected {want_sms!r}, got {sent!r}")
    if "dnc" in expect:
        from ..engine.effects import AddToDnc

        added = [e.number for e in result.effects if isinstance(e, AddToDnc)]
        if added != [str(n) for n in expect["dnc"]]:
            failures.append(f"dnc: expected {expect['dnc']!r}, got {added!r}")
    if "max_steps" in expect and result.steps > int(expect["max_steps"]):
        failures.append(f"steps: expected at most {expect['max_steps']}, took {result.steps}")
    return failures


def _responses(value: Any) -> list[dict[str, str]]:
    if isinstance(value, Mapping):
        return [{"question": str(q), "response": str(r)} for q, r in value.items()]
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [{"question": str(r["question"]), "response": str(r["response"])} for r in value]
    raise UsageError("expect.responses must be a table or a list of {question, response}")


def branches(plan: Plan) -> list[Branch]:
    """Every branch outcome a call can record for ``plan`` (the flow graph's branch points:
    keypresses, the implicit "no match"/"no input" fall-through, live/machine, if/equal
    true/false, catch fired), in document order."""
    from ..model.flow import branch_points

    return [
        Branch(b.node_index, b.label, f"line {b.loc.line}: {b.description}", b.loc.line)
        for b in branch_points(plan)
    ]


def coverage(plan: Plan, results: Sequence[CallResult]) -> Coverage:
    taken = {decision for r in results for decision in r.decisions}
    return Coverage(branches(plan), taken)
