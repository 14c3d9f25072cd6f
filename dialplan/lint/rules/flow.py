"""Control flow (spec §6.7, W070–W076): dead tags, endless loops, implicit ends, catch handlers.

Every rule here reads the one control-flow graph of the file (:mod:`dialplan.model.flow`),
computed once per file through ``ctx.cached("cfg", …)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ...model import Catch, Goto, Hangup, Keypress, Menu, Node, Play, Transfer
from ...model.flow import (
    NORMAL,
    Edge,
    EdgeKind,
    Ending,
    FlowGraph,
    Vertex,
    build_flow,
    in_flow,
    intercepted_digits,
    selectable_keypresses,
)
from ...model.patterns import PatternKind
from ...model.tags import LINE_TAG_NAMES
from ..context import LintContext
from ..index import tagged
from ..registry import Problem, rule

#: Tags that need the phone line: skipped after the caller hung up (spec §2.5).
_AUDIO_TAGS = LINE_TAG_NAMES
#: Tags that only steer control; they neither use the line nor leave a trace.
_CONTROL_TAGS = frozenset(
    {"goto", "hangup", "if", "else", "equal", "notEqual", "catch", "keypress", "live", "machine",
     "amd", "dialplan"}
)  # fmt: skip


def _cfg(ctx: LintContext) -> FlowGraph:
    return ctx.cached("cfg", lambda: build_flow(ctx.plan))


def _live(ctx: LintContext) -> set[int]:
    return ctx.cached("cfg.reachable", lambda: _cfg(ctx).reachable_from_start())


def _jump_targets(ctx: LintContext) -> set[int]:
    """Indexes of every node some ``<goto>`` or ``catch@goto`` names (reachable or not)."""

    def compute() -> set[int]:
        plan = ctx.plan
        found: set[int] = set()
        for node in plan.nodes:
            if isinstance(node, (Goto, Catch)):
                target = plan.goto_target(node)
                if target is not None:
                    found.add(target.index)
        return found

    return ctx.cached("cfg.targets", compute)


def _previous(ctx: LintContext, node: Node) -> Node | None:
    """The tag that runs just before ``node`` in its block (None for the first / a branch)."""
    if node.parent is None or isinstance(node, Keypress) or node.tag in ("live", "machine", "else"):
        return None
    return _previous_in_block(ctx).get(node.index)


def _previous_in_block(ctx: LintContext) -> dict[int, Node | None]:
    """Node index → the tag before it in its parent's block (``<else>`` skipped; menus: prompts).

    One pass over every block, so W070 stays linear in the number of siblings."""

    def compute() -> dict[int, Node | None]:
        found: dict[int, Node | None] = {}
        for parent in ctx.plan.nodes:
            before: Node | None = None
            for child in parent.prompts if isinstance(parent, Menu) else parent.children:
                if child.tag != "else":
                    found[child.index] = before
                    before = child
        return found

    return ctx.cached("flow.previous", compute)


@rule("W070", "unreachable-node")
def unreachable(ctx: LintContext) -> Iterator[Problem]:
    """A tag can never run: no route from the start leads to it and no goto/catch names it.

    Typical causes are tags after an unconditional `<goto>` or `<hangup/>` in the same block, a
    top-level menu after a `<hangup/>` that nobody jumps to, or a keypress whose first key a
    surrounding `<catch type="digit">` always takes. An unreachable region is reported once, at
    its first tag.

    Fails::

        <dialplan>
          <play type="tts">Goodbye</play>
          <hangup/>
          <play type="tts">Never heard</play>
        </dialplan>

    Passes::

        <dialplan>
          <menu name="main"><play type="tts">Press 1</play>
            <keypress pressed="1"><goto>extra</goto></keypress></menu>
          <hangup/>
          <play type="tts" name="extra">Heard after pressing 1</play>
          <hangup/>
        </dialplan>

    (The tag after the first hangup is a goto target.)
    """
    plan = ctx.plan
    graph = _cfg(ctx)
    live = _live(ctx)
    targets = _jump_targets(ctx)
    from .names import broken_jump_targets

    meant = broken_jump_targets(ctx)
    for node in plan.nodes:
        if node.parent is None or node.index in live or node.index in targets:
            continue
        if node.name is not None and node.name in meant:
            continue  # a misspelt jump meant to reach it: E031 reports the cause
        if not in_flow(node) or node.parent.index not in live:
            continue  # an enclosing region is reported (or cannot run at all)
        before = _previous(ctx, node)
        if before is not None and before.index not in live:
            continue  # same region as the tag before it
        menu = node.parent
        if isinstance(node, Keypress) and isinstance(menu, Menu):
            selectable = selectable_keypresses(menu)
            if node not in selectable:
                continue  # invalid / duplicate / too long: E040, E041, E043 say why
            if graph.input_phase(menu).id not in live:
                if node is not selectable[0]:
                    continue  # one report for all the menu's branches
                why = f"the prompts of {menu.label} never finish, so it never waits for input"
            else:
                keys = sorted(intercepted_digits(menu))
                why = f'a <catch type="digit"> takes its first key ({", ".join(keys)}) before the menu'
        elif before is not None:
            why = f"it follows {_stopper(before)} on line {before.loc.line}"
        else:
            why = "no route from the start reaches it and no goto or catch names it"
        yield Problem(f"{node.label} can never run: {why}", node.loc)


def is_unreachable(ctx: LintContext, node: Node) -> bool:
    """Whether no route from the start reaches ``node`` and no jump names it."""
    return node.index not in _live(ctx) and node.index not in _jump_targets(ctx)


def _stopper(node: Node) -> str:
    if isinstance(node, Goto):
        return f"<{node.raw_tag}>{node.target.strip()}</{node.raw_tag}>"
    if isinstance(node, Hangup):
        return f"<{node.raw_tag}/>"
    if isinstance(node, Transfer):
        return f"{node.label} that ends the call"
    return f"{node.label}, which never continues"


def _cycles(ctx: LintContext) -> list[list[int]]:
    """Strongly connected sets of non-waiting vertices that are reachable and never left."""

    def compute() -> list[list[int]]:
        graph = _cfg(ctx)
        live = _live(ctx)
        members = {v.id for v in graph.vertices if v.id in live and not v.waits}

        targets: dict[int, list[int]] = {
            vid: [
                e.target
                for e in graph.out.get(vid, ())
                if e.target is not None and e.kind is not EdgeKind.CATCH  # i.e. in NORMAL
            ]
            for vid in members
        }
        found = []
        for scc in _components(members, targets.__getitem__):
            if len(scc) == 1 and scc[0] not in targets[scc[0]]:
                continue  # a single vertex without an edge to itself is no loop
            inside = set(scc)
            edges = [e for v in scc for e in graph.successors(v, NORMAL)]
            leaves = any(e.target is None or e.target not in inside for e in edges)
            if not leaves:
                found.append(sorted(scc))
        return found

    return ctx.cached("cfg.cycles", compute)


def _components(
    members: Iterable[int], successors: Callable[[int], Iterable[int]]
) -> list[list[int]]:
    """Tarjan's strongly connected components of the graph on ``members`` (iterative)."""
    inside = set(members)
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    result: list[list[int]] = []
    work: list[tuple[int, list[int]]] = []

    def visit(v: int) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        work.append((v, [t for t in successors(v) if t in inside]))

    for root in sorted(inside):
        if root in index:
            continue
        visit(root)
        while work:
            v, nexts = work[-1]
            if nexts:
                w = nexts.pop()
                if w not in index:
                    visit(w)
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                result.append(component)
    return result


