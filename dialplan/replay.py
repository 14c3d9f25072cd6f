"""Routes the engine can take: each route of :mod:`dialplan.model.paths` confirmed by a replay.

The route walker follows the flow graph and *assumes* the outcome of every condition that
depends on data (``<if>``, ``<equal>``); two assumptions can contradict each other, or the data
may be out of the caller's reach. Here each route is replayed through the engine (the same
``simulate`` as ``dialplan simulate``) with options that set the data its assumptions need — a
preset variable, the caller ID, a contact field, the virtual clock, the keys of the menu whose
input a condition reads — until one run takes exactly the route's decisions. Only routes so
confirmed are listed, each with the options of that run: its replay command reproduces it by
construction. Routes no replay could drive are left out and counted (``left_out``).

Candidate values come from the conditions themselves (their numbers and quoted strings, one
either side of each number, and each embedded into the default caller ID at every offset, for
conditions on a part of it), followed back through the ``<setvar>`` tags that compute a
variable a condition reads. A route tries at most :data:`MAX_TRIES` replays.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import combinations, product

from .drivers.simulate import DEFAULT_CALLERID, DEFAULT_PHONENUMBER, simulate
from .engine.context import MAX_STEPS as ENGINE_MAX_STEPS
from .engine.result import CallResult
from .expr.template import Literal, Ref, Template
from .model import Equal, If, Menu, Plan, Setvar
from .model.paths import LENGTH_CUT, LOOP_CUT, MAX_STEPS, Route, Routes, enumerate_routes

#: Replays tried per route before it is left out.
MAX_TRIES = 400
#: Engine steps all the replays of one listing may take together (a few seconds): beyond it the
#: routes not yet confirmed are left out untried, so that no plan makes a listing run for minutes.
MAX_REPLAY_STEPS = 2_000_000
#: The engine's step limit, as ``dialplan simulate --max-steps`` has it by default; a replay of a
#: longer route prints a larger ``--max-steps``.
ENGINE_STEPS = ENGINE_MAX_STEPS

#: how a route ends → the engine's ``outcome``
_OUTCOMES = {
    "hangup": "hangup",
    "end of plan": "hangup",
    "transferred": "transfer",
    "caller hangup": "caller_hangup",
}
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_QUOTED = re.compile(r"'([^'\\]*)'|\"([^\"\\]*)\"")
#: a Sunday: the days of the week of ``global.date.dayOfWeek`` are 1 (Sunday) … 7 (Saturday)
_SUNDAY = datetime(2026, 1, 4, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Replay:
    """The ``dialplan simulate`` options of one call."""

    amd: str | None = None
    transfer: str | None = None  # answered / no answer
    inputs: tuple[str, ...] = ()
    callerid: str | None = None
    phonenumber: str | None = None
    dnis: str | None = None
    now: str | None = None
    variables: tuple[tuple[str, str], ...] = ()
    contact: tuple[tuple[str, str], ...] = ()
    max_steps: int = ENGINE_STEPS

    def args(self) -> list[str]:
        """The command-line options, in the order ``dialplan simulate --help`` lists them."""
        out: list[str] = []
        if self.amd:
            out += ["--amd", self.amd]
        for value in self.inputs:
            out += ["--input", value]
        if self.transfer:
            out += ["--transfer", self.transfer.replace(" ", "_")]
        for name, value in self.variables:
            out += ["--var", f"{name}={value}"]
        for name, value in self.contact:
            out += ["--contact", f"{name}={value}"]
        options: tuple[tuple[str, str | None], ...] = (
            ("--callerid", self.callerid),
            ("--phonenumber", self.phonenumber),
            ("--dnis", self.dnis),
            ("--now", self.now),
        )
        for option, given in options:
            if given is not None:
                out += [option, given]
        if self.max_steps != ENGINE_STEPS:
            out += ["--max-steps", str(self.max_steps)]
        return out

    def run(self, plan: Plan) -> CallResult:
        """The call these options make, through the engine."""
        return simulate(
            plan,
            amd=self.amd or "live",
            inputs=self.inputs,
            transfer=(self.transfer or "answered").replace(" ", "_"),
            variables=dict(self.variables),
            contact=dict(self.contact),
            callerid=self.callerid or DEFAULT_CALLERID,
            phonenumber=self.phonenumber or DEFAULT_PHONENUMBER,
            dnis=self.dnis or "",
            now=self.now,
            max_steps=self.max_steps,
        )


@dataclass(frozen=True, slots=True)
class Confirmed:
    """A route and the replay that makes the engine take it."""

    route: Route
    replay: Replay


@dataclass(frozen=True, slots=True)
class TakenRoutes:
    """The routes the engine takes (``routes``), and those no replay could drive (``left_out``)."""

    routes: tuple[Confirmed, ...]
    left_out: tuple[Route, ...] = ()
    truncated: bool = False
    max_loops: int = 1
    size_limited: bool = False
    max_steps: int = MAX_STEPS
    #: how many of ``left_out`` were not tried: the replay budget was spent
    untried: int = 0


def decisions(route: Route) -> list[tuple[int, str]]:
    """The engine's ``decisions`` entries (``(node index, label)``) that ``route`` makes."""
    return [(s.node_index, s.label) for s in route.steps if s.kind != "transfer"]


