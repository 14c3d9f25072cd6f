"""Well-formedness and structure (spec §6.1): which tags exist, where they stand, what they hold.

E001 (not well-formed) comes from the parser; the rules here see a well-formed document.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...model import Node
from ...model.tags import CAMEL_TAGS, TAGS, YAML_ONLY_TAGS, TagSpec
from ..context import LintContext
from ..frontends import compile_findings
from ..index import tagged
from ..positions import loose_text
from ..registry import Problem, rule

#: What the text value of each value-required tag should be (E013 messages).
_EXPECTED_VALUE = {
    "play": "the text to speak, an audio URL or a CallFire sound id",
    "goto": "the name of the node to jump to",
    "transfer": "one or more phone numbers",
    "dnc": "a phone number",
    "get": "a URL",
    "post": "a URL",
    "sms": "the message text",
    "text": "the message text",
    "gotoXML": "the URL of a dialplan",
}


def _spec(node: Node) -> TagSpec | None:
    """The tag's spec when the file spells it in an accepted way (None for unknown tags)."""
    if node.raw_tag in TAGS or node.raw_tag in CAMEL_TAGS:
        return TAGS[node.tag]
    return None


def _suggest(raw: str) -> str:
    """``; did you mean <play>?`` for a case-insensitive or close match, else ``""``."""
    names = [name for name in TAGS if name not in YAML_ONLY_TAGS]
    for name in names:
        if name.lower() == raw.lower():
            return f"; did you mean <{name}>?"
    import difflib  # only for suggestions (start-up time)

    close = difflib.get_close_matches(raw, names, n=1, cutoff=0.75)
    return f"; did you mean <{close[0]}>?" if close else ""


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@rule("E002", "root-not-dialplan")
def root_not_dialplan(ctx: LintContext) -> Iterator[Problem]:
    """The root element is not ``<dialplan>``.

    Every CallFire dialplan is one ``<dialplan>`` element (spec §1); a document with another
    root is rejected by the platform. The tag name is case-sensitive. An unknown root tag is
    reported here only (not again as E003).

    Fails::

        <menu><play type="tts">Hi</play></menu>

    Passes::

        <dialplan name="Root"><play type="tts">Hi</play></dialplan>
    """
    root = ctx.plan.root
    if root.raw_tag != "dialplan":
        hint = " (tag names are case-sensitive)" if root.raw_tag.lower() == "dialplan" else ""
        yield Problem(f"root element is <{root.raw_tag}>; expected <dialplan>{hint}", root.loc)


@rule("E003", "unknown-tag")
def unknown_tag(ctx: LintContext) -> Iterator[Problem]:
    """A tag that is not part of the language (spec §3).

    Tag names are case-sensitive (spec §1): ``<Play>`` is not ``<play>``. The runtime cannot run
    an unknown tag, so the document is rejected. The message suggests the closest known tag.
    Elements inside text-valued tags are reported as E012 instead.

    Fails::

        <dialplan><Play type="tts">Hi</Play></dialplan>

    Passes::

        <dialplan><play type="tts">Hi</play></dialplan>
    """
    xml = ctx.doc.frontend == "xml"  # the YAML front-end's own tags are not XML
    for node in ctx.plan.nodes:
        if node.parent is None:
            continue  # the root is E002's
        parent_spec = _spec(node.parent)
        if parent_spec is not None and not parent_spec.container:
            continue  # markup inside a text value is E012's
        if _spec(node) is None or (xml and node.tag in YAML_ONLY_TAGS):
            yield Problem(f"unknown tag <{node.raw_tag}>{_suggest(node.raw_tag)}", node.loc)