def _describe_cycle(graph: FlowGraph, scc: list[int]) -> str:
    tags = [graph.vertices[v] for v in scc if not graph.vertices[v].phase]
    shown = ", ".join(f"{v.node.label} (line {v.loc.line})" for v in tags[:4])
    return shown + (f" and {len(tags) - 4} more" if len(tags) > 4 else "")


@rule("E071", "input-free-cycle")
def input_free_cycle(ctx: LintContext) -> Iterator[Problem]:
    """A loop that never waits for the caller and never leaves: the call spins forever.

    A cycle of gotos, setvars, stashes and conditions with no menu input, foreground record or
    transfer in it, and no branch out of it, runs until the engine's step limit stops the call
    with an error (spec §2.6). Loops guarded by an `if` that can leave them are not reported.

    Fails::

        <dialplan>
          <setvar name="a" varname="n">${n}+1</setvar>
          <goto>a</goto>
        </dialplan>

    Passes::

        <dialplan>
          <setvar name="a" varname="n">${n}+1</setvar>
          <if expr="${n} &lt; 3"><goto>a</goto></if>
          <hangup/>
        </dialplan>
    """
    graph = _cfg(ctx)
    for scc in _cycles(ctx):
        if any(isinstance(graph.vertices[v].node, Play) for v in scc):
            continue  # W073
        first = graph.vertices[scc[0]]
        yield Problem(
            f"endless loop without input: {_describe_cycle(graph, scc)} "
            "jump to each other and nothing leaves the loop",
            first.loc,
        )


