"""The JavaScript sandbox (spec §5.4): QuickJS through ``quickjs-ng``, one context per call.

No host function is bound, every evaluation runs under a time and a memory limit, and a
context belongs to exactly one call, so nothing leaks between calls. Contexts are created
lazily: a call that never evaluates JavaScript never pays for one.
"""

from __future__ import annotations

import json
import re
from _blake2 import blake2b  # hashlib's own blake2b, without importing OpenSSL (3 ms)

# the quickjs package re-exports these C types from _quickjs, and imports threads and logging
# for helpers we do not use (4 ms of every start-up)
import _quickjs as quickjs

#: Wall-clock limit of one evaluation, in seconds.
TIME_LIMIT_S = 0.05
#: Memory limit of one call's JavaScript heap, in bytes.
MEMORY_LIMIT = 16 * 1024 * 1024

#: Number literals whose JavaScript ``String()`` is the literal itself: no leading zero (``0123``
#: is octal in sloppy mode), no trailing fraction zero (``1.50`` → ``1.5``), no ``-0``, at most
#: 15 significant digits (exact doubles), so the fast path below equals evaluating them.
_NUMBER = re.compile(
    r"^(?:0|-?[1-9][0-9]{0,14}|-?[1-9][0-9]{0,6}\.[0-9]{0,7}[1-9]|-?0\.[0-9]{0,6}[1-9])$"
)
#: Two or more plain words separated by single spaces: ``Homer Simpson`` (a syntax error in JS as
#: long as no word is a keyword or operator word, see ``_RESERVED``).
_WORDS = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?: [A-Za-z][A-Za-z0-9_]*)+$")
_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RESERVED = frozenset(
    [
        "arguments",
        "async",
        "await",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "eval",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "get",
        "if",
        "implements",
        "import",
        "in",
        "instanceof",
        "interface",
        "let",
        "new",
        "null",
        "of",
        "package",
        "private",
        "protected",
        "public",
        "return",
        "set",
        "static",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "undefined",
        "using",
        "var",
        "void",
        "while",
        "with",
        "yield",
    ]
)
_globals: frozenset[str] | None = None


def _global_names() -> frozenset[str]:
    """Every name a bare identifier resolves to in a fresh context (own and inherited)."""
    global _globals
    if _globals is None:
        ctx = quickjs.Context()
        names = ctx.eval(
            "(() => { const seen = []; for (let o = globalThis; o; o = Object.getPrototypeOf(o))"
            " seen.push(...Object.getOwnPropertyNames(o)); return seen.join(' '); })()"
        )
        # the host's own globals of a call's context (see JsSandbox)
        _globals = frozenset(str(names).split()) | {
            "__dialplan_now",
            "__dialplan_src",
            "__dialplan_out",
        }
    return _globals


#: ``a OP b`` on unsigned integer literals (no leading zero, at most 15 digits): counters such
#: as ``0+1`` and conditions such as ``3 > 2`` — exact in doubles, so the result is the same as
#: QuickJS's without creating a context (about 250 µs) for them.
_ARITH = re.compile(
    r"^(0|[1-9][0-9]{0,14}) *(\+|-|\*|===|!==|==|!=|<=|>=|<|>) *(0|[1-9][0-9]{0,14}) *;?$"
)
_EXACT = 2**53


def _arith(text: str) -> int | bool | None:
    m = _ARITH.match(text)
    if m is None:
        return None
    a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
    if op == "+":
        r: int | bool = a + b
    elif op == "-":
        r = a - b
    elif op == "*":
        r = a * b
    elif op in ("==", "==="):
        return a == b
    elif op in ("!=", "!=="):
        return a != b
    elif op == "<":
        return a < b
    elif op == ">":
        return a > b
    elif op == "<=":
        return a <= b
    else:
        return a >= b
    return r if -_EXACT < r < _EXACT else None


def literal_condition(text: str) -> bool | None:
    """JavaScript truthiness of stripped ``text`` when it is an integer literal or a simple
    integer comparison/arithmetic (see ``_ARITH``); None means "ask the engine"."""
    r = _arith(text)
    if r is not None:
        return bool(r)
    if _NUMBER.match(text):
        return float(text) != 0
    return None


#: Memo of :func:`literal_value` (a pure function): texts seen in a fresh context, and after
#: user code ran. Bounded: short texts only, and no new entries once full.
_MEMO_SIZE = 4096
_MEMO_TEXT = 200
_memo: dict[bool, dict[str, str | None]] = {True: {}, False: {}}
_UNKNOWN = "\0unknown"


def literal_value(text: str, fresh: bool) -> str | None:
    """The spec §5.3 value of stripped ``text`` when it is known without running JavaScript.

    Exactly equivalent to :meth:`JsSandbox.value`: a number literal that ``String()`` returns
    unchanged, or text that cannot evaluate (several plain words are a syntax error; one word is
    a ReferenceError in a context where user code never ran — ``fresh`` — unless it is a
    built-in global or a keyword). None means "ask the engine".
    """
    memo = _memo[fresh]
    known = memo.get(text, _UNKNOWN)
    if known is _UNKNOWN:
        known = _literal_value(text, fresh)
        if len(memo) < _MEMO_SIZE and len(text) <= _MEMO_TEXT:
            memo[text] = known
    return known


def _literal_value(text: str, fresh: bool) -> str | None:
    if not text or _NUMBER.match(text):
        return text
    r = _arith(text)
    if r is not None:
        return ("true" if r else "false") if isinstance(r, bool) else str(r)
    if _WORDS.match(text):
        if any(word in _RESERVED for word in text.split(" ")):
            return None
        return text
    if fresh and _WORD.match(text) and text not in _RESERVED and text not in _global_names():
        return text
    return None


