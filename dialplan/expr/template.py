"""``${…}`` templates: parsed once, rendered per call with nested, innermost-first substitution."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..limits import TEMPLATE_MAX_DEPTH

#: Rounds of re-substitution when a value itself contains ``${`` (spec §4.1).
MAX_ROUNDS = 10
#: Deepest ``${`` nesting parsed; deeper text is an error (the parser refuses such documents).
MAX_DEPTH = TEMPLATE_MAX_DEPTH


class TemplateError(ValueError):
    """An unterminated ``${``; ``offset`` is where it starts in the text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class ValueTooLong(Exception):
    """A substitution grew past a limit on the length of one value (``limit`` characters)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a value is longer than {limit} characters")
        self.limit = limit


@dataclass(frozen=True, slots=True)
class Literal:
    text: str


@dataclass(frozen=True, slots=True)
class Ref:
    """``${…}``: the name is itself a sequence of parts (``${choice${num}}``)."""

    parts: tuple[Literal | Ref, ...]
    offset: int

    @property
    def is_dynamic(self) -> bool:
        return any(isinstance(p, Ref) for p in self.parts)

    @property
    def static_name(self) -> str | None:
        """The variable name when it contains no inner reference."""
        if self.is_dynamic:
            return None
        return "".join(p.text for p in self.parts if isinstance(p, Literal)).strip()


Part = Literal | Ref


@dataclass(frozen=True, slots=True)
class Template:
    """A text value with its ``${…}`` references; ``source`` is the text as written."""

    source: str
    parts: tuple[Part, ...]

    @property
    def is_constant(self) -> bool:
        return all(isinstance(p, Literal) for p in self.parts)

    def refs(self) -> Iterator[Ref]:
        """Every reference, outer before inner, in text order."""
        stack = list(reversed(self.parts))
        while stack:
            part = stack.pop()
            if isinstance(part, Ref):
                yield part
                stack.extend(reversed(part.parts))

    def render(self, lookup: Callable[[str], str], limit: int | None = None) -> str:
        """Substitute with ``lookup(name) -> value``; repeat while ``${`` remains (bounded).

        ``limit`` bounds the length of the text (:class:`ValueTooLong`), so values that hold
        references to themselves cannot grow it round after round."""
        text = _render_parts(self.parts, lookup)
        rounds = 1
        while "${" in text and rounds < MAX_ROUNDS:
            if limit is not None and len(text) > limit:
                raise ValueTooLong(limit)
            try:
                again = parse_template(text)
            except TemplateError:
                break
            if again.is_constant:
                break
            text = _render_parts(again.parts, lookup)
            rounds += 1
        if limit is not None and len(text) > limit:
            raise ValueTooLong(limit)
        return text

    def placeholder(self, fill: str = "0") -> str:
        """The text with every top-level reference replaced by ``fill`` (for static checks)."""
        return "".join(p.text if isinstance(p, Literal) else fill for p in self.parts)

    def __str__(self) -> str:
        return self.source


def _render_parts(parts: tuple[Part, ...], lookup: Callable[[str], str]) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, Literal):
            out.append(part.text)
        else:
            out.append(lookup(_render_parts(part.parts, lookup).strip()))
    return "".join(out)


def parse_template(text: str) -> Template:
    """Parse ``text``; raise :class:`TemplateError` on an unterminated ``${``."""
    if "${" not in text:
        return Template(text, (Literal(text),) if text else ())
    parts, _ = _parse_parts(text, 0, nested=False, depth=0)
    return Template(text, tuple(parts))


def _parse_parts(text: str, pos: int, nested: bool, depth: int) -> tuple[list[Part], int]:
    """Parts from ``pos`` up to the end (or, ``nested``, the ``}`` closing a reference)."""
    if depth > MAX_DEPTH:
        raise TemplateError(f"'${{' nested deeper than {MAX_DEPTH} levels", pos - 2)
    parts: list[Part] = []
    n = len(text)
    while pos < n:
        ref = text.find("${", pos)
        if nested:
            close = text.find("}", pos)
            if close != -1 and (ref == -1 or close < ref):
                if close > pos:
                    parts.append(Literal(text[pos:close]))
                return parts, close
        if ref == -1:
            parts.append(Literal(text[pos:]))
            return parts, n
        if ref > pos:
            parts.append(Literal(text[pos:ref]))
        inner, pos = _parse_parts(text, ref + 2, nested=True, depth=depth + 1)
        if pos >= n or text[pos] != "}":
            raise TemplateError("unterminated '${'", ref)
        parts.append(Ref(tuple(inner), ref))
        pos += 1
    return parts, pos


def lenient(text: str) -> Template:
    """Parse, falling back to a constant template when the text has an unterminated ``${``."""
    try:
        return parse_template(text)
    except TemplateError:
        return Template(text, (Literal(text),) if text else ())
