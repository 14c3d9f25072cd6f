"""Sound library references: ``<play type="callfireid">`` naming a sound of the library.

The library lives in a campaign database (``dialplan sounds``); ``dialplan lint --sounds-db DB``
passes its ids and names as the option ``names`` of ``unknown-library-sound`` (so the lint cache
is keyed by what the library holds).
"""

from __future__ import annotations

from collections.abc import Iterator

from ...model import Node
from ...sounds.names import is_library_name
from ..context import LintContext
from ..index import tagged
from ..positions import value_loc
from ..registry import Problem, rule

OPTION = "unknown-library-sound"
__all__ = ["OPTION", "is_library_name"]


def _library_plays(ctx: LintContext) -> Iterator[tuple[Node, str]]:
    for node in tagged(ctx, "play"):
        if (node.attrs.get("type") or "").lower() != "callfireid":
            continue
        value = (node.text or "").strip()
        if value and "${" not in value:
            yield node, value


def _library(ctx: LintContext) -> set[str] | None:
    """The ids and names of the library given (``None``: none given)."""
    names = ctx.options.get(OPTION, {}).get("names")
    return None if names is None else set(names)


@rule("W079", "library-sound-unchecked")
def library_sound_unchecked(ctx: LintContext) -> Iterator[Problem]:
    """``<play type="callfireid">`` names a library sound, and no library was given to check it.

    Give the campaign database with ``dialplan lint --sounds-db DB``: then a name it does not
    hold is E072.

    Fails::

        <dialplan><play type="callfireid">welcome</play></dialplan>

    Passes::

        <dialplan><play type="callfireid">123456</play></dialplan>
    """
    if _library(ctx) is not None:
        return
    for node, value in _library_plays(ctx):
        if is_library_name(value):
            yield Problem(
                f'sound "{value}" is a library name: give --sounds-db DB to check that it exists',
                value_loc(ctx, node),
            )


@rule("E072", "unknown-library-sound")
def unknown_library_sound(ctx: LintContext) -> Iterator[Problem]:
    """``<play type="callfireid">`` names an id or a name that the sound library (``--sounds-db``)
    does not hold: the call would play nothing.

    Checked only when a library is given (``dialplan lint --sounds-db DB``).
    """
    library = _library(ctx)
    if library is None:
        return
    for node, value in _library_plays(ctx):
        if (value.isdigit() or is_library_name(value)) and value not in library:
            yield Problem(
                f'no sound "{value}" in the sound library',
                value_loc(ctx, node),
            )
