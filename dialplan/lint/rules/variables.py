"""Variables and expressions (spec §6.6, W060–I068): `${…}` references, varnames, JavaScript."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

from ...diagnostics import Location
from ...expr.template import Literal, Ref, Template, TemplateError, parse_template
from ...expr.variables import (
    NUMERIC_VARIABLES,
    Assignments,
    collect_assignments,
    is_plain_name,
    is_system_name,
    is_system_variable,
    ref_end,
    system_suggestion,
)
from ...model import Node
from ...model.tags import TAGS
from ..context import LintContext
from ..index import tagged
from ..positions import text_position
from ..registry import Problem, rule

#: Attributes whose values are templates (spec §4.1); the others are names or enumerations.
TEMPLATE_ATTRS = frozenset({"callerid", "to", "var", "expr", "varname", "whisper-tts"})
#: Tags whose text value is a template: every text-valued tag except `goto` (literal target, E032).
TEMPLATE_TEXT_TAGS = frozenset(
    name for name, spec in TAGS.items() if not spec.container and name != "goto"
)
VARNAME_TAGS = ("setvar", "stash", "record", "get", "post")
#: Where JavaScript is evaluated (spec §5.1): attribute expressions and value texts.
EXPR_ATTR_TAGS = ("if", "equal", "notEqual")
JS_TEXT_TAGS = ("setvar", "stash")


class Site(NamedTuple):
    """One value containing ``${``: ``attr`` None means the element's text value."""

    node: Node
    attr: str | None
    raw: str
    template: Template | None  # None when a ``${`` is unterminated
    error_offset: int = 0


@lru_cache(maxsize=8192)
def _parse(raw: str) -> Template | int:
    """The template of ``raw``, or the offset of its unterminated ``${`` (memoised: values
    repeat within a file and across the files of a campaign; templates are immutable)."""
    try:
        return parse_template(raw)
    except TemplateError as exc:
        return exc.offset


class Facts(NamedTuple):
    """What the variable rules share, gathered in one pass over the document."""

    sites: list[Site]
    #: ``(node, raw varname)`` of every setvar/stash/record/get/post with a non-empty varname
    varnames: list[tuple[Node, str]]
    #: ``(node, raw expr)`` of every if/equal/notEqual with a non-empty expr
    exprs: list[tuple[Node, str]]
    assignments: Assignments


def _facts(ctx: LintContext) -> Facts:
    def compute() -> Facts:
        sites: list[Site] = []
        # a document without "${" (or a character reference that could spell it) has no sites
        text = ctx.doc.text
        if "${" in text or "&#" in text:
            for node in ctx.plan.nodes:
                for attr, value in node.attrs.items():
                    if attr in TEMPLATE_ATTRS and "${" in value:
                        sites.append(_site(node, attr, value))
                if node.tag in TEMPLATE_TEXT_TAGS and "${" in node.text:
                    sites.append(_site(node, None, node.text))
        varnames: list[tuple[Node, str]] = []
        pairs: list[tuple[str, Template]] = []
        for node in tagged(ctx, *VARNAME_TAGS):
            raw = node.attrs.get("varname")
            if raw is not None and raw.strip():
                varnames.append((node, raw))
                template = _parse(raw.strip())
                if not isinstance(template, int):
                    pairs.append((node.tag, template))
        exprs: list[tuple[Node, str]] = []
        for node in tagged(ctx, *EXPR_ATTR_TAGS):
            raw = node.attrs.get("expr")
            if raw is not None and raw.strip():
                exprs.append((node, raw))
        return Facts(sites, varnames, exprs, collect_assignments(pairs))

    return ctx.cached("variables.facts", compute)


def _sites(ctx: LintContext) -> list[Site]:
    return _facts(ctx).sites


def _site(node: Node, attr: str | None, raw: str) -> Site:
    template = _parse(raw)
    if isinstance(template, int):
        return Site(node, attr, raw, None, template)
    return Site(node, attr, raw, template)


def _loc(ctx: LintContext, node: Node, attr: str | None, offset: int) -> Location:
    if attr is None:
        return text_position(ctx.doc, node, offset)
    return node.attr_loc(attr)


def _assignments(ctx: LintContext) -> Assignments:
    return _facts(ctx).assignments


def _refs(template: Template) -> Iterator[tuple[Ref, bool]]:
    """Every reference with whether it sits inside a dynamic (``${a${b}}``) reference."""
    stack: list[tuple[Ref, bool]] = [
        (p, False) for p in reversed(template.parts) if isinstance(p, Ref)
    ]
    while stack:
        ref, nested = stack.pop()
        yield ref, nested
        inner = nested or ref.is_dynamic
        stack.extend((p, inner) for p in reversed(ref.parts) if isinstance(p, Ref))


@lru_cache(maxsize=8192)
def _ref_facts(raw: str) -> tuple[tuple[Ref, str | None, bool], ...]:
    """Each reference of ``raw`` with its static name (None when built from ``${…}``) and
    whether it is an outermost dynamic reference (memoised like :func:`_parse`)."""
    template = _parse(raw)
    if isinstance(template, int):
        return ()
    facts: list[tuple[Ref, str | None, bool]] = []
    for ref, nested in _refs(template):
        if ref.is_dynamic:
            facts.append((ref, None, not nested))
        else:
            facts.append((ref, ref.static_name, False))
    return tuple(facts)


class Use(NamedTuple):
    """A static ``${name}`` reference and where it is."""

    name: str
    site: Site
    ref: Ref


def _uses(ctx: LintContext) -> list[Use]:
    def compute() -> list[Use]:
        uses: list[Use] = []
        for site in _sites(ctx):
            for ref, name, _top in _ref_facts(site.raw):
                if name is not None:
                    uses.append(Use(name, site, ref))
        return uses

    return ctx.cached("variables.uses", compute)


def _use_loc(ctx: LintContext, use: Use) -> Location:
    return _loc(ctx, use.site.node, use.site.attr, use.ref.offset)


@rule("W060", "undefined-variable")
def undefined_variable(ctx: LintContext) -> Iterator[Problem]:
    """`${name}` is used but nothing in the dialplan ever sets it.

    Only `setvar`, `record`, `get` and `post` with `varname` assign variables (spec §4); the
    system variables (`call.*`, `contact.*`, `global.*`) exist by themselves. An undefined
    variable silently expands to the empty string, usually because of a typo or a name that
    differs in case. References whose name is itself built from `${…}` (`${choice${num}}`) are
    checked only for their inner parts (see I068), and a varname built at run time
    (`varname="choice${n}"`) counts as assigning every name that starts with its fixed part.

    Failing:

        <setvar varname="custID">${call.lastinput}</setvar>
        <play type="tts">Your account is ${custId}</play>

    Passing:

        <setvar varname="custID">${call.lastinput}</setvar>
        <play type="tts">Your account is ${custID}</play>
    """
    assigned = _assignments(ctx)
    if ctx.doc.frontend == "yaml":
        return  # a Callr run may pass any variable, and scripts assign $names (callr-yaml.md)
    for use in _uses(ctx):
        name = use.name
        if is_system_name(name) or assigned.may_be_assigned(name) or name in assigned.stashed:
            continue
        if not name:
            yield Problem("empty variable reference ${}", _use_loc(ctx, use))
            continue
        hint = ""
        lowered = name.lower()
        for known in sorted(assigned.assigned):
            if known.lower() == lowered:
                hint = f"; did you mean ${{{known}}}?"
                break
        yield Problem(
            f"${{{name}}} is never assigned (no setvar, record, get or post sets it) and "
            f'expands to ""{hint}',
            _use_loc(ctx, use),
        )


@rule("W061", "stash-is-not-a-variable")
def stashed_only(ctx: LintContext) -> Iterator[Problem]:
    """`${name}` refers to a name that is only ever written by `<stash>`.

    A stash stores a value in the call's result record; it does not create a variable
    (spec §3.9, stressed by the stash documentation). The reference expands to the empty
    string. Use `<setvar>` to keep a value for later tags (and `<stash>` as well if it must
    appear in the results).

    Failing:

        <stash varname="answer">${call.lastinput}</stash>
        <play type="tts">You chose ${answer}</play>

    Passing:

        <setvar varname="answer">${call.lastinput}</setvar>
        <stash varname="answer">${answer}</stash>
        <play type="tts">You chose ${answer}</play>
    """
    assigned = _assignments(ctx)
    for use in _uses(ctx):
        if use.name in assigned.stashed and not assigned.may_be_assigned(use.name):
            yield Problem(
                f"${{{use.name}}} is only written by <stash>, which does not define a "
                'variable: it expands to ""; set it with <setvar>',
                _use_loc(ctx, use),
            )


@rule("W062", "unknown-system-variable")
def unknown_system_variable(ctx: LintContext) -> Iterator[Problem]:
    """`${call.…}`, `${contact.…}` or `${global.…}` is not a known system variable.

    The system variables are listed in spec §4.2: `call.callerid`, `call.lastinput`, …,
    `contact.A` to `contact.ZZ` (any case) and six reserved contact fields (`contact.firstName`
    …), `global.date`, `global.time.hour`, …. Any other name in those namespaces expands to "".

    Failing:

        <play type="tts">You called from ${call.callerID}</play>

    Passing:

        <play type="tts">You called from ${call.callerid}</play>
    """
    for use in _uses(ctx):
        name = use.name
        if not is_system_name(name) or is_system_variable(name):
            continue
        suggestion = system_suggestion(name)
        hint = f"; did you mean ${{{suggestion}}}?" if suggestion else ""
        yield Problem(f"unknown system variable ${{{name}}}{hint}", _use_loc(ctx, use))


@rule("E063", "unterminated-reference")
def unterminated_reference(ctx: LintContext) -> Iterator[Problem]:
    """A `${` has no closing `}`.

    The reference cannot be substituted, so the literal `${…` text would be spoken, dialled or
    evaluated (spec §4.1). Usually a missing `}` or a `{` typed for `}`.

    Failing:

        <play type="tts">Hello ${contact.firstName</play>

    Passing:

        <play type="tts">Hello ${contact.firstName}</play>
    """
    for site in _sites(ctx):
        if site.template is None:
            where = f"@{site.node.raw_attrs.get(site.attr, site.attr)}" if site.attr else ""
            yield Problem(
                f"unterminated '${{' in {site.node.label}{where}",
                _loc(ctx, site.node, site.attr, site.error_offset),
            )


@rule("W064", "invalid-variable-name")
def invalid_varname(ctx: LintContext) -> Iterator[Problem]:
    """A `varname` uses characters other than letters, digits and `_`.

    Variable names contain only letters, digits and underscore (spec §4.1). Other characters
    (`voicemail-recording`) are accepted at run time, but `${voicemail-recording}` inside a
    JavaScript expression reads as a subtraction, and result columns get awkward names.
    `${…}` parts of a dynamic varname are ignored here (see I068).

    Failing:

        <record varname="voicemail-recording"/>

    Passing:

        <record varname="voicemail_recording"/>
    """
    dotted = ctx.doc.frontend == "yaml"  # Callr results: ``$dtmf.input`` is ``dtmf.input``
    for node, raw in _facts(ctx).varnames:
        if is_plain_name(raw.strip()) or (dotted and is_plain_name(raw.strip().replace(".", "_"))):
            continue
        template = _parse(raw)
        if isinstance(template, int):
            continue  # E063
        literal = "".join(p.text if isinstance(p, Literal) else "_" for p in template.parts)
        stripped = literal.strip()
        if not stripped or is_plain_name(stripped):
            continue
        bad_at = next(
            i for i, c in enumerate(stripped) if not (c.isascii() and (c.isalnum() or c == "_"))
        )
        yield Problem(
            f'{node.raw_attrs.get("varname", "varname")}="{raw.strip()}" contains '
            f"{stripped[bad_at]!r}: variable names use only "
            "letters, digits and _",
            node.attr_loc("varname"),
        )


#: Characters that show an `equal@expr` is meant as JavaScript rather than a literal value.
_JS_PUNCTUATION = re.compile(r"""[()\[\]{}'"=<>!&|?;]""")


_IDENT_START = re.compile(r"[A-Za-z_$.]")


def js_placeholder(template: Template) -> str:
    """The text with each top-level ``${…}`` replaced by something that parses like its value.

    A number (``0``) fits most places (``${Counter}+1``, ``'${x}'``); just before ``.`` or a name
    character a number would not parse (``${x}.length``, ``${x}abc``), so a name (``_``) is used.
    """
    parts = template.parts
    out: list[str] = []
    for i, part in enumerate(parts):
        if isinstance(part, Literal):
            out.append(part.text)
            continue
        following = parts[i + 1] if i + 1 < len(parts) else None
        if isinstance(following, Literal) and _IDENT_START.match(following.text):
            out.append("_")
        else:
            out.append("0")
    return "".join(out)


@lru_cache(maxsize=8192)
def _syntax_error(code: str) -> str | None:
    """The engine's syntax error for ``code`` (memoised: conditions repeat across files)."""
    from ...expr import js  # QuickJS: imported only when an expression is checked

    error = js.syntax_error(code)
    if error is not None and "'}'" in error and "}" not in code:
        # the engine compiles the code as a function body: its own closing brace is reported
        return "SyntaxError: unexpected end of the expression"
    return error


@rule("E065", "expression-syntax-error")
def expression_syntax(ctx: LintContext) -> Iterator[Problem]:
    """An `if@expr`, `equal@expr` or `notEqual@expr` is not valid JavaScript.

    Conditions are evaluated by the same embedded JavaScript engine as at run time (spec §5.4),
    after substituting `${…}`; here each reference is replaced by a placeholder (a number, or a
    name just before `.` or a letter, as in `${x}.length`). A syntax error makes an `if` false
    on every call. `equal@expr` may also be a plain literal (`Homer Simpson`), so it is only
    checked when it contains JavaScript punctuation.

    Failing:

        <if expr="(${count} &gt; 3"><hangup/></if>

    Passing:

        <if expr="(${count} &gt; 3)"><hangup/></if>
    """
    for node, raw in _facts(ctx).exprs:
        template = _parse(raw)
        if isinstance(template, int):
            continue  # E063
        code = js_placeholder(template)
        if node.tag != "if" and not _JS_PUNCTUATION.search(code):
            continue
        error = _syntax_error(code)
        if error is not None:
            yield Problem(
                f'{node.raw_attrs.get("expr", "expr")}="{raw.strip()}" of {node.label} is not '
                f"valid JavaScript: {error}",
                node.attr_loc("expr"),
            )


class _Token(NamedTuple):
    """Something found by :func:`_scan_js` outside string literals, at ``offset`` in the text."""

    kind: str  # "ref" (a top-level ${…}) or "assign" (a single '=')
    offset: int
    end: int = 0
    quoted: bool = False


_JS_SPECIAL = re.compile(r"""\$\{|[\\'"`=]""")


def _scan_js(text: str) -> list[_Token]:
    """Top-level references (and whether each is inside quotes) and lone ``=`` of JavaScript.

    A light scanner: string literals ('…', "…", `…` with backslash escapes) and ``${…}``
    references are recognised; comments and regular expressions are not needed for the short
    conditions of dialplans. It jumps from one special character to the next.
    """
    tokens: list[_Token] = []
    quote = ""
    i = 0
    n = len(text)
    while True:
        m = _JS_SPECIAL.search(text, i)
        if m is None:
            return tokens
        j = m.start()
        tok = m.group()
        i = j + 1
        if tok == "${":
            end = ref_end(text, j)
            tokens.append(_Token("ref", j, end, bool(quote)))
            i = end
        elif tok == "\\":
            i = j + 2
        elif quote:
            if tok == quote:
                quote = ""
        elif tok != "=":
            quote = tok
        else:
            nxt = text[j + 1] if j + 1 < n else ""
            if nxt in "=>":
                i = j + 2
                while i < n and text[i] == "=":
                    i += 1
            elif not j or text[j - 1] not in "=!<>":
                tokens.append(_Token("assign", j))


_METHOD_AFTER = re.compile(r"\s*\.\s*[A-Za-z_$]")
_QUOTED_COMPARE_AFTER = re.compile(r"""\s*[!=]==?\s*['"`]""")
_QUOTED_COMPARE_BEFORE = re.compile(r"""['"`]\s*[!=]==?\s*$""")


def _expression_values(ctx: LintContext) -> Iterator[tuple[Node, str | None, str]]:
    """Every JavaScript text that holds ``${``: condition attributes and setvar/stash values."""
    for site in _sites(ctx):
        if site.template is None:
            continue
        if site.attr == "expr" and site.node.tag in EXPR_ATTR_TAGS:
            yield site.node, site.attr, site.raw
        elif site.attr is None and site.node.tag in JS_TEXT_TAGS:
            yield site.node, None, site.raw


@rule("W066", "unquoted-string-variable")
def unquoted_string_variable(ctx: LintContext) -> Iterator[Problem]:
    """A string variable is used unquoted where it is treated as a string.

    Substitution is textual in CallFire (spec §5.2): `${call.callerid}.toLowerCase()` becomes
    `anonymous.toLowerCase()` or `2135551212.toLowerCase()` — a reference to an undefined name
    or a syntax error, not a string. The same holds for `${call.callerid} == 'blocked'`. Here
    (spec §5.3 revised, rule 3) a reference outside quotes is only inserted when its value is a
    plain number or `true`/`false`; any other value makes the text data, so such a condition is
    never met. Wrap string values in quotes. This applies to the dialplan's own variables too
    (`${answer} == 'yes'`); numeric system variables (`global.date.dayOfWeek`, …) are not
    reported.

    Failing:

        <if expr="${call.callerid}.toLowerCase() == 'anonymous'"><hangup/></if>
        <if expr="${answer} == 'yes'"><hangup/></if>

    Passing:

        <if expr="'${call.callerid}'.toLowerCase() == 'anonymous'"><hangup/></if>
        <if expr="'${answer}' == 'yes'"><hangup/></if>
    """
    for node, attr, raw in _expression_values(ctx):
        for token in _scan_js(raw):
            if token.kind != "ref" or token.quoted:
                continue
            name = raw[token.offset + 2 : token.end - 1].strip()
            if "${" in name or name in NUMERIC_VARIABLES:
                continue
            if is_system_name(name) and not is_system_variable(name):
                continue  # an unknown system variable: W062's business
            after = raw[token.end :]
            if _METHOD_AFTER.match(after):
                how = "a string method is applied to it"
            elif _QUOTED_COMPARE_AFTER.match(after) or _QUOTED_COMPARE_BEFORE.search(
                raw[: token.offset]
            ):
                how = "it is compared with a quoted string"
            else:
                continue
            what = "is a string" if is_system_name(name) else "holds text"
            yield Problem(
                f"${{{name}}} {what} but is used unquoted where {how}; write '${{{name}}}'",
                _loc(ctx, node, attr, token.offset),
            )


@rule("W067", "assignment-in-condition")
def assignment_in_condition(ctx: LintContext) -> Iterator[Problem]:
    """An `if@expr` contains a single `=` (assignment), probably meant as `==`.

    In JavaScript `=` assigns (spec §5.2, BO): `${count} = 3` is a syntax error after
    substitution, and `x = 3` is always true. Compare with `==`.

    Failing:

        <if expr="${call.lastinput} = 1"><hangup/></if>

    Passing:

        <if expr="${call.lastinput} == 1"><hangup/></if>
    """
    for node, raw in _facts(ctx).exprs:
        if node.tag != "if" or "=" not in raw:
            continue
        for token in _scan_js(raw):
            if token.kind == "assign":
                yield Problem(
                    f"assignment '=' in {node.label}@{node.raw_attrs.get('expr', 'expr')}: "
                    "did you mean '=='?",
                    node.attr_loc("expr"),
                )
                break


@rule("I068", "dynamic-variable-name")
def dynamic_variable_name(ctx: LintContext) -> Iterator[Problem]:
    """A variable name is built at run time (`${choice${num}}`, `varname="stash${n}"`).

    Nested references resolve the inner part first (spec §4.1), so which variable is read or
    written is only known during the call; the validator checks the inner parts only.

    Failing (reported):

        <play type="tts">You chose ${choice${num}}</play>
        <stash varname="answer${n}">${call.lastinput}</stash>

    Passing (not reported):

        <play type="tts">You chose ${choice1}</play>
    """
    for site in _sites(ctx):
        if site.template is None:
            continue
        if site.attr == "varname" and site.node.tag in VARNAME_TAGS:
            yield Problem(
                f'dynamic {site.node.raw_attrs.get("varname", "varname")}="{site.raw.strip()}" of '
                f"{site.node.label} is only known "
                "during the call; not checked statically",
                site.node.attr_loc("varname"),
            )
            continue
        for ref, _name, top in _ref_facts(site.raw):
            if top:
                text = site.raw[ref.offset : ref_end(site.raw, ref.offset)]
                yield Problem(
                    f"dynamic variable name {text} is only known during the call; "
                    "not checked statically",
                    _loc(ctx, site.node, site.attr, ref.offset),
                )


_BARE_REF = re.compile(r"(?<![$\\])\$(?!\{)((?:call|contact|global)\.[A-Za-z_][\w.]*|[A-Za-z_]\w*)")
#: Where ``$name`` would be read literally (a JavaScript expression may use ``$`` in names).
_BARE_ATTRS = ("callerid", "to", "whisper-tts")


@rule("W069", "reference-without-braces")
def reference_without_braces(ctx: LintContext) -> Iterator[Problem]:
    """A ``$name`` or ``$call.x`` written without ``${…}``: the caller hears it literally.

    Only ``${name}`` is substituted (spec §4.1); ``$firstName`` or ``$contact.firstName`` stays
    as written, so text-to-speech reads out "dollar first name". Reported for system variables
    (``call.``, ``contact.``, ``global.``) and for names the dialplan stores (``varname``).

    Failing (reported):

        <play type="tts">Hello $contact.firstName</play>

    Passing (not reported):

        <play type="tts">Hello ${contact.firstName}</play>
    """
    if "$" not in ctx.doc.text:
        return
    stored = {raw.strip() for _node, raw in _facts(ctx).varnames}
    for node in ctx.plan.nodes:
        values: list[tuple[str | None, str]] = [
            (attr, node.attrs[attr]) for attr in _BARE_ATTRS if "$" in node.attrs.get(attr, "")
        ]
        if node.tag in TEMPLATE_TEXT_TAGS and "$" in node.text:
            values.append((None, node.text))
        for attr, value in values:
            for m in _BARE_REF.finditer(value):
                name = m.group(1)
                if "." not in name and name not in stored:
                    continue
                name = name.rstrip(".")
                yield Problem(
                    f'"${name}" is read literally; write "${{{name}}}" to insert the value',
                    _loc(ctx, node, attr, m.start()),
                )