@rule("W073", "play-loop-without-input")
def play_cycle(ctx: LintContext) -> Iterator[Problem]:
    """A loop plays audio over and over without ever waiting for input or leaving.

    The caller cannot stop it (no menu collects a key) and nothing ends it except the caller
    hanging up or the engine's call-length limit (spec §2.6).

    Fails::

        <dialplan>
          <play type="tts" name="ad">Call us now!</play>
          <goto>ad</goto>
        </dialplan>

    Passes::

        <dialplan>
          <menu name="ad"><play type="tts">Call us now! Press 1 to hear it again.</play>
            <keypress pressed="1"><goto>ad</goto></keypress></menu>
          <hangup/>
        </dialplan>
    """
    graph = _cfg(ctx)
    for scc in _cycles(ctx):
        if not any(isinstance(graph.vertices[v].node, Play) for v in scc):
            continue
        first = graph.vertices[scc[0]]
        yield Problem(
            f"endless loop that only plays audio: {_describe_cycle(graph, scc)}; "
            "no input is taken and nothing leaves the loop",
            first.loc,
        )


#: The outcomes a caller who presses nothing gets at a menu.
_SILENT = frozenset({"timeout", "no input"})
#: normal edges except how a transfer went
_WITHOUT_OUTCOME = tuple(NORMAL - {EdgeKind.OUTCOME})


def _silent_edges(graph: FlowGraph, vid: int) -> Iterator[Edge]:
    """Where a caller who never presses a key can go from ``vid`` (data decides the rest)."""
    phase = graph.vertices[vid].phase
    for edge in graph.successors(vid, NORMAL):
        if not phase or (edge.decision is not None and edge.decision[1] in _SILENT):
            yield edge


def _silent_traps(ctx: LintContext) -> set[int]:
    """Input-phase vertices a silent caller can never leave: no silent route from them ends the
    call, and one leads back to them (a menu that only leads into another trap is not one).
    Computed once per file (W072 and W077 both read it)."""
    return ctx.cached("flow.silent_traps", lambda: _find_silent_traps(ctx))


def _find_silent_traps(ctx: LintContext) -> set[int]:
    graph = _cfg(ctx)
    live = _live(ctx)
    back: dict[int, list[int]] = {}
    enders: list[int] = []
    for vid in live:
        for edge in _silent_edges(graph, vid):
            if edge.target is None:
                enders.append(vid)
            else:
                back.setdefault(edge.target, []).append(vid)
    can_end: set[int] = set()
    stack = enders
    while stack:
        vid = stack.pop()
        if vid not in can_end:
            can_end.add(vid)
            stack.extend(back.get(vid, ()))
    stuck = live - can_end

    def successors(vid: int) -> Iterator[int]:
        return (e.target for e in _silent_edges(graph, vid) if e.target is not None)

    traps: set[int] = set()
    for scc in _components(stuck, successors):
        looped = len(scc) > 1 or scc[0] in set(successors(scc[0]))
        if looped:
            traps.update(v for v in scc if graph.vertices[v].phase)
    return traps


