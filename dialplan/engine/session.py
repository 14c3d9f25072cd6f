"""One call as a sans-IO state machine: ``send(event, now)`` in, a list of effects out.

The session owns the call's state (position, variables, budgets, what it waits for) and the
run loop; what each tag does lives in its handler (``handlers/``): ``enter`` when the node runs
and ``on_event`` for the events that arrive while that node waits (the session routes each
event to the waiting node's handler). Handlers use only the session API below (emit, wait,
resume, new_id, evaluate/operand/condition/render, assign/stash, decide, jump, finish/fail,
log/trace) and read ``plan``, ``program``, ``ctx``, ``node``, ``result``. Time is an input
(``now``, seconds since the epoch, from the driver); nothing here reads a clock, sleeps, or
does I/O.

Decision labels recorded in ``result.decisions`` as ``(node.index, label)``: a menu → the
chosen keypress's pattern key (``1``, ``1-3``, ``default``, ``timeout``) or ``no match`` /
``no input``; an amd → ``live`` / ``machine``; if / equal / notEqual → ``true`` / ``false``
(whether the tag's children run); a catch → ``fired``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..expr.js import JsError, JsSandbox, literal_condition, literal_value
from ..expr.substitute import substitute
from ..expr.template import Literal, Template, ValueTooLong
from ..model import InputPhase, Node, Plan
from . import effects as fx
from . import events as ev
from .budget import CallBudget, LimitExceeded
from .context import CallContext, normalise_contact
from .events import (
    Answered,
    CallerHangup,
    DigitPressed,
    HttpDone,
    InputTimeout,
    PauseDone,
    PlaybackDone,
    RecordingDone,
    TransferDone,
)
from .handlers import ON_EVENT
from .handlers.catch import on_caller_hangup, stray_digit
from .handlers.menu import MenuInput, input_phase
from .program import Next, Program, program_for
from .result import CallResult, TraceEntry
from .wait import WaitFor


class CallSession:
    """The engine side of one call. ``start(now)``, then ``send(event, now)`` until ``done``."""

    __slots__ = (
        "_ids",
        "_js",
        "answered_by",
        "budget",
        "contact",
        "ctx",
        "emit",
        "ended",
        "hangup_catch_fired",
        "input",
        "lastinput",
        "line_gone",
        "next",
        "node",
        "now",
        "out",
        "plan",
        "program",
        "result",
        "t0",
        "vars",
        "wait_id",
        "wait_node",
        "waits_for",
    )

    def __init__(self, plan: Plan, context: CallContext | None = None) -> None:
        self.plan = plan
        self.ctx = ctx = context if context is not None else CallContext()
        self.program: Program = program_for(plan)
        self.result = CallResult()
        self.vars: dict[str, str] = dict(ctx.variables)
        self.budget = CallBudget(ctx, sum(map(len, self.vars.values())) if self.vars else 0)
        self.contact = normalise_contact(ctx.contact) if ctx.contact else {}
        self.lastinput = ""
        self.now = 0.0
        self.t0: float | None = None
        self.answered_by = "live"
        self.next: Next = None
        self.node: Node | None = None
        #: what the call waits for (None: running), the node that waits, the id it waits on
        self.waits_for: WaitFor | None = WaitFor.ANSWER
        self.wait_node: Node | None = None
        self.wait_id = 0
        self.ended = False
        #: the caller hung up (spec §2.5: tags that need the line are skipped from now on)
        self.line_gone = False
        self.hangup_catch_fired = False
        #: the caller's entry in progress (the menu handler's state)
        self.input = MenuInput()
        self._ids = 0
        self._js: JsSandbox | None = None
        self.out: list[fx.Effect] = []
        #: ``emit(effect)``: append to this event's effects (the list's own ``append``)
        self.emit: Callable[[fx.Effect], None] = self.out.append

    # ----------------------------------------------------------------- driver interface
    @property
    def done(self) -> bool:
        return self.ended

    def start(self, now: float) -> list[fx.Effect]:
        """The call exists (dialling or ringing); nothing runs until ``Answered`` arrives."""
        if self.t0 is None:
            self.t0 = now
        self.now = now
        return []

    def send(self, event: ev.Event, now: float) -> list[fx.Effect]:
        """Feed one event at time ``now``; return the effects it causes, in order."""
        if self.ended:
            return []
        self.now = now
        if self.t0 is None:
            self.t0 = now
        out = self.out = []
        self.emit = out.append
        if now - self.t0 > self.ctx.max_duration_s:
            self.fail(f"call exceeded the maximum duration of {self.ctx.max_duration_s:g} s")
        else:
            try:
                # each event goes to the handler of the node that waits for it (ROUTES: None);
                # the caller's hang-up and the answer are the call's own
                route = ROUTES[type(event)]
                if route is None:
                    node = self.wait_node
                    if node is not None:
                        ON_EVENT[type(node)](self, node, event)
                    elif type(event) is DigitPressed:
                        stray_digit(self, event.key)
                else:
                    route(self, event)
                if self.waits_for is None and not self.ended:
                    self.run()
            except JsError as exc:
                self.fail(self._js_message(exc))
            except LimitExceeded as exc:
                self.fail(f"{self._here()}: {exc}")
            except ValueTooLong:
                self.fail(f"{self._here()}: {self.budget.too_long('a substituted text')}")
        self.result.effects.extend(out)
        return out

    def _answered(self, event: Answered) -> None:
        if self.waits_for is WaitFor.ANSWER:
            verdict = event.answered_by
            self.answered_by = verdict if verdict in ("live", "machine") else "live"
            self.waits_for = None
            self.next = self.plan.root
            if self.ctx.trace:
                self.trace("call", f"answered ({self.answered_by})")

    # ----------------------------------------------------------------- run loop
    def run(self) -> None:
        """Execute nodes until the call waits for the driver or ends."""
        max_steps = self.ctx.max_steps
        result = self.result
        table = self.program.steps
        while self.waits_for is None and not self.ended:
            item = self.next
            if item is None:
                self.finish("caller_hangup" if self.line_gone else "hangup", "hangup")
                return
            if type(item) is InputPhase:
                self.node = item.menu
                input_phase(self, item.menu)
                continue
            node: Node = item  # type: ignore[assignment]  # not an InputPhase (checked above)
            step = table.get(node)
            if step is None:  # a handler replaced the plan (<gotoXML>)
                table = self.program.steps
                step = table[node]
            steps = result.steps = result.steps + 1
            if steps > max_steps:
                self.fail(f"step limit exceeded: more than {max_steps} tags executed")
                return
            self.node = node
            enter, self.next, needs_line = step
            # a plain block runs its children in order (spec §2.1): no handler call
            if enter is not None and not (needs_line and self.line_gone):
                enter(self, node)

    # ----------------------------------------------------------------- the handlers' API
    def new_id(self) -> int:
        """A fresh id for an effect that the driver answers (play, input, record, request)."""
        self._ids += 1
        return self._ids

    def wait(self, kind: WaitFor, node: Node, wait_id: int | None = None) -> int:
        """Stop running until the event ``kind`` arrives for ``node``; returns the id the
        event will carry (a new one unless ``wait_id`` is given)."""
        if wait_id is None:
            wait_id = self._ids = self._ids + 1
        self.waits_for = kind
        self.wait_id = wait_id
        self.wait_node = node
        return wait_id

    def resume(self) -> None:
        """The awaited event arrived: the run loop continues with ``next``."""
        self.waits_for = None
        self.wait_node = None

    def report_transfer(self, numbers: tuple[str, ...], mode: str, callerid: str) -> None:
        """A transfer started (``CallResult.transfer``; its outcome follows)."""
        self.result.transfer = {
            "numbers": list(numbers),
            "mode": mode,
            "callerid": callerid,
            "outcome": None,
        }

    def report_transfer_outcome(self, outcome: str) -> None:
        if self.result.transfer is not None:
            self.result.transfer["outcome"] = outcome

    def lose_line(self) -> bool:
        """The caller hung up; whether the line was already gone."""
        gone = self.line_gone
        self.line_gone = True
        return gone

    def prompt(self, text: str) -> None:
        """Record what the caller heard (``CallResult.prompts``)."""
        self.result.prompts.append(text)

    def replace_plan(self, plan: Plan) -> None:
        """``<gotoXML>``: continue at the root of another plan; variables survive."""
        self.plan = plan
        self.program = program_for(plan)
        self.next = plan.root

    def jump(self, target: Next) -> None:
        self.next = target

    def log(self, level: str, message: str) -> None:
        node = self.program.path.get(self.node, "") if self.node is not None else ""
        self.out.append(fx.Log(level, message, node))  # type: ignore[arg-type]

    def trace(self, actor: str, text: str) -> None:
        if self.ctx.trace:
            self.result.trace.append(TraceEntry(self.elapsed, actor, text))

    @property
    def elapsed(self) -> float:
        return self.now - self.t0 if self.t0 is not None else 0.0

    def decide(self, node: Node, label: str) -> None:
        self.result.decisions.append((node.index, label))

    def cancel_wait(self, *, line_up: bool = True) -> None:
        """Abandon what the call waits for (a catch jump or the end of the call)."""
        if line_up:
            if self.waits_for is WaitFor.PLAY:
                self.out.append(fx.StopPlayback(self.wait_id))
            elif self.waits_for is WaitFor.INPUT:
                self.out.append(fx.stop_collecting(self.wait_id))
        self.waits_for = None
        self.wait_node = None
        self.input.clear()

    def finish(self, outcome: str, hangup_reason: str | None, error: str | None = None) -> None:
        """End the call: stop what runs, hang up (unless the line is gone), report."""
        if self.ended:
            return
        line_up = not self.line_gone and outcome != "caller_hangup"
        self.cancel_wait(line_up=line_up)
        if hangup_reason is not None and line_up:
            self.out.append(fx.hangup(hangup_reason))
        self.out.append(fx.CallEnded(outcome, error))
        self.ended = True
        result = self.result
        result.outcome = outcome
        result.error = error
        result.variables = self.vars  # no copy: nothing changes them once the call ended
        result.answered_by = self.answered_by
        result.duration_s = self.elapsed
        if error:
            self.trace("engine", f"error: {error}")

    def fail(self, message: str) -> None:
        self.finish("error", "error", message)

    # ----------------------------------------------------------------- values
    def render(self, template: Template) -> str:
        """Text that is not evaluated (TTS, URLs, numbers): substituted verbatim (spec §4.1)."""
        parts = template.parts
        if not parts:
            return ""
        if len(parts) == 1 and type(parts[0]) is Literal:
            return parts[0].text
        return template.render(self.lookup, self.budget.max_value)

    def assign(self, name: str, value: str) -> None:
        """Set variable ``name`` (the one place where variables change; spec §5.4 limits)."""
        self.budget.check("value", name, value, self.vars.get(name))
        self.vars[name] = value

    def stash(self, name: str, value: str) -> None:
        """Spec §3.9: an answer in the call's result record (a repeated name keeps its first
        position and takes the new value)."""
        self.budget.check("stashed value", name, value, self.result.stash.get(name))
        self.result.stash[name] = value
        self.out.append(fx.stash_response(name, value))

    @property
    def js(self) -> JsSandbox:
        """The call's JavaScript sandbox (created on first use), its ``Date`` at ``now``."""
        js = self._js
        if js is None:
            ctx = self.ctx
            js = self._js = JsSandbox(ctx.js_time_limit_s, ctx.js_memory_limit, seed=ctx.seed)
        js.now_ms = self.now * 1000.0
        return js

    def evaluate(self, template: Template) -> str:
        """Spec §5.3 (revised) value of a ``setvar``/``stash`` text: substituted by position,
        evaluated when it is code, the plain substitution otherwise."""
        parts = template.parts
        if len(parts) == 1 and type(parts[0]) is Literal:  # the author's text only
            text = parts[0].text.strip()
            return self._value(text, text)
        plain, code, _ = substitute(template, self.lookup, self.budget.max_value)
        return plain if code is None else self._value(code, plain)

    def operand(self, template: Template) -> str | None:
        """:meth:`evaluate`, but None when the text is data by rule 3 (a reference outside a
        string literal whose value is not a plain decimal): in ``<equal>``/``<notEqual>``
        such a text is a condition that is not met."""
        plain, code, single = substitute(template, self.lookup, self.budget.max_value)
        if code is None:
            return plain if single else None
        return self._value(code, plain)

    def _value(self, code: str, plain: str) -> str:
        known = literal_value(code, self._js is None)
        if known is not None:
            return known
        try:
            js = self.js
            return self.budget.run_js(js, js.evaluate, code)
        except JsError as exc:
            if exc.limit:
                raise
            return plain

    def condition(self, template: Template) -> bool:
        """Spec §5.3 (revised) truth of an ``if@expr``: JavaScript truthiness when the text is
        code; a text that is data (or empty, or throws) is a condition that is not met."""
        plain, code, _ = substitute(template, self.lookup, self.budget.max_value, condition=True)
        if code is None:
            self.log("info", f"condition {plain!r} holds data, not code; taken as false")
            return False
        if not code:
            return False
        known = literal_condition(code)
        if known is not None:
            return known
        try:
            js = self.js
            return self.budget.run_js(js, js.truthy, code)
        except JsError as exc:
            if exc.limit:
                raise
            self.log("warning", f"condition {code!r} failed ({exc}); taken as false")
            return False

    def lookup(self, name: str) -> str:
        """The value of ``${name}`` (spec §4.2); undefined → "" with a warning."""
        if "." in name:
            head, _, rest = name.partition(".")
            if head == "call":
                return self._call_var(rest, name)
            if head == "contact":
                key = rest.upper() if len(rest) <= 2 and rest.isalpha() else rest
                return self.contact.get(key, "")
            if head == "global":
                return self._global_var(rest, name)
        value = self.vars.get(name)
        if value is not None:
            return value
        self.log("warning", f"undefined variable ${{{name}}} expands to an empty string")
        return ""

    def _call_var(self, rest: str, name: str) -> str:
        ctx = self.ctx
        if rest == "lastinput":
            return self.lastinput
        if rest == "callerid":
            return ctx.callerid
        if rest == "phonenumber":
            return ctx.phonenumber
        if rest == "callerid.alpha":
            return ctx.callerid_alpha
        if rest == "dnis":
            return ctx.dnis
        if rest == "ani":
            return ctx.ani or ctx.callerid
        if rest == "id":
            return ctx.call_id
        if rest == "path":
            return self.program.path.get(self.node, "") if self.node is not None else ""
        self.log("warning", f"unknown system variable ${{{name}}} expands to an empty string")
        return ""

    def _global_var(self, rest: str, name: str) -> str:
        t = datetime.fromtimestamp(self.now, UTC)
        values = {
            "date": f"{t.month:02d}/{t.day:02d}/{t.year:04d}",
            "time": f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}",
            "time.hour": str(t.hour % 12 or 12),
            "time.hour.military": str(t.hour),
            "date.month": str(t.month),
            "date.day": str(t.day),
            "date.year": str(t.year),
            "date.dayOfWeek": str((t.weekday() + 1) % 7 + 1),
        }
        value = values.get(rest)
        if value is None:
            self.log("warning", f"unknown system variable ${{{name}}} expands to an empty string")
            return ""
        return value

    def _here(self) -> str:
        return self.where(self.node) if self.node is not None else "the dialplan"

    def where(self, node: Node) -> str:
        return f"{node.label} (line {node.loc.line})"

    def _js_message(self, exc: JsError) -> str:
        where = self.where(self.node) if self.node is not None else "the dialplan"
        text = str(exc)
        if "interrupted" in text:
            why = f"time limit of {self.ctx.js_time_limit_s * 1000:g} ms exceeded"
        elif "out of memory" in text or "stack overflow" in text.lower():
            why = f"memory limit of {self.ctx.js_memory_limit / 2**20:g} MB exceeded"
        else:
            why = text
        return f"JavaScript in {where} stopped: {why}"


#: Where each event type goes (every type of ``ev.Event`` is a key; a test checks it): None →
#: the handler of the node that waits for it, else a function of (session, event).
ROUTES: dict[type, Callable[[Any, Any], None] | None] = {
    PlaybackDone: None,
    DigitPressed: None,
    InputTimeout: None,
    TransferDone: None,
    RecordingDone: None,
    HttpDone: None,
    PauseDone: None,
    CallerHangup: lambda session, event: on_caller_hangup(session),
    Answered: CallSession._answered,
}
