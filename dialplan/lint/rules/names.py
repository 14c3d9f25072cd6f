"""Names and references (spec §6.3): unique names and the targets of ``goto`` and ``catch@goto``."""

from __future__ import annotations

from collections.abc import Iterator

from ...diagnostics import Location
from ...model import Catch, Goto, Node
from ..context import LintContext
from ..frontends import compile_findings
from ..positions import value_loc
from ..registry import Problem, rule

#: Containers whose children are entered only by selection (a branch) or as a menu's prompts.
_GUARDED = frozenset({"menu", "keypress", "live", "machine", "if", "else", "equal", "notEqual"})
#: Tags that are themselves a branch of their parent (selected, not run in sequence).
_BRANCHES = frozenset({"keypress", "live", "machine", "else"})


def _references(ctx: LintContext) -> list[tuple[Node, str, str]]:
    """Every jump: (node, what the file calls it, target text); :func:`_jump_loc` says where the
    target is written (worked out only for a finding)."""

    def compute() -> list[tuple[Node, str, str]]:
        found: list[tuple[Node, str, str]] = []
        for node in ctx.plan.nodes:
            if isinstance(node, Goto):
                found.append((node, f"<{node.raw_tag}>", node.target.strip()))
            elif isinstance(node, Catch) and "goto" in node.attrs:
                raw = node.raw_attrs.get("goto", "goto")
                found.append((node, f"<{node.raw_tag} {raw}>", node.goto.strip()))
        return found

    return ctx.cached("names.references", compute)


def _jump_loc(ctx: LintContext, node: Node) -> Location:
    """Where the target of the jump ``node`` is written."""
    return value_loc(ctx, node) if isinstance(node, Goto) else node.attr_loc("goto")


@rule("E030", "duplicate-name")
def duplicate_name(ctx: LintContext) -> Iterator[Problem]:
    """Two tags share one ``name``.

    Names are unique identifiers (spec §1, §2.2): a ``goto`` to a duplicated name always lands on
    the first tag in the document, so the later one is unreachable by name (and, on ``<record>``,
    recordings overwrite each other). Names are compared exactly, case-sensitively.

    Fails::

        <dialplan><play name="hello" type="tts">Hi</play><play name="hello" type="tts">Again</play></dialplan>

    Passes::

        <dialplan><play name="hello" type="tts">Hi</play><play name="again" type="tts">Again</play></dialplan>
    """
    first: dict[str, Node] = {}
    for node in ctx.plan.nodes:
        if node.name is None:
            continue
        if node.name in first:
            earlier = first[node.name]
            yield Problem(
                f'duplicate name "{node.name}"; already used by <{earlier.raw_tag}> on line '
                f"{earlier.loc.line}",
                node.attr_loc("name"),
            )
        else:
            first[node.name] = node


#: Above this many names, close-spelling suggestions are skipped (difflib is linear per lookup).
_FUZZY_LIMIT = 1000


def _by_lower_case(ctx: LintContext) -> dict[str, list[str]]:
    def build() -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for name in ctx.plan.names:
            index.setdefault(name.lower(), []).append(name)
        return index

    return ctx.cached("names.lower", build)


def _suggestion(ctx: LintContext, target: str) -> str:
    same = sorted(_by_lower_case(ctx).get(target.lower(), []))
    if same:
        return (
            "; did you mean " + " or ".join(f'"{n}"' for n in same) + "? (names are case-sensitive)"
        )
    if len(ctx.plan.names) > _FUZZY_LIMIT:
        return ""
    import difflib  # only for suggestions (start-up time)

    close = difflib.get_close_matches(target, list(ctx.plan.names), n=1, cutoff=0.8)
    return f'; did you mean "{close[0]}"?' if close else ""


def _meant(ctx: LintContext, target: str) -> list[str]:
    """The names a broken jump target was probably meant to be (case, then close spelling)."""
    same = sorted(_by_lower_case(ctx).get(target.lower(), []))
    if same or len(ctx.plan.names) > _FUZZY_LIMIT:
        return same
    import difflib

    return difflib.get_close_matches(target, list(ctx.plan.names), n=1, cutoff=0.8)


def broken_jump_targets(ctx: LintContext) -> dict[str, list[Location]]:
    """Name → where jumps that do not resolve were probably meant to reach it (E031's cause).

    The flow rules leave the knock-on findings of such a jump (the named tag never runs) to E031.
    """

    def compute() -> dict[str, list[Location]]:
        meant: dict[str, list[Location]] = {}
        for node, _what, target in _references(ctx):
            if target and "${" not in target and ctx.plan.resolve(target) is None:
                for name in _meant(ctx, target):
                    meant.setdefault(name, []).append(_jump_loc(ctx, node))
        return meant

    return ctx.cached("names.broken", compute)


def _knock_on(ctx: LintContext, target: str) -> str:
    """`` — so <menu name="Main"> (line 4) never runs`` when nothing else reaches the meant tag."""
    from .flow import is_unreachable

    for name in _meant(ctx, target):
        node = ctx.plan.resolve(name)
        if node is not None and is_unreachable(ctx, node):
            return f"; so {node.label} (line {node.loc.line}) never runs"
    return ""