@rule("W072", "menu-retry-loop")
def menu_retry_loop(ctx: LintContext) -> Iterator[Problem]:
    """A menu that a caller who presses nothing can never leave: a never-ending loop.

    When nobody presses a key (a caller who put the phone down, an answering machine), the menu
    takes its `timeout` branch, or continues after the menu when it has none. If that route
    always leads back into the same menu, the call replays it forever — the "dangerous continual
    loop" CallFire's keypress documentation warns about. Count the retries with `<setvar>` and
    leave with an `<if>` that hangs up or moves on; a loop with such an `if` is not reported. A
    `default` branch that replays the menu is fine as long as silence leads out.

    Fails::

        <dialplan>
          <menu name="main"><play type="tts">Press 1</play>
            <keypress pressed="1"><transfer>2135551212</transfer></keypress>
            <keypress pressed="timeout"><goto>main</goto></keypress>
          </menu>
        </dialplan>

    Passes::

        <dialplan>
          <setvar varname="tries">0</setvar>
          <menu name="main"><play type="tts">Press 1</play>
            <keypress pressed="1"><transfer>2135551212</transfer></keypress>
            <keypress pressed="timeout">
              <setvar varname="tries">${tries}+1</setvar>
              <if expr="${tries} &gt; 2"><hangup/></if>
              <goto>main</goto>
            </keypress>
          </menu>
        </dialplan>
    """
    graph = _cfg(ctx)
    traps = _silent_traps(ctx)
    for node in tagged(ctx, "menu"):
        if not isinstance(node, Menu) or not in_flow(node):
            continue
        if graph.input_phase(node).id not in traps:
            continue
        timeout = next(
            (k for k in selectable_keypresses(node) if k.pattern.kind is PatternKind.TIMEOUT),
            None,
        )
        if timeout is not None:
            where, loc = f'its {timeout.label} pressed="{timeout.pattern.text}"', timeout.loc
        else:
            where, loc = "the route after it", node.loc
        yield Problem(
            f"{node.label} never lets a silent caller go: {where} always leads back into the "
            "menu; count the retries and leave after a few",
            loc,
        )


def _reachable_while_connected(graph: FlowGraph) -> set[int]:
    """Vertices reachable from the start without a hangup catch firing."""
    seen: set[int] = set()
    stack = [graph.start]
    while stack:
        vid = stack.pop()
        if vid in seen:
            continue
        seen.add(vid)
        for edge in graph.successors(vid):
            caller_gone = edge.kind is EdgeKind.CATCH and edge.label == "hangup caught"
            if edge.target is not None and not caller_gone:
                stack.append(edge.target)
    return seen


@rule("I074", "implicit-hangup")
def implicit_hangup(ctx: LintContext) -> Iterator[Problem]:
    """The call can end by running past the last tag (an implicit `<hangup/>`).

    Spec §2.1: falling off the end of the root hangs up. That is legal and common, but an
    explicit `<hangup/>` (or a goodbye prompt) makes the end of the call deliberate. Reported once
    per file, at the first place where it happens.

    Fails::

        <dialplan><play type="tts">Thanks for calling</play></dialplan>

    Passes::

        <dialplan><play type="tts">Thanks for calling</play><hangup/></dialplan>
    """
    from .structure import is_empty_plan

    if is_empty_plan(ctx):
        return  # W01B reports the cause
    graph = _cfg(ctx)
    # a hangup handler running off the end is how it is meant to finish: the caller is gone
    connected = _reachable_while_connected(graph)
    sources: list[Vertex] = []
    for edge in graph.edges:
        if edge.ending is Ending.END_OF_PLAN and edge.source in connected:
            vertex = graph.vertices[edge.source]
            if vertex not in sources:
                sources.append(vertex)
    if not sources:
        return
    sources.sort(key=lambda v: (v.loc, v.id))
    first = sources[0]
    how = "after"
    if first.phase:
        labels = {e.label for e in graph.successors(first.id) if e.ending is Ending.END_OF_PLAN}
        how = {
            frozenset({"no input"}): "when no key is pressed at",
            frozenset({"no match"}): "when the key matches no branch of",
        }.get(frozenset(labels), "when no key is pressed or none matches at")
    more = f" (and {len(sources) - 1} more places)" if len(sources) > 1 else ""
    yield Problem(
        f"the call can end without an explicit <hangup/>: it runs off the end of the dialplan "
        f"{how} {first.node.label}{more}",
        first.loc,
    )


