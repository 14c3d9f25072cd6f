"""One call as a sans-IO state machine: ``send(event, now)`` in, a list of effects out.

The session owns the call's state (position, variables, stash, menu input) and the run loop;
what each tag does lives in one small handler per tag family (``handlers/``), found through a
table keyed by node class. Time is an input (``now``, seconds since the epoch, from the
driver); nothing here reads a clock, sleeps, or does I/O.

Decision labels recorded in ``result.decisions`` as ``(node.index, label)``: a menu → the
chosen keypress's pattern key (``1``, ``1-3``, ``default``, ``timeout``) or ``no match`` /
``no input``; an amd → ``live`` / ``machine``; if / equal / notEqual → ``true`` / ``false``
(whether the tag's children run); a catch → ``fired``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..expr.js import JsError, JsSandbox, literal_value
from ..expr.template import Literal, Template
from ..model import InputPhase, Menu, Node, Plan
from . import effects as fx
from .context import CallContext, normalise_contact
from .events import Event
from .handlers import EVENTS, HANDLERS, LINE_TAGS
from .handlers.menu import input_phase
from .program import Next, Program, program_for
from .result import CallResult, TraceEntry

#: what the session is waiting for (None: running)
WAIT_ANSWER = "answer"
WAIT_PLAY = "play"
WAIT_INPUT = "input"
WAIT_TRANSFER = "transfer"
WAIT_RECORD = "record"
WAIT_HTTP = "http"
WAIT_PAUSE = "pause"


class CallSession:
    """The engine side of one call. ``start(now)``, then ``send(event, now)`` until ``done``."""

    def __init__(self, plan: Plan, context: CallContext | None = None) -> None:
        self.plan = plan
        self.ctx = context if context is not None else CallContext()
        self.program: Program = program_for(plan)
        self.result = CallResult()
        self.vars: dict[str, str] = dict(self.ctx.variables)
        self.contact = normalise_contact(self.ctx.contact) if self.ctx.contact else {}
        self.lastinput = ""
        self.now = 0.0
        self.t0: float | None = None
        self.answered_by = "live"
        self.next: Next = None
        self.node: Node | None = None
        self.wait: str | None = WAIT_ANSWER
        self.wait_id = 0
        self.wait_node: Node | None = None
        self.ended = False
        self.line_gone = False
        self.hangup_catch_fired = False
        self.digits = ""
        self.barge: Menu | None = None
        self.barge_in = False
        self._ids = 0
        self._js: JsSandbox | None = None
        self.out: list[fx.Effect] = []

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

    def send(self, event: Event, now: float) -> list[fx.Effect]:
        """Feed one event at time ``now``; return the effects it causes, in order."""
        if self.ended:
            return []
        self.now = now
        if self.t0 is None:
            self.t0 = now
        out = self.out = []
        if now - self.t0 > self.ctx.max_duration_s:
            self.fail(f"call exceeded the maximum duration of {self.ctx.max_duration_s:g} s")
        else:
            try:
                EVENTS[type(event)](self, event)
                if self.wait is None and not self.ended:
                    self.run()
            except JsError as exc:
                self.fail(self._js_message(exc))
        self.result.effects.extend(out)
        return out

    # ----------------------------------------------------------------- run loop
    def run(self) -> None:
        """Execute nodes until the call waits for the driver or ends."""
        max_steps = self.ctx.max_steps
        result = self.result
        handlers = HANDLERS
        while self.wait is None and not self.ended:
            item = self.next
            if item is None:
                self.finish("caller_hangup" if self.line_gone else "hangup", "hangup")
                return
            kind = type(item)
            if kind is InputPhase:
                input_phase(self, item.menu)  # type: ignore[union-attr]
                continue
            steps = result.steps = result.steps + 1
            if steps > max_steps:
                self.fail(f"step limit exceeded: more than {max_steps} tags executed")
                return
            self.node = item  # type: ignore[assignment]
            self.next = self.program.after[item]  # type: ignore[index]
            if self.line_gone and kind in LINE_TAGS:
                continue
            handlers[kind](self, item)

    # ----------------------------------------------------------------- helpers for handlers
    def new_id(self) -> int:
        self._ids += 1
        return self._ids

    def emit(self, effect: fx.Effect) -> None:
        self.out.append(effect)

    def waiting(self, kind: str, wait_id: int = 0, node: Node | None = None) -> None:
        self.wait = kind
        self.wait_id = wait_id
        self.wait_node = node

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
            if self.wait == WAIT_PLAY:
                self.out.append(fx.StopPlayback(self.wait_id))
            elif self.wait == WAIT_INPUT:
                self.out.append(fx.stop_collecting(self.wait_id))
        self.wait = None
        self.wait_node = None
        self.barge = None
        self.digits = ""

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
        result.variables = dict(self.vars)
        result.answered_by = self.answered_by
        result.duration_s = self.elapsed
        if error:
            self.trace("engine", f"error: {error}")

    def fail(self, message: str) -> None:
        self.finish("error", "error", message)

    # ----------------------------------------------------------------- values
    def render(self, template: Template) -> str:
        parts = template.parts
        if not parts:
            return ""
        if len(parts) == 1 and type(parts[0]) is Literal:
            return parts[0].text
        return template.render(self.lookup)

    @property
    def js(self) -> JsSandbox:
        if self._js is None:
            self._js = JsSandbox(self.ctx.js_time_limit_s, self.ctx.js_memory_limit)
        return self._js

    def value(self, text: str) -> str:
        """Spec §5.3 value of substituted text (JavaScript with literal fall-back)."""
        sandbox = self._js
        if sandbox is None:
            known = literal_value(text.strip(), True)
            if known is not None:
                return known
            sandbox = self.js
        return sandbox.value(text)

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
