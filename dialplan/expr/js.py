"""The JavaScript sandbox (spec §5.4): QuickJS through ``quickjs-ng``, one context per call.

No host function is bound, every evaluation runs under a time and a memory limit, and a
context belongs to exactly one call, so nothing leaks between calls. Contexts are created
lazily: a call that never evaluates JavaScript never pays for one.
"""

from __future__ import annotations

import re

import quickjs

#: Wall-clock limit of one evaluation, in seconds.
TIME_LIMIT_S = 0.05
#: Memory limit of one call's JavaScript heap, in bytes.
MEMORY_LIMIT = 16 * 1024 * 1024

_NUMBER = re.compile(r"^-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]+)?$")


class JsError(Exception):
    """An evaluation failed: syntax error, exception thrown, or a limit hit (``limit`` set)."""

    def __init__(self, message: str, *, limit: bool = False) -> None:
        super().__init__(message)
        self.limit = limit


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class JsSandbox:
    """One call's JavaScript context (created on first use)."""

    def __init__(
        self, time_limit_s: float = TIME_LIMIT_S, memory_limit: int = MEMORY_LIMIT
    ) -> None:
        self.time_limit_s = time_limit_s
        self.memory_limit = memory_limit
        self._ctx: quickjs.Context | None = None
        self.evaluations = 0

    def _context(self) -> quickjs.Context:
        if self._ctx is None:
            ctx = quickjs.Context()
            ctx.set_memory_limit(self.memory_limit)
            ctx.set_time_limit(self.time_limit_s)
            self._ctx = ctx
        return self._ctx

    def evaluate(self, code: str) -> str:
        """Evaluate ``code`` and return JavaScript's ``String(result)``; raise :class:`JsError`."""
        ctx = self._context()
        self.evaluations += 1
        try:
            ctx.set("__dialplan_src", code)
            return str(ctx.eval("String((0, eval)(globalThis.__dialplan_src))"))
        except quickjs.JSException as exc:
            msg = _first_line(exc)
            raise JsError(msg, limit="interrupted" in msg or "out of memory" in msg) from None
        except (MemoryError, quickjs.StackOverflow) as exc:
            raise JsError(_first_line(exc) or "out of memory", limit=True) from None

    def value(self, text: str) -> str:
        """Spec §5.3: the expression's value, or the text itself when it is not JavaScript.

        Limits are not swallowed: a runaway expression raises :class:`JsError` with ``limit``.
        """
        stripped = text.strip()
        if not stripped or _NUMBER.match(stripped):
            return stripped
        try:
            return self.evaluate(stripped)
        except JsError as exc:
            if exc.limit:
                raise
            return stripped

    def truthy(self, code: str) -> bool:
        """Evaluate a condition; JavaScript truthiness of the result. Errors propagate."""
        ctx = self._context()
        self.evaluations += 1
        try:
            ctx.set("__dialplan_src", code)
            return bool(ctx.eval("!!((0, eval)(globalThis.__dialplan_src))"))
        except quickjs.JSException as exc:
            msg = _first_line(exc)
            raise JsError(msg, limit="interrupted" in msg or "out of memory" in msg) from None
        except (MemoryError, quickjs.StackOverflow) as exc:
            raise JsError(_first_line(exc) or "out of memory", limit=True) from None


_checker: quickjs.Context | None = None


def syntax_error(code: str) -> str | None:
    """The syntax error of ``code`` as a script, or None. Compiles only: nothing runs."""
    global _checker
    if _checker is None:
        _checker = quickjs.Context()
        _checker.set_time_limit(TIME_LIMIT_S)
        _checker.set_memory_limit(MEMORY_LIMIT)
    try:
        _checker.set("__dialplan_src", code)
        _checker.eval("new Function(globalThis.__dialplan_src)")
    except quickjs.JSException as exc:
        return _first_line(exc)
    return None