@rule("I075", "amd-present")
def amd_present(ctx: LintContext) -> Iterator[Problem]:
    """The dialplan uses `<amd>`, which only distinguishes people from machines on outbound calls.

    Spec §2.4: on an inbound call the `<live>` branch always runs. Informational, so that a
    dialplan meant for inbound numbers is not expected to reach its `<machine>` branch.

    Fails::

        <dialplan><amd><live><play type="tts">Hi</play></live>
          <machine><play type="tts">Message</play></machine></amd></dialplan>

    Passes::

        <dialplan><play type="tts">Hi</play><hangup/></dialplan>
    """
    for node in tagged(ctx, "amd"):
        if in_flow(node):
            yield Problem(
                f"{node.label} only detects answering machines on outbound calls; "
                "inbound calls always take <live>",
                node.loc,
            )


@rule("W076", "catch-target")
def catch_target(ctx: LintContext) -> Iterator[Problem]:
    """A catch's handler is misplaced or cannot do anything.

    Two cases (spec §2.5):

    * the `goto` target lies outside the catch and only the catch leads there: once control
      jumps out of its scope the catch no longer watches, and the handler is dead code for any
      other route — usually the handler was meant to be inside the catch;
    * a `type="hangup"` catch whose handler holds only audio tags (`play`, `menu`, `record`,
      `transfer`): after the caller hung up these are skipped, so the handler does nothing.
      Use it to `<stash>`, `<setvar>`, `<post>` or `<get>`.

    Fails::

        <dialplan>
          <catch type="hangup" goto="bye">
            <menu><play type="tts">Press 1</play><keypress pressed="1"/></menu>
          </catch>
          <hangup/>
          <play type="tts" name="bye">Goodbye</play>
        </dialplan>

    Passes::

        <dialplan>
          <catch type="hangup" goto="save">
            <menu><play type="tts">Press 1</play><keypress pressed="1"/></menu>
            <hangup/>
            <stash name="save" varname="hung_up">yes</stash>
          </catch>
        </dialplan>
    """
    plan = ctx.plan
    graph = _cfg(ctx)
    normal = ctx.cached("cfg.reachable-normal", lambda: graph.reachable([graph.start], NORMAL))
    for catch in plan.nodes:
        if not isinstance(catch, Catch) or not in_flow(catch):
            continue
        target = plan.goto_target(catch)
        if target is None:
            continue  # E031
        loc = catch.attr_loc("goto")
        inside = any(a is catch for a in target.ancestors())
        watching = any(n.index in normal for n in catch.walk())
        if not inside and target.index not in normal and watching:
            yield Problem(
                f'catch target "{catch.goto}" ({target.label}, line {target.loc.line}) lies '
                f"outside {catch.label} and only the catch leads to it",
                loc,
            )
        if catch.type == "hangup" and not _handler_acts(graph, target):
            yield Problem(
                f'the hangup handler "{catch.goto}" only has audio tags, which are skipped once '
                "the caller has hung up; it does nothing",
                loc,
            )


def _handler_acts(graph: FlowGraph, target: Node) -> bool:
    """Whether the route(s) from a hangup handler reach a tag that works without the line."""
    plan = graph.plan
    seen: set[int] = set()
    stack = [target.index]
    while stack:
        vid = stack.pop()
        if vid in seen:
            continue
        seen.add(vid)
        vertex = graph.vertices[vid]
        node = vertex.node
        if not vertex.phase and node.tag not in _AUDIO_TAGS and node.tag not in _CONTROL_TAGS:
            return True
        if vertex.phase or node.tag in _AUDIO_TAGS:
            after = plan.after(node)  # skipped: control moves on (a menu as a whole)
            if after is not None:
                stack.append(graph.vertex(after).id)
            continue
        stack.extend(
            e.target for e in graph.successors(vid, _WITHOUT_OUTCOME) if e.target is not None
        )
    return False


