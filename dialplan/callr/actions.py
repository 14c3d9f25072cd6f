"""The Callr Actions vocabulary: each action, its parameters and their types (one table).

The compiler, the lint rules and the shipped JSON Schema all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Parameter kinds: ``text`` (may hold ``${{ }}``), ``number`` (an integer or ``${{ }}``),
#: ``variable`` (``$name``), ``map`` (a mapping), ``list`` (a sequence), ``code`` (JavaScript).
KINDS = ("text", "number", "variable", "map", "list", "code")


@dataclass(frozen=True, slots=True)
class Param:
    kind: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Action:
    """One ``name@version``: its parameters, and whether this runtime can honour it."""

    name: str
    params: dict[str, Param] = field(default_factory=dict)
    supported: bool = True
    #: what the compiler turns it into (docs/callr-yaml.md, ``dialplan rules``)
    becomes: str = ""


def _a(name: str, becomes: str, supported: bool = True, **params: Param) -> Action:
    return Action(name, dict(params), supported, becomes)


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        _a(
            "dial@v1",
            "the broadcast leg in api-initiated; elsewhere <transfer>",
            targets=Param("list", True),
            timeout=Param("number"),
            answerOnBranch=Param("text"),
            result=Param("variable"),
        ),
        _a(
            "say@v2",
            '<play type="tts">',
            what=Param("text", True),
            voice=Param("text"),
            language=Param("text"),
            result=Param("variable"),
        ),
        _a("play@v1", '<play type="url">', media=Param("text", True), result=Param("variable")),
        _a(
            "gather@v2",
            "<menu> (digits in $result.input)",
            maxDigits=Param("number"),
            timeout=Param("number"),
            prompt=Param("map"),
            result=Param("variable"),
        ),
        _a("javascript@v1", "<script>", code=Param("code", True)),
        _a(
            "fetch@v2",
            "<fetch> (HTTP through the private-address guard)",
            url=Param("text", True),
            method=Param("text"),
            headers=Param("map"),
            body=Param("text"),
            result=Param("variable"),
        ),
        _a("record@v1", "<record>", maxDuration=Param("number"), result=Param("variable")),
        _a("hangup@v1", "<hangup> (after the broadcast leg's remaining actions)"),
        _a("log@v1", "<log>", message=Param("text", True)),
        _a("voicebot@v1", "", supported=False),
        _a("memcache@v1", "", supported=False),
    )
}

#: Keys an action item may hold besides ``action`` and ``params``.
ITEM_KEYS = ("action", "params", "label", "if", "then", "else", "goto")

__all__ = ["ACTIONS", "ITEM_KEYS", "KINDS", "Action", "Param"]