class JsError(Exception):
    """An evaluation failed: syntax error, exception thrown, or a limit hit (``limit`` set)."""

    def __init__(self, message: str, *, limit: bool = False) -> None:
        super().__init__(message)
        self.limit = limit


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


#: ``String()`` of the source's value; a result containing NUL travels as JSON instead.
_STRING_OF_SOURCE = (
    "(s => s.indexOf('\\0') < 0 ? s : (globalThis.__dialplan_out = JSON.stringify(s), null))"
    "(String((0, eval)(globalThis.__dialplan_src)))"
)


#: Spec §5.4 (2026-12), no hidden clock: ``Date`` reads the call's clock
#: (``__dialplan_now``, milliseconds, set by the host before evaluations) and its local-time
#: methods are the UTC ones (spec §4.2), and, when the call has a seed, ``Math.random`` is
#: xoshiro128** seeded from it.
_DETERMINISM = """(() => {
  const RealDate = Date;
  function Date_(...args) {
    if (!new.target) return new RealDate(globalThis.__dialplan_now).toString();
    return args.length ? new RealDate(...args) : new RealDate(globalThis.__dialplan_now);
  }
  Date_.prototype = RealDate.prototype;
  Date_.now = function now() { return globalThis.__dialplan_now; };
  Date_.UTC = RealDate.UTC;
  Date_.parse = RealDate.parse;
  Object.defineProperty(RealDate.prototype, "constructor",
                        {value: Date_, writable: true, configurable: true});
  globalThis.Date = Date_;
  // spec §4.2: all times are UTC, whatever the host's time zone
  const proto = RealDate.prototype;
  for (const part of ["FullYear", "Month", "Date", "Day", "Hours", "Minutes", "Seconds",
                      "Milliseconds"]) {
    proto["get" + part] = proto["getUTC" + part];
    proto["set" + part] = proto["setUTC" + part];
  }
  proto.getTimezoneOffset = function getTimezoneOffset() { return 0; };
  const seed = globalThis.__dialplan_seed;
  delete globalThis.__dialplan_seed;
  if (!seed) return;
  let [a, b, c, d] = seed;
  const rotl = (x, k) => (x << k) | (x >>> (32 - k));
  Math.random = function random() {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9);
    const t = b << 9;
    c ^= a; d ^= b; b ^= c; a ^= d; c ^= t; d = rotl(d, 11);
    return (r >>> 0) / 4294967296;
  };
})()"""


def seed_words(seed: int) -> list[int]:
    """Four 32-bit words of xoshiro128** state from any integer seed (never all zero)."""
    digest = blake2b(str(seed).encode(), digest_size=16).digest()
    words = [int.from_bytes(digest[i : i + 4], "big") for i in range(0, 16, 4)]
    return words if any(words) else [1, 2, 3, 4]


class JsSandbox:
    """One call's JavaScript context (created on first use).

    ``now_ms`` is the call's clock for ``Date`` (milliseconds since the epoch; the host sets
    it, nothing here reads a clock); ``seed`` seeds ``Math.random`` (None: QuickJS's own).
    """

    def __init__(
        self,
        time_limit_s: float = TIME_LIMIT_S,
        memory_limit: int = MEMORY_LIMIT,
        *,
        seed: int | None = None,
        now_ms: float = 0.0,
    ) -> None:
        self.time_limit_s = time_limit_s
        self.memory_limit = memory_limit
        self.seed = seed
        self.now_ms = now_ms
        self._sent_now: float | None = None
        self._ctx: quickjs.Context | None = None
        self._limit = time_limit_s
        self.evaluations = 0

    def _context(self) -> quickjs.Context:
        ctx = self._ctx
        if ctx is None:
            ctx = quickjs.Context()
            ctx.set_memory_limit(self.memory_limit)
            ctx.set_time_limit(self._limit)
            if self.seed is not None:
                ctx.set("__dialplan_seed", ctx.parse_json(json.dumps(seed_words(self.seed))))
            ctx.eval(_DETERMINISM)
            self._ctx = ctx
        if self._sent_now != self.now_ms:
            ctx.set("__dialplan_now", self.now_ms)
            self._sent_now = self.now_ms
        return ctx

    def limit_time(self, seconds: float) -> None:
        """Cut the time limit of the next evaluations to ``seconds`` (what is left of a call's
        budget) when that is below the per-evaluation limit."""
        limit = min(self.time_limit_s, seconds)
        if limit != self._limit:
            self._limit = limit
            if self._ctx is not None:
                self._ctx.set_time_limit(limit)

    def evaluate(self, code: str) -> str:
        """Evaluate ``code`` and return JavaScript's ``String(result)``; raise :class:`JsError`."""
        ctx = self._context()
        self.evaluations += 1
        try:
            ctx.set("__dialplan_src", code)
            out = ctx.eval(_STRING_OF_SOURCE)
            if out is None:  # the result holds NUL, which the binding cannot return as text
                return str(json.loads(ctx.get("__dialplan_out")))
            return str(out)
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
        known = literal_value(stripped, self._ctx is None)
        if known is not None:
            return known
        try:
            return self.evaluate(stripped)
        except JsError as exc:
            if exc.limit:
                raise
            return stripped

    def truthy(self, code: str) -> bool:
        """Evaluate a condition; JavaScript truthiness of the result. Errors propagate."""
        known = literal_condition(code.strip())
        if known is not None:
            return known
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
