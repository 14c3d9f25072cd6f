"""Substitution by position into text that will be evaluated (spec §5.3 revised: data is never
run as code).

Only what the dialplan's author wrote is code. A value that reaches an expression through a
``${…}`` reference is inserted so that it cannot change the expression's meaning:

1. a text that is one reference and nothing else is that value, not evaluated;
2. a reference inside a JavaScript string literal of the template is escaped for that literal;
3. outside string literals only plain decimals and ``true``/``false`` are inserted; any other
   value makes the whole text data (its plain substitution, never evaluated);
4. when evaluation fails, the value is the plain substitution (the caller's job);
5. the inner references of a nested name (``${choice${num}}``) are name text, inserted verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .template import Literal, Part, Ref, Template, ValueTooLong

#: Spec §5.3 rule 3: values inserted unquoted into code.
PLAIN_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_PLAIN_WORDS = frozenset({"true", "false"})

#: Characters that cannot stand for themselves inside a JavaScript string literal.
_UNSAFE = re.compile(r"[\\'\"`$\x00-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class Substitution:
    """``plain``: the text with every reference replaced by its value (what the text means as
    data); ``code``: the text to evaluate, or None when the text is data (rule 1 or 3);
    ``single``: the text is one reference (rule 1), so ``plain`` is its value as it is."""

    plain: str
    code: str | None
    single: bool = False


def is_plain_value(value: str) -> bool:
    """Rule 3: a value that may stand unquoted in code (a plain decimal, ``true``, ``false``)."""
    return value in _PLAIN_WORDS or PLAIN_DECIMAL.fullmatch(value) is not None


def _escape_char(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def escape_for_literal(value: str) -> str:
    """``value`` written so that it reads back unchanged inside any JavaScript string literal
    (``'…'``, ``"…"`` or a template literal): quotes, backslashes, ``$``, line terminators
    and control characters become ``\\uXXXX`` escapes."""
    return _UNSAFE.sub(_escape_char, value)


_states: dict[str, tuple[str, ...]] = {}
_STATES_SIZE = 4096


def quote_states(template: Template) -> tuple[str, ...]:
    """For each top-level reference of ``template``, the quote character of the JavaScript
    string literal it stands in (``'``, ``"`` or a backtick), or "" when it stands in code."""
    states = _states.get(template.source)
    if states is None:
        states = _scan(template.parts)
        if len(_states) < _STATES_SIZE and len(template.source) <= 2000:
            _states[template.source] = states
    return states


def _scan(parts: tuple[Part, ...]) -> tuple[str, ...]:
    """A light JavaScript lexer over the author's text: string literals ('…', "…", `…`) with
    backslash escapes; comments and regular expressions are not needed for dialplan values."""
    states: list[str] = []
    quote = ""
    escaped = False
    for part in parts:
        if isinstance(part, Ref):
            states.append(quote)
            escaped = False
            continue
        for ch in part.text:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif quote:
                if ch == quote:
                    quote = ""
            elif ch in "'\"`":
                quote = ch
    return tuple(states)


def substitute(
    template: Template,
    lookup: Callable[[str], str],
    limit: int | None = None,
    *,
    condition: bool = False,
) -> Substitution:
    """Substitute ``template``'s references by position (rules 1–3 and 5 above).

    A ``condition`` has no rule 1: its single reference is code when its value is plain
    (``${flag}`` with ``false`` or ``0`` stays false), data otherwise.

    ``lookup(name)`` gives a variable's value; ``limit`` bounds the length of the result
    (:class:`ValueTooLong`), so a growing value cannot take the machine's memory.
    """
    parts = template.parts
    refs = [p for p in parts if isinstance(p, Ref)]
    if (
        not condition
        and len(refs) == 1
        and all(isinstance(p, Ref) or not p.text.strip() for p in parts)
    ):
        value = lookup(_name(refs[0], lookup))
        _check(value, limit)
        return Substitution(value, None, True)
    states = quote_states(template)
    plain: list[str] = []
    code: list[str] | None = []
    size = 0
    i = 0
    for part in parts:
        if isinstance(part, Literal):
            text = part.text
            plain.append(text)
            if code is not None:
                code.append(text)
        else:
            value = lookup(_name(part, lookup))
            text = value
            plain.append(value)
            if code is not None:
                if states[i]:
                    code.append(escape_for_literal(value))
                elif is_plain_value(value):
                    code.append(value)
                else:
                    code = None
            i += 1
        size += len(text)
        if limit is not None and size > limit:
            raise ValueTooLong(limit)
    return Substitution("".join(plain).strip(), None if code is None else "".join(code).strip())


def _name(ref: Ref, lookup: Callable[[str], str]) -> str:
    """Rule 5: the name of ``ref`` with its inner references substituted verbatim."""
    out: list[str] = []
    for part in ref.parts:
        out.append(part.text if isinstance(part, Literal) else lookup(_name(part, lookup)))
    return "".join(out).strip()


def _check(value: str, limit: int | None) -> None:
    if limit is not None and len(value) > limit:
        raise ValueTooLong(limit)