@rule("W078", "callr-endless-counter-loop")
def callr_endless_counter_loop(ctx: LintContext) -> Iterator[Problem]:
    """A Callr YAML counter loop that can never end.

    A ``goto`` back to a label whose loop body changes a counter (``$repeat--``) is a retry
    loop; it ends only through an ``if`` on that counter that hangs up or jumps away. Without
    one, or when the counter moves away from the value the ``if`` waits for (``$n++`` from 3
    while waiting for ``$n == 0``), a caller who never answers keeps the line busy until the
    call's step limit. The document's own retry loop (``$repeat--`` then ``if: $repeat == 0``
    with ``hangup@v1``) passes.

    Fails::

        dialplan: yaml
        variables:
          $repeat: 3
        branches:
          inbound-call:
            actions:
              - label: again
                action: javascript@v1
                params:
                  code: $repeat--
              - action: gather@v2
                params:
                  maxDigits: 1
              - goto:
                  label: again

    Passes::

        dialplan: yaml
        variables:
          $repeat: 3
        branches:
          inbound-call:
            actions:
              - label: again
                action: javascript@v1
                params:
                  code: $repeat--
              - action: gather@v2
                params:
                  maxDigits: 1
              - if: $repeat == 0
                action: hangup@v1
              - goto:
                  label: again
    """
    scenario = getattr(ctx.doc, "scenario", None)
    if scenario is not None:
        from ...callr.loops import endless_loops  # YAML scenarios only

        for loop in endless_loops(scenario):
            yield Problem(loop.message, loop.loc)


@rule("W077", "silence-falls-into-next-menu")
def silence_falls_through(ctx: LintContext) -> Iterator[Problem]:
    """A menu without a ``timeout`` branch, followed by another menu: silence falls into it.

    A caller who presses nothing continues after the menu (spec §3.3). When the next tag is
    another menu, that caller hears the next question without having answered this one — rarely
    what the designer meant. Add a ``<keypress pressed="timeout">`` that replays the menu a few
    times or ends the call. (A menu that loops forever on silence is W072's; one without any
    keypress is W007's.)

    Fails::

        <dialplan>
          <menu name="lang"><play type="tts">Press 1 for English</play>
            <keypress pressed="1"><setvar varname="l">en</setvar></keypress></menu>
          <menu name="main"><play type="tts">Press 1 for sales</play>
            <keypress pressed="1"><transfer>2135551212</transfer></keypress></menu>
          <hangup/>
        </dialplan>

    Passes::

        <dialplan>
          <menu name="lang"><play type="tts">Press 1 for English</play>
            <keypress pressed="1"><setvar varname="l">en</setvar></keypress>
            <keypress pressed="timeout"><hangup/></keypress></menu>
          <menu name="main"><play type="tts">Press 1 for sales</play>
            <keypress pressed="1"><transfer>2135551212</transfer></keypress></menu>
          <hangup/>
        </dialplan>
    """
    live = _live(ctx)
    traps = _silent_traps(ctx)
    graph = _cfg(ctx)
    for node in tagged(ctx, "menu"):
        if not isinstance(node, Menu) or not in_flow(node) or node.index not in live:
            continue
        keypresses = selectable_keypresses(node)
        if not keypresses or any(k.pattern.kind is PatternKind.TIMEOUT for k in keypresses):
            continue
        if graph.input_phase(node).id in traps:
            continue  # W072 reports this menu
        parent = node.parent
        if parent is None:
            continue
        siblings = parent.prompts if isinstance(parent, Menu) else parent.children
        after = [s for s in siblings if s.index > node.index]
        nxt = after[0] if after else None
        if isinstance(nxt, Menu):
            yield Problem(
                f"a caller who presses nothing in {node.label} falls into {nxt.label} "
                f'(line {nxt.loc.line}); add a <keypress pressed="timeout">',
                node.loc,
            )