@rule("E031", "goto-target-not-found")
def goto_target_not_found(ctx: LintContext) -> Iterator[Problem]:
    """A ``<goto>`` or ``catch@goto`` names a node that does not exist.

    Jumps look names up exactly and case-sensitively over the whole document (spec §2.2); a call
    reaching a jump to nowhere cannot continue. If a name differs only in case (``Live`` vs
    ``live``, seen in CallFire's own samples) the message says so.

    Fails::

        <dialplan><menu name="live"><play type="tts">Hi</play></menu><goto>Live</goto></dialplan>

    Passes::

        <dialplan><menu name="live"><play type="tts">Hi</play></menu><goto>live</goto></dialplan>
    """
    for node, what, target in _references(ctx):
        if not target or "${" in target:
            continue  # empty: E013/E020; dynamic: E032
        if ctx.plan.resolve(target) is None:
            yield Problem(
                f'{what} target "{target}" not found{_suggestion(ctx, target)}'
                f"{_knock_on(ctx, target)}",
                _jump_loc(ctx, node),
            )


@rule("E032", "dynamic-goto-target")
def dynamic_goto_target(ctx: LintContext) -> Iterator[Problem]:
    """A ``<goto>`` or ``catch@goto`` target contains ``${…}``.

    Jump targets are used literally (spec §3.5): no source shows computed targets, so variables
    are not expanded there and the jump would look for a node literally named ``${…}``. Branch
    with ``<if>`` or ``<equal>`` instead.

    Fails::

        <dialplan><goto>step${n}</goto></dialplan>

    Passes::

        <dialplan>
          <if expr="${n} == 1"><goto>step1</goto><else><goto>step2</goto></else></if>
          <play name="step1" type="tts">One</play><play name="step2" type="tts">Two</play>
        </dialplan>
    """
    for node, what, target in _references(ctx):
        if "${" in target:
            yield Problem(
                f'{what} target "{target}" contains ${{…}}: jump targets are literal names',
                _jump_loc(ctx, node),
            )


def _entered_midway(target: Node) -> tuple[Node, str] | None:
    """The container a jump to ``target`` enters other than at its start, and how, if any."""
    parent = target.parent
    if parent is None:
        return None
    if target.tag in _BRANCHES:
        return parent, f"the {target.label} branch of {parent.label}"
    if parent.tag not in _GUARDED:
        return None
    if parent.tag == "menu":
        if parent.children and parent.children[0] is target:
            return None  # the first prompt of a menu: the same as jumping to the menu
        return parent, f"a later prompt of {parent.label}"
    return parent, f"the {parent.label} branch"


@rule("I033", "goto-into-branch")
def goto_into_branch(ctx: LintContext) -> Iterator[Problem]:
    """A jump lands inside another menu or branch (legal; the continuation rule applies).

    Jumping to a tag inside a keypress, live/machine, if/else or equal branch, or to a later prompt
    of a menu, runs that tag and then continues as if the branch had been entered normally: after
    a branch, the tag after its menu/amd/if runs; after a prompt, the menu waits for input
    (spec §2.2). Samples rely on this, but it is easy to misread. Jumps from inside the same
    branch or menu are not reported.

    Fails (reported)::

        <dialplan>
          <menu><play type="tts">Press 1</play>
            <keypress pressed="1"><play name="bye" type="tts">Bye</play><hangup/></keypress></menu>
          <goto>bye</goto>
        </dialplan>

    Passes::

        <dialplan>
          <menu><play type="tts">Press 1</play>
            <keypress pressed="1"><goto>bye</goto></keypress></menu>
          <play name="bye" type="tts">Bye</play><hangup/>
        </dialplan>
    """
    for node, what, target in _references(ctx):
        if not target or "${" in target:
            continue
        found = ctx.plan.resolve(target)
        if found is None:
            continue
        midway = _entered_midway(found)
        if midway is None:
            continue
        entered, how = midway
        if node is entered or any(a is entered for a in node.ancestors()):
            continue
        yield Problem(
            f"{what} to {found.label} enters {how} (line {entered.loc.line}) midway; the "
            f"call then goes on as the rest of that <{entered.raw_tag}> would (spec §2.2)",
            _jump_loc(ctx, node),
        )


@rule("E034", "callr-unknown-branch")
def callr_unknown_branch(ctx: LintContext) -> Iterator[Problem]:
    """A Callr YAML ``goto: branch:`` or ``answerOnBranch`` names no branch of the scenario.

    The call would have nowhere to go. (A ``goto: label:`` naming no label is E031, as for
    ``<goto>`` in XML.)

    Fails::

        dialplan: yaml
        branches:
          inbound-call:
            actions:
              - goto:
                  branch: menu

    Passes::

        dialplan: yaml
        branches:
          inbound-call:
            actions:
              - goto:
                  branch: menu
          menu:
            actions:
              - action: hangup@v1
    """
    yield from compile_findings(ctx, "E034")