@rule("W004", "undocumented-tag")
def undocumented_tag(ctx: LintContext) -> Iterator[Problem]:
    """An undocumented tag: SDK-only, the ``<text>`` alias, or a lower-case camel-case spelling.

    Reported: ``gotoXML``, ``dtmf``, ``wait``, ``analytics``, ``gtalk``; ``<text>`` (alias of
    ``<sms>``); ``notequal``/``gotoxml`` for ``notEqual``/``gotoXML``. SDK-only tags are known only as class names in CallFire's client libraries (spec §3.18): the
    runtime gives them a best-guess behaviour, but nothing documents what CallFire does with them.
    ``<text>`` is accepted as ``<sms>`` (spec §3.15). The documented camel-case tag names are also
    accepted in all-lower-case (spec §1 Decision) — this rule is the warning that Decision asks
    for (the attribute counterpart, ``maxdigits``, is W024).

    Fails::

        <dialplan><notequal var="${x}" expr="1"><hangup/></notequal></dialplan>

    Passes::

        <dialplan><notEqual var="${x}" expr="1"><hangup/></notEqual></dialplan>
    """
    for node in ctx.plan.nodes:
        spec = _spec(node)
        if spec is None:
            continue
        notes: list[str] = []
        if node.raw_tag in CAMEL_TAGS:
            notes.append(f"<{node.raw_tag}> is a lower-case spelling of <{node.tag}>")
        if node.tag == "text":
            notes.append("<text> is an SDK-only alias of <sms>; write <sms>")
        elif not spec.documented:
            notes.append(
                f"<{node.raw_tag}> is an undocumented SDK-only tag; its behaviour on CallFire "
                "is unknown"
            )
        elif node.raw_tag in CAMEL_TAGS:
            notes.append(f"write <{node.tag}>")
        if notes:
            yield Problem("; ".join(notes), node.loc)


@rule("E005", "forbidden-parent")
def tag_in_wrong_parent(ctx: LintContext) -> Iterator[Problem]:
    """A tag stands in a parent where it has no meaning.

    Reported: ``<keypress>`` outside ``<menu>``, ``<live>``/``<machine>`` outside ``<amd>``,
    ``<else>`` outside ``<if>``, ``<dialplan>`` below the root, and a ``<menu>`` directly inside
    another ``<menu>``. These tags only mean something inside their parent (a keypress is a branch of a menu, an
    else the other branch of an if); elsewhere the runtime has no rule to run them (spec §3.2,
    §3.3, §3.8, §3.11). A menu inside a menu must be put in one of its keypress branches.

    Fails::

        <dialplan><keypress pressed="1"><hangup/></keypress></dialplan>

    Passes::

        <dialplan>
          <menu><play type="tts">Press 1</play><keypress pressed="1"><hangup/></keypress></menu>
        </dialplan>
    """
    for node in ctx.plan.nodes:
        spec = _spec(node)
        if spec is None:
            continue
        parent = node.parent
        if parent is None:
            continue
        if spec.parents == ():
            yield Problem(
                f"<{node.raw_tag}> must be the root element, not inside <{parent.raw_tag}>",
                node.loc,
            )
        elif spec.parents is not None and parent.tag not in spec.parents:
            allowed = " or ".join(f"<{p}>" for p in spec.parents)
            yield Problem(
                f"<{node.raw_tag}> must be directly inside {allowed}, not <{parent.raw_tag}>",
                node.loc,
            )
        elif parent.tag in spec.forbidden_parents and _spec(parent) is not None:
            yield Problem(
                f"<{node.raw_tag}> directly inside <{parent.raw_tag}> has no defined meaning; "
                f"put it inside a <keypress> branch",
                node.loc,
            )