@dataclass(frozen=True, slots=True)
class Taken:
    """What a call did, as far as a route tells: its decisions, transfer outcome and outcome."""

    decisions: tuple[tuple[int, str], ...]
    transfer: str | None
    outcome: str
    stopped: bool  # at the step limit
    steps: int = 0

    @classmethod
    def of(cls, result: CallResult) -> Taken:
        transfer = (result.transfer or {}).get("outcome")
        stopped = result.outcome == "error" and "step limit" in (result.error or "")
        return cls(tuple(result.decisions), transfer, result.outcome, stopped, result.steps)


def reproduces(route: Route, taken: Taken) -> bool:
    """Whether the call ``taken`` took ``route``: the same decisions (a prefix up to a cut), the
    same transfer outcome and the same way of ending."""
    expected = tuple(decisions(route))
    if route.ending in (LOOP_CUT, LENGTH_CUT):
        return taken.decisions[: len(expected)] == expected
    if taken.decisions != expected:
        return False
    if route.transfer is not None and taken.transfer != route.transfer.replace(" ", "_"):
        return False
    wanted = _OUTCOMES.get(route.ending)
    return wanted is None or taken.outcome == wanted


def taken_routes(
    plan: Plan, max_loops: int = 1, limit: int = 1000, max_steps: int = MAX_STEPS
) -> TakenRoutes:
    """The routes of :func:`~dialplan.model.paths.enumerate_routes` that a replay confirms."""
    found = enumerate_routes(plan, max_loops=max_loops, limit=limit, max_steps=max_steps)
    return confirm(plan, found, max_steps)


def confirm(
    plan: Plan,
    found: Routes,
    max_steps: int = MAX_STEPS,
    replay_steps: int = MAX_REPLAY_STEPS,
) -> TakenRoutes:
    """Each route of ``found`` with the first replay that reproduces it, or left out (untried
    once the replays have taken ``replay_steps`` engine steps in all)."""
    confirmed: list[Confirmed] = []
    left_out: list[Route] = []
    setvars = _setvars(plan)
    runs: dict[Replay, Taken] = {}  # routes share replays: each distinct call runs once
    budget = _Budget(replay_steps)
    untried = 0
    for route in found.routes:
        if budget.left <= 0:
            left_out.append(route)
            untried += 1
            continue
        replay = find_replay(plan, route, setvars, runs, budget)
        if replay is None:
            left_out.append(route)
        else:
            confirmed.append(Confirmed(_pressing(route, replay.inputs), replay))
    return TakenRoutes(
        tuple(confirmed),
        tuple(left_out),
        found.truncated,
        found.max_loops,
        found.size_limited,
        max_steps,
        untried,
    )


