"""Per-call budgets (spec §5.4, 2026-12): total JavaScript time, the length of one value and of
all values. Exceeding one ends that call with an ``error`` outcome whose message names the limit.

No clock is read here: JavaScript time is measured with the driver's clock (``js_clock``) and,
in virtual time, counted per evaluation (``js_eval_cost_s``), so a simulated call's result does
not depend on the machine's speed unless its JavaScript is slow enough to hit a time limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..expr.js import JsError, JsSandbox
from .context import CallContext

T = TypeVar("T")


class LimitExceeded(Exception):
    """A per-call limit was exceeded; the message names the limit and its value."""


class CallBudget:
    """What one call has used of its budgets."""

    __slots__ = (
        "clock",
        "evaluations",
        "js_budget_s",
        "js_used_s",
        "max_evaluations",
        "max_value",
        "max_values",
        "values_length",
    )

    def __init__(self, ctx: CallContext, preset: int = 0) -> None:
        self.js_budget_s = ctx.js_budget_s
        self.clock = ctx.js_clock
        cost = ctx.js_eval_cost_s
        self.max_evaluations = round(ctx.js_budget_s / cost) if cost else None
        self.max_value = ctx.max_value_length
        self.max_values = ctx.max_values_length
        self.js_used_s = 0.0
        self.evaluations = 0
        self.values_length = preset

    def _js_exceeded(self) -> LimitExceeded:
        if self.max_evaluations is not None and self.evaluations >= self.max_evaluations:
            return LimitExceeded(
                f"JavaScript budget of the call exceeded: js_budget_s = {self.js_budget_s:g} s"
                f" (in virtual time {self.max_evaluations} evaluations)"
            )
        return LimitExceeded(
            f"JavaScript budget of the call exceeded: js_budget_s = {self.js_budget_s:g} s"
            f" of JavaScript time used"
        )

    def run_js(self, sandbox: JsSandbox, run: Callable[[str], T], code: str) -> T:
        """``run(code)`` (an evaluation in ``sandbox``) charged to the call's JavaScript budget;
        its time limit is cut to what is left of the budget."""
        if self.max_evaluations is not None and self.evaluations >= self.max_evaluations:
            raise self._js_exceeded()
        clock = self.clock
        if clock is None:
            self.evaluations += 1
            return run(code)
        left = self.js_budget_s - self.js_used_s
        if left <= 0:
            raise self._js_exceeded()
        self.evaluations += 1
        sandbox.limit_time(left)
        start = clock()
        try:
            return run(code)
        except JsError as exc:
            if exc.limit and self.js_budget_s - (self.js_used_s + clock() - start) <= 0:
                raise self._js_exceeded() from None
            raise
        finally:
            self.js_used_s += clock() - start

    def check(self, what: str, name: str, value: str, replaced: str | None = None) -> None:
        """Charge ``value`` of ``name`` (``what``: "value" or "stashed value"; replacing
        ``replaced``) to the call's values; raise :class:`LimitExceeded` when it is too long or
        all values together are."""
        size = len(value)
        if size > self.max_value:
            raise LimitExceeded(self.too_long(f"the {what} of {name}", size))
        total = self.values_length + size - (len(replaced) if replaced is not None else 0)
        if total > self.max_values:
            raise LimitExceeded(
                f"the call's values together would hold {total} characters, more than"
                f" max_values_length = {self.max_values}"
            )
        self.values_length = total

    def too_long(self, what: str, size: int | None = None) -> str:
        length = f"{size} characters" if size is not None else "too long"
        return f"{what} is {length}, more than max_value_length = {self.max_value}"