@rule("E006", "amd-branches")
def amd_branches(ctx: LintContext) -> Iterator[Problem]:
    """``<amd>`` without exactly one ``<live>`` and one ``<machine>``, or with other children.

    Answering-machine detection runs exactly one of its two branches (spec §2.4, §3.8; the
    documentation says it "must contain both"). A missing branch leaves that outcome undefined;
    a second one or any other tag directly in ``<amd>`` can never run.

    Fails::

        <dialplan><amd><live><hangup/></live></amd></dialplan>

    Passes::

        <dialplan><amd><live><hangup/></live><machine><hangup/></machine></amd></dialplan>
    """
    for node in tagged(ctx, "amd"):
        if _spec(node) is None:
            continue
        seen: dict[str, int] = {"live": 0, "machine": 0}
        for child in node.children:
            if child.tag in seen and _spec(child) is not None:
                seen[child.tag] += 1
                if seen[child.tag] > 1:
                    yield Problem(
                        f"second <{child.raw_tag}> in <{node.raw_tag}>; expected exactly one",
                        child.loc,
                    )
            else:
                yield Problem(
                    f"<{child.raw_tag}> directly inside <{node.raw_tag}>; expected only <live> "
                    "and <machine>",
                    child.loc,
                )
        for branch, count in seen.items():
            if count == 0:
                yield Problem(f"<{node.raw_tag}> has no <{branch}> branch", node.loc)


@rule("W007", "incomplete-menu")
def incomplete_menu(ctx: LintContext) -> Iterator[Problem]:
    """A ``<menu>`` without any ``<keypress>`` or without any ``<play>``.

    The documentation requires at least one of each (spec §3.2). A menu without keypresses waits
    for digits it cannot match and then carries on; one without a play waits in silence. CallFire's
    own tutorial uses a keypress-less menu as a plain container, so this is only a warning.

    Fails::

        <dialplan><menu><play type="tts">Hold on</play><transfer>2135551212</transfer></menu></dialplan>

    Passes::

        <dialplan>
          <menu><play type="tts">Press 1</play><keypress pressed="1"><hangup/></keypress></menu>
        </dialplan>
    """
    for node in tagged(ctx, "menu"):
        if _spec(node) is None:
            continue
        tags = {c.tag for c in node.children}
        if "keypress" not in tags:
            yield Problem(f"{node.label} has no <keypress>: no input can select a branch", node.loc)
        if "play" not in tags:
            yield Problem(f"{node.label} has no <play>: the caller hears no prompt", node.loc)


@rule("W008", "menu-unusual-child")
def menu_unusual_child(ctx: LintContext) -> Iterator[Problem]:
    """A ``<menu>`` child other than ``<play>`` or ``<keypress>``.

    Only plays and keypresses are documented inside a menu (spec §3.2). Other tags (``setvar``,
    ``record``, ``transfer``) run in the prompt phase, before input is collected (spec §2.3) —
    samples rely on that, but it is undocumented, so make sure it is what you mean.

    Fails::

        <dialplan><menu><setvar varname="n">1</setvar><play type="tts">Press 1</play>
          <keypress pressed="1"><hangup/></keypress></menu></dialplan>

    Passes::

        <dialplan><setvar varname="n">1</setvar><menu><play type="tts">Press 1</play>
          <keypress pressed="1"><hangup/></keypress></menu></dialplan>
    """
    for node in tagged(ctx, "menu"):
        if _spec(node) is None:
            continue
        for child in node.children:
            if child.tag in ("play", "keypress", "menu") or _spec(child) is None:
                continue  # unknown tags are E003's, a nested menu E005's
            yield Problem(
                f"<{child.raw_tag}> directly inside {node.label} is undocumented; it runs in the "
                "prompt phase, before input is taken",
                child.loc,
            )


@rule("E009", "multiple-else")
def multiple_else(ctx: LintContext) -> Iterator[Problem]:
    """More than one ``<else>`` in one ``<if>``.

    An ``if`` has one alternative branch (spec §3.11); the runtime would only ever run the first.

    Fails::

        <dialplan><if expr="1 == 1"><else><hangup/></else><else><hangup/></else></if></dialplan>

    Passes::

        <dialplan><if expr="1 == 1"><hangup/><else><hangup/></else></if></dialplan>
    """
    for node in tagged(ctx, "if"):
        if _spec(node) is None:
            continue
        elses = [c for c in node.children if c.tag == "else"]
        for extra in elses[1:]:
            yield Problem(
                f"second <{extra.raw_tag}> in {node.label}; an <if> has at most one <else> "
                f"(first on line {elses[0].loc.line})",
                extra.loc,
            )


