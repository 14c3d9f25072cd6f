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


#: ``(plain, code, single)``: ``plain`` is the text with every reference replaced by its value
#: (what the text means as data); ``code`` the text to evaluate, or None when the text is data
#: (rule 1 or 3); ``single``: the text is one reference (rule 1), so ``plain`` is its value as
#: it is. A plain tuple: one is made per evaluated value.
Substitution = tuple[str, str | None, bool]


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


@dataclass(frozen=True, slots=True)
class _Shape:
    """What substitution needs of a template, worked out once per text: the name of its one
    reference when the text is nothing else (rule 1), and for each part either literal text
    or a reference (its static name, or the reference itself when its name is built) with the
    quote it stands in."""

    single: str | Ref | None
    items: tuple[tuple[str | None, str | Ref, str], ...]


_shapes: dict[str, _Shape] = {}
_SHAPES_SIZE = 4096


def _shape(template: Template) -> _Shape:
    shape = _shapes.get(template.source)
    if shape is None:
        parts = template.parts
        states = iter(_scan(parts))
        items: list[tuple[str | None, str | Ref, str]] = []
        refs: list[str | Ref] = []
        blank = True
        for part in parts:
            if isinstance(part, Literal):
                items.append((part.text, "", ""))
                blank = blank and not part.text.strip()
            else:
                name = part.static_name
                ref: str | Ref = name if name is not None else part
                refs.append(ref)
                items.append((None, ref, next(states)))
        single = refs[0] if blank and len(refs) == 1 else None
        shape = _Shape(single, tuple(items))
        if len(_shapes) < _SHAPES_SIZE and len(template.source) <= 2000:
            _shapes[template.source] = shape
    return shape


def quote_states(template: Template) -> tuple[str, ...]:
    """For each top-level reference of ``template``, the quote character of the JavaScript
    string literal it stands in (``'``, ``"`` or a backtick), or "" when it stands in code."""
    return tuple(quote for text, _, quote in _shape(template).items if text is None)


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
    shape = _shapes.get(template.source) or _shape(template)
    single = shape.single
    if single is not None and not condition:
        value = lookup(single if type(single) is str else _name(single, lookup))  # type: ignore[arg-type]
        if limit is not None and len(value) > limit:
            raise ValueTooLong(limit)
        return value, None, True
    plain: list[str] = []
    code: list[str] | None = []
    size = 0
    for text, ref, quote in shape.items:
        if text is None:
            text = lookup(ref if type(ref) is str else _name(ref, lookup))  # type: ignore[arg-type]
            if code is not None:
                if quote:
                    code.append(escape_for_literal(text))
                elif text in _PLAIN_WORDS or PLAIN_DECIMAL.fullmatch(text) is not None:
                    code.append(text)
                else:
                    code = None
        elif code is not None:
            code.append(text)
        plain.append(text)
        size += len(text)
        if limit is not None and size > limit:
            raise ValueTooLong(limit)
    return "".join(plain).strip(), None if code is None else "".join(code).strip(), False


def _name(ref: Ref, lookup: Callable[[str], str]) -> str:
    """Rule 5: the name of ``ref`` with its inner references substituted verbatim."""
    out: list[str] = []
    for part in ref.parts:
        out.append(part.text if isinstance(part, Literal) else lookup(_name(part, lookup)))
    return "".join(out).strip()