def find_replay(
    plan: Plan,
    route: Route,
    setvars: dict[str, list[Template]] | None = None,
    runs: dict[Replay, Taken] | None = None,
    budget: _Budget | None = None,
) -> Replay | None:
    """The first replay (fewest options changed first) whose call takes ``route``, if any
    (``runs``: calls already made, by replay; ``budget``: engine steps left for new calls)."""
    runs = {} if runs is None else runs
    budget = budget or _Budget(MAX_REPLAY_STEPS)
    base = Replay(amd=route.amd, transfer=route.transfer, inputs=route.inputs)
    knobs = _knobs(plan, route, _setvars(plan) if setvars is None else setvars)
    for tries, changes in enumerate(_combinations(knobs)):
        if tries >= MAX_TRIES or budget.left <= 0:
            return None
        replay = base
        for change in changes:
            replay = change(replay)
        replay, taken = _run(plan, replay, route, runs, budget)
        if reproduces(route, taken):
            return replay
    return None


@dataclass(slots=True)
class _Budget:
    left: int


def _run(
    plan: Plan, replay: Replay, route: Route, runs: dict[Replay, Taken], budget: _Budget
) -> tuple[Replay, Taken]:
    """The call ``replay`` makes; when it stops at the step limit on the way along ``route``
    (a route of thousands of menus), again with a limit large enough for the route."""
    while True:
        taken = runs.get(replay)
        if taken is None:
            taken = runs[replay] = Taken.of(replay.run(plan))
            budget.left -= max(taken.steps, 1)
        expected = decisions(route)
        done = len(taken.decisions)
        if not (taken.stopped and 0 < done < len(expected)):
            return replay, taken
        if tuple(expected[:done]) != taken.decisions:
            return replay, taken
        # steps per decision so far, for the rest of the route, with a margin
        need = replay.max_steps * len(expected) // done + 100
        replay = replace(replay, max_steps=need)


def _combinations(knobs: list[list[_Change]]) -> Iterator[tuple[_Change, ...]]:
    """No change, then one knob changed, then two… (each knob a list of alternative changes)."""
    yield ()
    for width in range(1, len(knobs) + 1):
        for chosen in combinations(knobs, width):
            yield from product(*chosen)


@dataclass(frozen=True, slots=True)
class _Change:
    """One replay option set to one value."""

    option: str
    value: str
    name: str = ""
    at: int = -1  # for ``inputs``: which input is replaced

    def __call__(self, replay: Replay) -> Replay:
        if self.option == "inputs":
            inputs = list(replay.inputs)
            inputs[self.at] = self.value
            return replace(replay, inputs=tuple(inputs))
        if self.option == "variables":
            return replace(replay, variables=(*replay.variables, (self.name, self.value)))
        if self.option == "contact":
            return replace(replay, contact=(*replay.contact, (self.name, self.value)))
        if self.option == "callerid":
            return replace(replay, callerid=self.value)
        if self.option == "phonenumber":
            return replace(replay, phonenumber=self.value)
        if self.option == "dnis":
            return replace(replay, dnis=self.value)
        assert self.option == "now", self.option
        return replace(replay, now=self.value)


@dataclass(slots=True)
class _Needs:
    """What the conditions on a route read, and the literals they compare with."""

    names: set[str] = field(default_factory=set)
    literals: list[str] = field(default_factory=list)


def _knobs(plan: Plan, route: Route, setvars: dict[str, list[Template]]) -> list[list[_Change]]:
    """The options worth varying for ``route``: one list of alternative values per option."""
    needs = _Needs()
    lastinput_at: set[int] = set()
    inputs_seen = -1
    for step in route.steps:
        if step.kind in ("input", "catch"):
            inputs_seen += 1
        if step.kind != "assume":
            continue
        node = plan.nodes[step.node_index]
        templates = [node.expr] if isinstance(node, If) else []
        if isinstance(node, Equal):
            templates = [node.var, node.expr]
            needs.literals.append(_literal_text(node.expr).strip())
        for template in templates:
            _read(template, needs)
        if "call.lastinput" in _closure(needs.names, setvars) and inputs_seen >= 0:
            lastinput_at.add(inputs_seen)
    if not route.steps or not needs.names:
        return []
    names = _closure(needs.names, setvars)
    values = _values(needs.literals)
    knobs: list[list[_Change]] = []
    for name in sorted(names):
        head, _, rest = name.partition(".")
        if name in ("call.callerid", "call.phonenumber", "call.ani"):
            option = "phonenumber" if rest == "phonenumber" else "callerid"
            default = DEFAULT_PHONENUMBER if option == "phonenumber" else DEFAULT_CALLERID
            knobs.append([_Change(option, v) for v in _numbers(values, default)])
        elif name == "call.dnis":
            knobs.append([_Change("dnis", v) for v in values])
        elif head == "contact" and rest:
            knobs.append([_Change("contact", v, rest) for v in values])
        elif head == "global":
            knobs.append([_Change("now", v) for v in _times(values)])
        elif "." not in name:
            knobs.append([_Change("variables", v, name) for v in values])
    for at in sorted(lastinput_at):
        keys = [v for v in values if v.isdigit() or set(v) <= set("0123456789*#")]
        menu = _menu_of(plan, route, at)
        width = menu.max_digits if menu is not None else 0
        knobs.append(
            [_Change("inputs", k + "#" if 0 < len(k) < width else k, at=at) for k in keys if k]
        )
    return [k for k in knobs if k]