@rule("W010", "else-not-last")
def else_not_last(ctx: LintContext) -> Iterator[Problem]:
    """An ``<else>`` that is not the last child of its ``<if>``.

    Tags after the ``<else>`` still belong to the true branch (spec §3.11), which reads as if they
    were part of the else branch or ran after the ``if``. Every sample puts ``<else>`` last.

    Fails::

        <dialplan><if expr="1 == 1"><else><hangup/></else><play type="tts">yes</play></if></dialplan>

    Passes::

        <dialplan><if expr="1 == 1"><play type="tts">yes</play><else><hangup/></else></if></dialplan>
    """
    for node in tagged(ctx, "if"):
        if _spec(node) is None:
            continue
        kids = node.children
        for i, child in enumerate(kids):
            if child.tag != "else":
                continue
            later = [c for c in kids[i + 1 :] if c.tag != "else"]
            if later:
                yield Problem(
                    f"<{child.raw_tag}> is not the last child of {node.label}: "
                    f"<{later[0].raw_tag}> on line {later[0].loc.line} after it still belongs "
                    "to the true branch",
                    child.loc,
                )


@rule("E011", "text-in-container")
def text_in_container(ctx: LintContext) -> Iterator[Problem]:
    """Non-blank text directly inside a container tag.

    Containers are ``dialplan``, ``menu``, ``keypress``, ``amd``, ``live``, ``machine``, ``if``,
    ``else``, ``equal``, ``notEqual`` and ``catch``. A container's value is a list of tags (spec §1); loose text in it is never spoken or used —
    usually a ``<play>`` was forgotten or a tag was closed too early.

    Fails::

        <dialplan><menu>Press 1<keypress pressed="1"><hangup/></keypress></menu></dialplan>

    Passes::

        <dialplan><menu><play type="tts">Press 1</play><keypress pressed="1"><hangup/></keypress></menu></dialplan>
    """
    for node in ctx.plan.nodes:
        spec = _spec(node)
        if spec is None or not spec.container:
            continue
        for text, loc in loose_text(ctx, node):
            yield Problem(
                f'text "{_short(text)}" directly inside <{node.raw_tag}>; a container holds '
                "only tags (wrap spoken text in <play>)",
                loc,
            )


@rule("E012", "elements-in-value")
def element_in_text_tag(ctx: LintContext) -> Iterator[Problem]:
    """An element inside a tag whose value is text.

    Text-valued tags are ``play``, ``goto``, ``transfer``, ``stash``, ``setvar``, ``get``,
    ``post``, ``sms``, ``dnc``, ``record``, ``hangup`` and the SDK-only value tags. They hold text, not tags (spec §1): nested tags are not run, and markup meant for the
    speech engine (VTML) must be entity-encoded so that it is part of the text.

    Fails::

        <dialplan><play type="tts"><vtml_speed value="60">Slowly</vtml_speed></play></dialplan>

    Passes::

        <dialplan><play type="tts">&lt;vtml_speed value="60"&gt;Slowly&lt;/vtml_speed&gt;</play></dialplan>
    """
    for node in ctx.plan.nodes:
        spec = _spec(node)
        if spec is None or spec.container:
            continue
        for child in node.children:
            yield Problem(
                f"<{child.raw_tag}> inside <{node.raw_tag}>: <{node.raw_tag}> holds text only "
                f"(entity-encode markup as &lt;{child.raw_tag}&gt;)",
                child.loc,
            )


