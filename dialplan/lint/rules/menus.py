"""Menus and keypress patterns (spec §6.4, E040–W045): what input selects which branch."""

from __future__ import annotations

from collections.abc import Iterator

from ...model import Keypress, Menu, Pattern, PatternKind
from ..context import LintContext
from ..index import tagged
from ..registry import Problem, rule


def _menus(ctx: LintContext) -> list[tuple[Menu, list[Keypress]]]:
    """Each menu with its keypresses that carry a ``pressed`` attribute."""
    return ctx.cached(
        "menus.menus",
        lambda: [
            (n, [k for k in n.keypresses if "pressed" in k.attrs])
            for n in tagged(ctx, "menu")
            if isinstance(n, Menu)
        ],
    )


def _keypresses(ctx: LintContext) -> list[Keypress]:
    """Keypresses that carry a ``pressed`` attribute (a missing one is E020's business)."""
    return ctx.cached(
        "menus.keypresses",
        lambda: [
            n for n in tagged(ctx, "keypress") if isinstance(n, Keypress) and "pressed" in n.attrs
        ],
    )


def _pressed(kp: Keypress) -> str:
    """The attribute as written, e.g. ``pressed="1-3"`` (the file's spelling, spec §6)."""
    return f'{kp.raw_attrs.get("pressed", "pressed")}="{kp.attrs.get("pressed", "")}"'


def _identity(p: Pattern) -> tuple[object, ...]:
    """Patterns that select exactly the same input (``Default`` ≡ ``default``, ``01-3`` ≡ ``1-3``)."""
    if p.kind is PatternKind.RANGE:
        return ("range", p.lo, p.hi)
    return (p.kind.value, p.key)


def _range_bounds(text: str) -> tuple[int, int] | None:
    """``lo-hi`` bounds of a range-like text (spaces allowed), for explaining why it is invalid."""
    parts = [part.strip() for part in text.split("-", 1)]
    if len(parts) == 2 and all(part.isascii() and part.isdigit() for part in parts):
        return int(parts[0]), int(parts[1])
    return None


@rule("E040", "invalid-keypress-pattern")
def invalid_pattern(ctx: LintContext) -> Iterator[Problem]:
    """A `pressed` value is not a key string, a digit range, `default` or `timeout`.

    Spec §3.3 allows keys made of `0`-`9`, `*` and `#` (`1`, `321`, `#`), a range `lo-hi` of
    digits with lo ≤ hi (`300-315`), `default` and `timeout`. Anything else (comma lists, letters,
    a reversed range) selects no input at all, so the branch is dead.

    Failing:

        <keypress pressed="1,2"><hangup/></keypress>
        <keypress pressed="9-3"><hangup/></keypress>

    Passing:

        <keypress pressed="1"><hangup/></keypress>
        <keypress pressed="3-9"><hangup/></keypress>
    """
    for kp in _keypresses(ctx):
        p = kp.pattern
        if p.kind is not PatternKind.INVALID:
            continue
        if not p.text:
            why = "it is empty"
        elif "," in p.text:
            why = "comma lists are not part of the language; write one keypress per key"
        elif (bounds := _range_bounds(p.text)) is not None:
            lo, hi = bounds
            if lo > hi:
                why = f"the range runs backwards ({lo} > {hi})"
            else:
                why = f"write a range without spaces: {lo}-{hi}"
        else:
            why = "expected keys 0-9 * #, a range lo-hi, default or timeout"
        yield Problem(f"invalid pattern {_pressed(kp)}: {why}", kp.attr_loc("pressed"))


@rule("E041", "duplicate-keypress")
def duplicate_keypress(ctx: LintContext) -> Iterator[Problem]:
    """Two keypresses of one menu have the same pattern; only the first can ever run.

    The first matching branch is selected (spec §3.3), so a second `default`, `timeout` or the
    same key again is dead code — usually a copy-paste slip where another key was meant.
    `default`/`timeout` compare case-insensitively; ranges compare by their bounds.

    Failing:

        <menu><play type="tts">Press 1</play>
          <keypress pressed="default"><goto>Sales</goto></keypress>
          <keypress pressed="Default"><goto>Support</goto></keypress>
        </menu>

    Passing:

        <menu><play type="tts">Press 1</play>
          <keypress pressed="1"><goto>Sales</goto></keypress>
          <keypress pressed="default"><goto>Support</goto></keypress>
        </menu>
    """
    for menu, keypresses in _menus(ctx):
        seen: dict[tuple[object, ...], Keypress] = {}
        for kp in keypresses:
            if kp.pattern.kind is PatternKind.INVALID:
                continue
            ident = _identity(kp.pattern)
            first = seen.get(ident)
            if first is None:
                seen[ident] = kp
                continue
            yield Problem(
                f"duplicate keypress {_pressed(kp)} in {menu.label}: the one at line "
                f"{first.loc.line} is selected first, so this branch never runs",
                kp.attr_loc("pressed"),
            )


def _digits_value(p: Pattern) -> int | None:
    if p.kind is PatternKind.LITERAL and p.text.isdigit():
        return int(p.text)
    return None