def _pressing(route: Route, inputs: tuple[str, ...]) -> Route:
    """``route`` with the keys of ``inputs`` (where a replay presses other keys to the same
    branch, for a condition on ``call.lastinput``)."""
    if inputs == route.inputs:
        return route
    given = iter(inputs)
    steps = tuple(
        replace(s, value=next(given)) if s.kind in ("input", "catch") else s for s in route.steps
    )
    return replace(route, steps=steps)


def _read(template: Template, needs: _Needs) -> None:
    """The names ``template`` reads and the literals its code compares them with."""
    for part in template.parts:
        if isinstance(part, Ref) and not part.is_dynamic:
            needs.names.add("".join(p.text for p in part.parts if isinstance(p, Literal)))
    text = _literal_text(template)
    needs.literals += [m.group() for m in _NUMBER.finditer(text)]
    needs.literals += [a or b for a, b in _QUOTED.findall(text) if a or b]


def _literal_text(template: Template) -> str:
    return " ".join(p.text for p in template.parts if isinstance(p, Literal))


def _setvars(plan: Plan) -> dict[str, list[Template]]:
    """Variable name → the values ``<setvar>`` tags give it."""
    out: dict[str, list[Template]] = {}
    for node in plan.nodes:
        if isinstance(node, Setvar) and node.varname.is_constant:
            out.setdefault(node.varname.source.strip(), []).append(node.value)
    return out


def _closure(names: set[str], setvars: dict[str, list[Template]]) -> set[str]:
    """``names`` and every name the ``<setvar>`` values of those names read, transitively."""
    seen = set(names)
    todo = list(names)
    while todo:
        for value in setvars.get(todo.pop(), ()):
            found = _Needs()
            _read(value, found)
            for name in found.names - seen:
                seen.add(name)
                todo.append(name)
    return seen


def _values(literals: Sequence[str]) -> list[str]:
    """The literals, and one either side of each whole number (for ``<``, ``>``, ``!=``)."""
    out: list[str] = []
    for text in literals:
        out.append(text)
        if re.fullmatch(r"-?\d+", text):
            out += [str(int(text) + 1), str(int(text) - 1)]
    return list(dict.fromkeys(v for v in out if v))


def _numbers(values: Sequence[str], default: str) -> list[str]:
    """Each value as the whole number, then embedded into ``default`` at every offset."""
    out = list(values)
    for value in values:
        if value.isdigit() and len(value) < len(default):
            out += [
                default[:i] + value + default[i + len(value) :]
                for i in range(len(default) - len(value) + 1)
            ]
    return list(dict.fromkeys(out))


def _times(values: Sequence[str]) -> list[str]:
    """Virtual start times: every day of one week at the hours the conditions name (±1)."""
    hours = {0, 12} | {int(v) for v in values if v.isdigit() and int(v) < 24}
    out = []
    for day in range(7):
        for hour in sorted(hours):
            t = _SUNDAY + timedelta(days=day, hours=hour, minutes=30)
            out.append(t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return out


def _menu_of(plan: Plan, route: Route, at: int) -> Menu | None:
    """The menu that takes input number ``at`` of ``route``."""
    steps = [s for s in route.steps if s.kind in ("input", "catch")]
    node = plan.nodes[steps[at].node_index]
    return node if isinstance(node, Menu) else None