@rule("E013", "empty-value")
def empty_value(ctx: LintContext) -> Iterator[Problem]:
    """An empty value where the tag needs one.

    Checked: ``play``, ``goto``, ``transfer``, ``dnc``, ``get``, ``post``, ``sms`` (and the
    SDK-only ``gotoXML`` and ``text``). These tags do nothing meaningful without a value (nothing to say, nowhere to jump, no number
    to dial, no URL to fetch); values are trimmed first (spec §1), so whitespace is empty.

    Fails::

        <dialplan><goto>   </goto></dialplan>

    Passes::

        <dialplan name="Root"><goto>Root</goto></dialplan>
    """
    for node in ctx.plan.nodes:
        spec = _spec(node)
        if spec is None or not spec.value_required or node.text:
            continue
        expected = _EXPECTED_VALUE.get(node.tag, "a value")
        yield Problem(f"<{node.raw_tag}> is empty; expected {expected}", node.loc)


@rule("W014", "empty-assignment")
def empty_assignment(ctx: LintContext) -> Iterator[Problem]:
    """An empty ``<setvar>`` or ``<stash>`` value.

    It sets the variable (or result column) to the empty string — legal, but usually the value
    was forgotten or placed in an attribute.

    Fails::

        <dialplan><setvar varname="count"></setvar></dialplan>

    Passes::

        <dialplan><setvar varname="count">0</setvar></dialplan>
    """
    for node in ctx.plan.nodes:
        if node.tag not in ("setvar", "stash") or _spec(node) is None or node.text:
            continue
        varname = node.attrs.get("varname", "").strip()
        target = f' "{varname}"' if varname else ""
        yield Problem(
            f"<{node.raw_tag}>{target} has an empty value; it sets the empty string", node.loc
        )


@rule("E00A", "callr-unknown-action")
def callr_unknown_action(ctx: LintContext) -> Iterator[Problem]:
    """A Callr YAML action (or version) this runtime does not know, or a malformed item.

    Callr scenarios name actions with their version (``say@v2``); a misspelt name or a version
    that does not exist (``say@v9``) cannot run, and neither can an action item that is not a
    mapping with ``action``, ``if`` or ``goto``. The message lists the known versions.

    Fails::

        dialplan: yaml
        branches:
          inbound-call:
            actions:
              - action: say@v9
                params:
                  what: Hello

    Passes::

        dialplan: yaml
        branches:
          inbound-call:
            actions:
              - action: say@v2
                params:
                  what: Hello
    """
    yield from compile_findings(ctx, "E00A")


@rule("E00B", "callr-unsupported-action")
def callr_unsupported_action(ctx: LintContext) -> Iterator[Problem]:
    """A Callr YAML action this runtime cannot honour (``voicebot@v1``, ``memcache@v1``).

    These actions exist in Callr but need services this runtime does not have (a voice AI
    agent, Callr's shared cache). They are refused, never silently skipped, so that a call
    cannot take a path the scenario does not describe.

    Fails::

        dialplan: yaml
        branches:
          inbound-call:
            actions:
              - action: memcache@v1

    Passes::

        dialplan: yaml
        branches:
          inbound-call:
            actions:
              - action: hangup@v1
    """
    yield from compile_findings(ctx, "E00B")


def is_empty_plan(ctx: LintContext) -> bool:
    """Whether the root element holds no tag at all."""
    root = ctx.plan.nodes[0] if ctx.plan.nodes else None
    return root is not None and root.parent is None and not root.children


@rule("W01B", "empty-dialplan")
def empty_dialplan(ctx: LintContext) -> Iterator[Problem]:
    """The dialplan holds no tag: the call is answered and immediately ends.

    Usually a file saved before it was written, or a template whose content was lost. (The
    flow rules say nothing more about an empty dialplan.)

    Fails::

        <dialplan name="Root"></dialplan>

    Passes::

        <dialplan name="Root"><play type="tts">Hello</play><hangup/></dialplan>
    """
    if is_empty_plan(ctx):
        root = ctx.plan.nodes[0]
        yield Problem(f"{root.label} is empty: the call ends as soon as it is answered", root.loc)
