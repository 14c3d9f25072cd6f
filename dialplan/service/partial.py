"""CallFire's ``fields`` query parameter: a partial response, ``items(id,name),totalCount``.

Names are kept at their level; ``name(a,b)`` keeps ``a`` and ``b`` inside ``name`` (in every
element when it is a list). An unbalanced selector is a 400.
"""

from __future__ import annotations

from typing import Any

from .problems import ProblemError

Selector = dict[str, "Selector | None"]


def parse(text: str) -> Selector:
    """``"a,b(c,d)"`` → ``{"a": None, "b": {"c": None, "d": None}}``."""
    out, rest = _parse(text.replace(" ", ""), 0)
    if rest != len(text.replace(" ", "")):
        raise ProblemError(400, "bad-request", f"fields: unbalanced parentheses in {text!r}")
    return out


def _parse(text: str, i: int) -> tuple[Selector, int]:
    out: Selector = {}
    name = ""
    while i < len(text):
        ch = text[i]
        if ch == "(":
            inner, i = _parse(text, i + 1)
            if i >= len(text) or text[i] != ")":
                raise ProblemError(
                    400, "bad-request", f"fields: unbalanced parentheses in {text!r}"
                )
            out[name] = inner
            name = ""
        elif ch == ")":
            break
        elif ch == ",":
            if name:
                out.setdefault(name, None)
            name = ""
        else:
            name += ch
        i += 1
    if name:
        out.setdefault(name, None)
    return out, i


def apply(data: Any, selector: Selector | None) -> Any:
    if selector is None or not selector:
        return data
    if isinstance(data, list):
        return [apply(item, selector) for item in data]
    if isinstance(data, dict):
        return {k: apply(v, selector[k]) for k, v in data.items() if k in selector}
    return data


def select_fields(data: Any, fields: str) -> Any:
    """``data`` reduced to the ``fields`` selector."""
    return apply(data, parse(fields))