@rule("W042", "overlapping-keypress")
def overlapping_keypress(ctx: LintContext) -> Iterator[Problem]:
    """Two keypress patterns of one menu accept some of the same input.

    A literal inside a range (`2` and `1-3`) or two intersecting ranges (`1-5` and `3-9`) are
    legal: an exact literal wins over ranges, and among ranges the first in document order wins
    (spec §3.3). But the overlap is easy to miss, and one of the branches silently loses part of
    its input. Reported on the later of the two keypresses.

    Failing:

        <menu maxDigits="2"><play type="tts">Enter a number</play>
          <keypress pressed="1-20"><goto>Low</goto></keypress>
          <keypress pressed="10-99"><goto>High</goto></keypress>
        </menu>

    Passing:

        <menu maxDigits="2"><play type="tts">Enter a number</play>
          <keypress pressed="1-9"><goto>Low</goto></keypress>
          <keypress pressed="10-99"><goto>High</goto></keypress>
        </menu>
    """
    for _menu, keypresses in _menus(ctx):
        earlier: list[Keypress] = []
        #: the earlier ranges alone: two literals never overlap, so a literal is checked against
        #: these only (a menu of thousands of literal keys stays linear)
        ranges: list[Keypress] = []
        idents: set[tuple[object, ...]] = set()
        for kp in keypresses:
            p = kp.pattern
            ident = _identity(p)
            if p.kind not in (PatternKind.LITERAL, PatternKind.RANGE) or ident in idents:
                continue  # duplicates are E041's
            value = _digits_value(p)
            if value is not None or p.kind is PatternKind.RANGE:
                for other in earlier if p.kind is PatternKind.RANGE else ranges:
                    message = _overlap(kp, other, value)
                    if message:
                        yield Problem(message, kp.attr_loc("pressed"))
                        break
            earlier.append(kp)
            if p.kind is PatternKind.RANGE:
                ranges.append(kp)
            idents.add(ident)


def _overlap(kp: Keypress, other: Keypress, value: int | None) -> str | None:
    p, q = kp.pattern, other.pattern
    where = f"{_pressed(other)} (line {other.loc.line})"
    if p.kind is PatternKind.LITERAL:
        if q.kind is PatternKind.RANGE and value is not None and q.lo <= value <= q.hi:
            return (
                f"{_pressed(kp)} is also inside range {where}; the literal wins, "
                f"so the range never gets {p.text}"
            )
        return None
    if q.kind is PatternKind.RANGE:
        lo, hi = max(p.lo, q.lo), min(p.hi, q.hi)
        if lo <= hi:
            both = str(lo) if lo == hi else f"{lo}-{hi}"
            return f"range {_pressed(kp)} overlaps range {where}; the earlier one wins for {both}"
        return None
    other_value = _digits_value(q)
    if other_value is not None and p.lo <= other_value <= p.hi:
        return f"range {_pressed(kp)} contains the literal {where}; the literal wins for {q.text}"
    return None


@rule("E043", "keypress-exceeds-max-digits")
def exceeds_max_digits(ctx: LintContext) -> Iterator[Problem]:
    """A pattern needs more digits than the menu collects, so it can never match.

    Input stops after `maxDigits` digits (spec §2.3): with `maxDigits="1"` the caller can never
    enter `12`. For a range, it is dead when even its lower bound is too long.

    Failing:

        <menu maxDigits="1"><play type="tts">Enter your extension</play>
          <keypress pressed="300-315"><transfer>2135551212</transfer></keypress>
        </menu>

    Passing:

        <menu maxDigits="3"><play type="tts">Enter your extension</play>
          <keypress pressed="300-315"><transfer>2135551212</transfer></keypress>
        </menu>
    """
    for menu, keypresses in _menus(ctx):
        limit = menu.max_digits
        for kp in keypresses:
            p = kp.pattern
            if p.kind is PatternKind.LITERAL:
                needed = len(p.text)
            elif p.kind is PatternKind.RANGE:
                needed = len(str(p.lo))
            else:
                continue
            if needed > limit:
                yield Problem(
                    f"{_pressed(kp)} needs {needed} digits but {menu.label} collects "
                    f"at most maxDigits={limit}: it can never match",
                    kp.attr_loc("pressed"),
                )


@rule("I044", "keypress-spelling-normalised")
def spelling_normalised(ctx: LintContext) -> Iterator[Problem]:
    """`Default`/`Timeout` (any capitalisation) is read as `default`/`timeout`.

    The documentation writes `Default` and `Timeout`, most samples `default` and `timeout`; both
    work (spec §3.3). Writing them in lower case keeps a dialplan consistent.

    Failing:

        <keypress pressed="Default"><goto>MainMenu</goto></keypress>

    Passing:

        <keypress pressed="default"><goto>MainMenu</goto></keypress>
    """
    for kp in _keypresses(ctx):
        p = kp.pattern
        if p.kind in (PatternKind.DEFAULT, PatternKind.TIMEOUT) and p.text != p.kind.value:
            yield Problem(f'{_pressed(kp)} is read as "{p.kind.value}"', kp.attr_loc("pressed"))


@rule("W045", "hash-in-multi-key-pattern")
def hash_in_pattern(ctx: LintContext) -> Iterator[Problem]:
    """`#` inside a multi-key pattern: `#` ends digit entry, so the pattern cannot be typed.

    `#` terminates multi-digit input and is not part of the collected digits; only a `#`
    pressed first is delivered on its own (spec §2.3). So `1#` arrives as `1` and `#1` as `#`.

    Failing:

        <keypress pressed="12#"><goto>Next</goto></keypress>

    Passing:

        <keypress pressed="12"><goto>Next</goto></keypress>
        <keypress pressed="#"><goto>Next</goto></keypress>
    """
    for kp in _keypresses(ctx):
        p = kp.pattern
        if p.kind is PatternKind.LITERAL and len(p.text) > 1 and "#" in p.text:
            yield Problem(
                f'{_pressed(kp)} contains "#", which ends the input: it arrives as '
                f'"{_arrives_as(p.text)}", so this pattern never matches',
                kp.attr_loc("pressed"),
            )


def _arrives_as(keys: str) -> str:
    if keys.startswith("#"):
        return "#"
    return keys.split("#", 1)[0]
