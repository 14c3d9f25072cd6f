"""Attributes (spec §6.2): required, enumerated, numeric and known attributes, URL values."""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree

from ...model import Node
from ...model.tags import (
    BOOLEAN,
    CAMEL_ATTRS,
    CAMEL_TAGS,
    CATCH_TYPES,
    MUSIC_ON_HOLD,
    MUSIC_ON_HOLD_ALIASES,
    PLAY_TYPES,
    TAGS,
    TRANSFER_MODES,
    VOICES,
    TagSpec,
    canonical_attr,
)
from ...sounds.names import is_library_name
from ..context import LintContext
from ..frontends import compile_findings
from ..index import tagged
from ..positions import attr_loc, element_of, value_loc
from ..registry import Problem, rule

#: Enumerated attributes: (tag, attribute) → allowed values (compared case-insensitively).
_ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("play", "type"): PLAY_TYPES,
    ("transfer", "mode"): TRANSFER_MODES,
    ("catch", "type"): CATCH_TYPES,
    ("transfer", "continue-after"): BOOLEAN,
    ("transfer", "screen"): BOOLEAN,
    ("play", "cache"): BOOLEAN,
    ("record", "background"): BOOLEAN,
    ("dialplan", "loggingEnabled"): BOOLEAN,
    ("dnc", "loggingEnabled"): BOOLEAN,
}
_POSITIVE_INTS = {
    ("menu", "timeout"),
    ("menu", "maxDigits"),
    ("transfer", "timeout"),
    ("record", "timeout"),
}
_DIGIT_VALUES = frozenset("0123456789*")
#: What a missing required attribute should hold (E020 messages).
_REQUIRED_HINT = {
    ("play", "type"): ' ("tts", "url" or "callfireid")',
    ("catch", "type"): ' ("hangup" or "digit")',
    ("catch", "value"): " (the digit 0-9 or * to watch)",
    ("catch", "goto"): " (the name of the node to jump to)",
    ("keypress", "pressed"): ' (keys such as "1", a range "1-3", "default" or "timeout")',
    ("if", "expr"): " (a JavaScript condition)",
    ("sms", "to"): " (the phone number to text)",
}
#: the two tables by tag (attributes in the tables' order), so that each node looks up only its own
_ENUMS_BY_TAG: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
for (_tag, _attr), _allowed in _ENUMS.items():
    _ENUMS_BY_TAG.setdefault(_tag, []).append((_attr, _allowed))
_POSITIVE_INTS_BY_TAG: dict[str, list[str]] = {}
for _tag, _attr in sorted(_POSITIVE_INTS):
    _POSITIVE_INTS_BY_TAG.setdefault(_tag, []).append(_attr)
_INNER_REF = re.compile(r"\$\{[^${}]*\}")
_ABSOLUTE_HTTP = re.compile(r"^https?://[^\s/?#:@]+(?::[0-9]+)?(?:[/?#]\S*)?$", re.I)


def _spec(node: Node) -> TagSpec | None:
    if node.raw_tag in TAGS or node.raw_tag in CAMEL_TAGS:
        return TAGS[node.tag]
    return None


def _present(node: Node, attr: str) -> str | None:
    """The stripped value of canonical attribute ``attr`` (None when absent)."""
    value = node.attrs.get(attr)
    return value.strip() if value is not None else None


def _raw(node: Node, attr: str) -> str:
    return node.raw_attrs.get(attr, attr)


def _one_of(values: tuple[str, ...]) -> str:
    quoted = [f'"{v}"' for v in values]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


@rule("E020", "missing-attribute")
def missing_required_attribute(ctx: LintContext) -> Iterator[Problem]:
    """A required attribute is missing or blank.

    Required: ``play@type``, ``keypress@pressed``, ``stash@varname``, ``setvar@varname``,
    ``if@expr``, ``equal``/``notEqual@var`` and ``@expr``, ``catch@type`` and ``@goto``,
    ``catch@value`` when ``type="digit"``, ``sms@to``. Without them the tag cannot run: a play does not know what its value is, a keypress when
    to run, a setvar what to set (spec §3). ``if@expr`` and ``sms@to`` are required by Decision.

    Fails::

        <dialplan><play>Hello</play></dialplan>

    Passes::

        <dialplan><play type="tts">Hello</play></dialplan>
    """
    for node in ctx.plan.nodes:
        spec = _spec(node)
        if spec is None:
            continue
        required = [a for a, req in spec.attrs.items() if req]
        if node.tag == "catch" and (_present(node, "type") or "").lower() == "digit":
            required.append("value")
        for attr in required:
            value = _present(node, attr)
            if value is None:
                hint = _REQUIRED_HINT.get((node.tag, attr), "")
                yield Problem(
                    f'<{node.raw_tag}> is missing required attribute "{attr}"{hint}', node.loc
                )
            elif not value:
                yield Problem(
                    f'required attribute "{_raw(node, attr)}" on <{node.raw_tag}> is empty',
                    node.attr_loc(attr),
                )


@rule("E021", "invalid-enum")
def invalid_enumerated_value(ctx: LintContext) -> Iterator[Problem]:
    """An enumerated attribute has a value outside its list.

    Checked: ``play@type`` (``tts``, ``url``, ``callfireid``), ``transfer@mode`` (``ringall``,
    ``waterfall``), ``catch@type`` (``hangup``, ``digit``), and the booleans
    (``continue-after``, ``cache``, ``background``, ``screen``, ``loggingEnabled``: ``true`` or
    ``false``). The runtime cannot guess what an unknown mode or type
    means (spec §3.4, §3.7, §3.17). Values are compared case-insensitively, as the runtime and the
    schema do (``type="URL"`` and ``cache="FALSE"`` are accepted; ``1`` or ``yes`` are not).

    Fails::

        <dialplan><play type="speech">Hello</play></dialplan>

    Passes::

        <dialplan><play type="tts">Hello</play></dialplan>
    """
    for node in ctx.plan.nodes:
        checked = _ENUMS_BY_TAG.get(node.tag)
        if checked is None or _spec(node) is None:
            continue
        for attr, allowed in checked:
            value = _present(node, attr)
            if not value or value.lower() in allowed:
                continue  # absent or blank: E020 where it is required
            yield Problem(
                f'invalid value "{value}" for "{_raw(node, attr)}" on <{node.raw_tag}>; '
                f"expected {_one_of(allowed)}",
                node.attr_loc(attr),
            )


@rule("E022", "not-positive-integer")
def not_a_positive_integer(ctx: LintContext) -> Iterator[Problem]:
    """A timeout or digit count is not a positive whole number.

    Checked: ``menu@timeout``, ``menu@maxDigits``, ``transfer@timeout``, ``record@timeout``. These
    are counts of digits or units of time (spec §2.3, §3.7, §3.13); units, decimals, signs
    or zero cannot be used (the runtime would fall back to the default silently).

    Fails::

        <dialplan><menu timeout="5s"><play type="tts">Press 1</play>
          <keypress pressed="1"><hangup/></keypress></menu></dialplan>

    Passes::

        <dialplan><menu timeout="5"><play type="tts">Press 1</play>
          <keypress pressed="1"><hangup/></keypress></menu></dialplan>
    """
    for node in ctx.plan.nodes:
        checked = _POSITIVE_INTS_BY_TAG.get(node.tag)
        if checked is None or _spec(node) is None:
            continue
        for attr in checked:
            value = _present(node, attr)
            if value is None or (value.isascii() and value.isdigit() and int(value) > 0):
                continue
            yield Problem(
                f'"{_raw(node, attr)}" on <{node.raw_tag}> must be a positive integer, '
                f'not "{value}"',
                node.attr_loc(attr),
            )


@rule("E023", "invalid-catch-digit")
def invalid_catch_digit(ctx: LintContext) -> Iterator[Problem]:
    """``catch@value`` is not a single key ``0``–``9`` or ``*``.

    A digit catch watches one key (spec §2.5, §3.17); ``#`` ends input and several keys cannot
    be watched by one catch.

    Fails::

        <dialplan name="Root"><catch type="digit" value="10" goto="Root"><hangup/></catch></dialplan>

    Passes::

        <dialplan name="Root"><catch type="digit" value="0" goto="Root"><hangup/></catch></dialplan>
    """
    for node in tagged(ctx, "catch"):
        if _spec(node) is None:
            continue
        value = _present(node, "value")
        if not value or (len(value) == 1 and value in _DIGIT_VALUES):
            continue
        yield Problem(
            f'"{_raw(node, "value")}" on <{node.raw_tag}> must be one key 0-9 or *, not "{value}"',
            node.attr_loc("value"),
        )


def _attribute_problems(ctx: LintContext, node: Node, spec: TagSpec) -> Iterator[Problem]:
    el = element_of(ctx, node)
    if len(el.attrib) == len(node.raw_attrs) and all(
        r in spec.attrs for r in node.raw_attrs.values()
    ):
        return  # the common case: every attribute known, none repeated in another case
    seen: dict[str, str] = {}
    for key in el.attrib:
        qname = etree.QName(key)
        if qname.namespace:
            continue  # xsi:… and other namespaced attributes belong to other vocabularies
        raw = qname.localname
        canon = canonical_attr(node.tag, raw)
        if canon in seen:
            yield Problem(
                f'attribute "{raw}" on <{node.raw_tag}> repeats "{seen[canon]}" in another case; '
                "it is ignored",
                attr_loc(ctx, node, raw),
            )
            continue
        seen[canon] = raw
        if raw in spec.attrs:
            continue
        if canon != raw:
            how = "lower-case spelling" if raw in CAMEL_ATTRS else "spelling"
            yield Problem(
                f'unknown attribute "{raw}" on <{node.raw_tag}>; did you mean "{canon}"? '
                f'(accepted as a {how} of "{canon}")',
                attr_loc(ctx, node, raw),
            )
            continue
        import difflib  # only for suggestions (start-up time)

        close = difflib.get_close_matches(raw, list(spec.attrs), n=1, cutoff=0.75)
        hint = (
            f'; did you mean "{close[0]}"?'
            if close
            else f"; <{node.tag}> takes {', '.join(spec.attrs)}"
        )
        yield Problem(
            f'unknown attribute "{raw}" on <{node.raw_tag}>{hint}', attr_loc(ctx, node, raw)
        )


@rule("W024", "unknown-attribute")
def unknown_attribute(ctx: LintContext) -> Iterator[Problem]:
    """An attribute the tag does not have, including known attributes spelled in another case.

    Attribute names are case-sensitive (spec §1); unknown attributes are ignored by the runtime,
    so a misspelt ``timout`` silently keeps the default. A spelling that differs only in case from
    a known attribute (``maxdigits``, ``Type``) is used as that attribute, with this warning
    (spec §1 Decision). Namespaced attributes (``xsi:…``) are not checked.

    Fails::

        <dialplan><menu maxdigits="2"><play type="tts">Enter 2 digits</play>
          <keypress pressed="10"><hangup/></keypress></menu></dialplan>

    Passes::

        <dialplan><menu maxDigits="2"><play type="tts">Enter 2 digits</play>
          <keypress pressed="10"><hangup/></keypress></menu></dialplan>
    """
    for node in ctx.plan.nodes:
        spec = _spec(node)
        if spec is not None:
            yield from _attribute_problems(ctx, node, spec)


@rule("W025", "ambiguous-menu-timeout")
def ambiguous_menu_timeout(ctx: LintContext) -> Iterator[Problem]:
    """``menu@timeout`` is exactly ``1000``, or a seconds value above 120.

    Timeouts above 1000 are milliseconds, smaller ones seconds (spec §2.3). ``1000`` fits both
    readings (16 minutes or one second); it is read as 1000 ms. A value such as ``500`` means 500
    *seconds* — almost certainly milliseconds were meant.

    Fails::

        <dialplan><menu timeout="1000"><play type="tts">Press 1</play>
          <keypress pressed="1"><hangup/></keypress></menu></dialplan>

    Passes::

        <dialplan><menu timeout="3500"><play type="tts">Press 1</play>
          <keypress pressed="1"><hangup/></keypress></menu></dialplan>
    """
    for node in tagged(ctx, "menu"):
        if _spec(node) is None:
            continue
        value = _present(node, "timeout")
        if not value or not value.isascii() or not value.isdigit():
            continue
        number = int(value)
        if number == 1000:
            yield Problem(
                'timeout="1000" is ambiguous (1000 seconds or 1000 milliseconds); it is read as '
                'one second: write timeout="1" for seconds or a value above 1000 for milliseconds',
                node.attr_loc("timeout"),
            )
        elif 120 < number < 1000:
            yield Problem(
                f'timeout="{value}" means {number} seconds (values up to 1000 are seconds); '
                "write milliseconds as a value above 1000",
                node.attr_loc("timeout"),
            )


@rule("W026", "unknown-voice-or-music")
def unknown_voice_or_music(ctx: LintContext) -> Iterator[Problem]:
    """``play@voice`` or ``transfer@musiconhold`` has a value that is not in the known lists.

    Known voices: ``male1``, ``female1``, ``female2``, ``spanish1``, ``frenchcanadian1``,
    ``femaleSpanish``; known hold music: spec §3.7. The lists are "subject to change", so an unknown
    value is a warning: CallFire would fall back to its default voice or music.

    Fails::

        <dialplan><play type="tts" voice="robot">Hello</play></dialplan>

    Passes::

        <dialplan><play type="tts" voice="female2">Hello</play></dialplan>
    """
    for node in ctx.plan.nodes:
        if _spec(node) is None:
            continue
        if node.tag == "play":
            voice = _present(node, "voice")
            if voice is None or voice in VOICES:
                continue
            same = [v for v in VOICES if v.lower() == voice.lower()]
            hint = f'; did you mean "{same[0]}"?' if same else f"; known: {', '.join(VOICES)}"
            yield Problem(
                f'unknown voice "{voice}" on <{node.raw_tag}>{hint}', node.attr_loc("voice")
            )
        elif node.tag == "transfer":
            music = _present(node, "musiconhold")
            if music is None:
                continue
            if music.lower() in MUSIC_ON_HOLD or music.lower() in MUSIC_ON_HOLD_ALIASES:
                continue
            yield Problem(
                f'unknown musiconhold "{music}" on <{node.raw_tag}>; known: '
                f"{', '.join(MUSIC_ON_HOLD)}",
                node.attr_loc("musiconhold"),
            )


@rule("I027", "music-alias")
def music_alias(ctx: LintContext) -> Iterator[Problem]:
    """``musiconhold`` uses an alias (``Silent``, ``newage``) that is normalised.

    Old documentation examples write ``Silent`` and one SDK ``newage``; they are read as
    ``silence`` and ``new_age`` (spec §3.7).

    Fails::

        <dialplan><transfer musiconhold="Silent">2135551212</transfer></dialplan>

    Passes::

        <dialplan><transfer musiconhold="silence">2135551212</transfer></dialplan>
    """
    for node in tagged(ctx, "transfer"):
        if _spec(node) is None:
            continue
        music = _present(node, "musiconhold")
        if music is not None and music.lower() in MUSIC_ON_HOLD_ALIASES:
            canon = MUSIC_ON_HOLD_ALIASES[music.lower()]
            yield Problem(
                f'musiconhold "{music}" is read as "{canon}"; write "{canon}"',
                node.attr_loc("musiconhold"),
            )


@rule("W028", "screen-without-whisper")
def screen_without_whisper(ctx: LintContext) -> Iterator[Problem]:
    """``transfer screen="true"`` without ``whisper-tts``.

    Call screening asks the called party to accept the call; without a whisper message they hear
    nothing that tells them what to do (spec §3.7; the Scala SDK requires it).

    Fails::

        <dialplan><transfer screen="true">2135551212</transfer></dialplan>

    Passes::

        <dialplan><transfer screen="true" whisper-tts="Press 1 to accept">2135551212</transfer></dialplan>
    """
    for node in tagged(ctx, "transfer"):
        if _spec(node) is None:
            continue
        if (_present(node, "screen") or "").lower() == "true" and not _present(node, "whisper-tts"):
            yield Problem(
                f'{node.label} has {_raw(node, "screen")}="true" but no whisper-tts: the called '
                "party is not told how to accept",
                node.attr_loc("screen"),
            )


@rule("W029", "voice-on-audio-play")
def voice_on_audio_play(ctx: LintContext) -> Iterator[Problem]:
    """``voice`` on a ``<play>`` whose type is not ``tts``.

    Only speech synthesis has a voice; for ``url`` and ``callfireid`` plays it is ignored
    (spec §3.4) — often the ``type`` is what is wrong.

    Fails::

        <dialplan><play type="url" voice="female1">https://example.com/hi.wav</play></dialplan>

    Passes::

        <dialplan><play type="url">https://example.com/hi.wav</play></dialplan>
    """
    for node in tagged(ctx, "play"):
        if _spec(node) is None:
            continue
        kind = (_present(node, "type") or "").lower()
        if kind in ("url", "callfireid") and _present(node, "voice") is not None:
            yield Problem(
                f'voice is ignored on <{node.raw_tag} type="{_present(node, "type")}">; only tts '
                "plays have a voice",
                node.attr_loc("voice"),
            )


@rule("E02A", "invalid-sound-id")
def invalid_sound_id(ctx: LintContext) -> Iterator[Problem]:
    """``<play type="callfireid">`` whose value is neither all digits nor a sound library name.

    A CallFire sound id is a number (spec §3.4); a sound of the project's sound library may
    also be named (letters, digits, space, ``_`` and ``-``, at least one letter: see W079 and
    E072). Values built from ``${…}`` are not checked.

    Fails::

        <dialplan><play type="callfireid">hello.wav</play></dialplan>

    Passes::

        <dialplan><play type="callfireid">123456</play></dialplan>
    """
    for node in tagged(ctx, "play"):
        if _spec(node) is None:
            continue
        if (_present(node, "type") or "").lower() != "callfireid":
            continue
        value = node.text
        if not value or "${" in value or (value.isascii() and value.isdigit()):
            continue
        if is_library_name(value):
            continue
        yield Problem(
            f'sound id "{value}" in <{node.raw_tag} type="callfireid"> must be all digits'
            " (or a sound library name)",
            value_loc(ctx, node),
        )


def _placeholders(text: str) -> str:
    """``${…}`` references (nested too) replaced by a placeholder word."""
    previous = None
    while previous != text:
        previous, text = text, _INNER_REF.sub("x", text)
    return text


@rule("W02B", "url-not-absolute")
def url_not_absolute(ctx: LintContext) -> Iterator[Problem]:
    """A URL value is not an absolute http(s) URL.

    Checked: the values of ``<play type="url">``, ``<get>``, ``<post>`` and ``<gotoXML>``. CallFire fetches these from the internet; a relative path, a missing scheme or a space makes
    the fetch fail during the call. ``${…}`` references count as valid text; a value that starts
    with a reference (the whole URL in a variable, e.g. a recording) is not checked.

    Fails::

        <dialplan><get varname="r">www.example.com/lookup?id=${id}</get></dialplan>

    Passes::

        <dialplan><get varname="r">https://www.example.com/lookup?id=${id}</get></dialplan>
    """
    for node in ctx.plan.nodes:
        if _spec(node) is None:
            continue
        if node.tag == "play":
            if (_present(node, "type") or "").lower() != "url":
                continue
        elif node.tag not in ("get", "post", "gotoXML"):
            continue
        value = node.text
        if not value or value.startswith("${"):
            continue  # empty is E013's; a leading variable supplies the scheme and host
        if _ABSOLUTE_HTTP.match(_placeholders(value)):
            continue
        shown = value if len(value) <= 60 else value[:59] + "…"
        yield Problem(
            f"{_quote(shown)} in <{node.raw_tag}> is not an absolute http(s) URL: "
            f"{_url_trouble(value)}",
            value_loc(ctx, node),
        )


@rule("E02C", "callr-missing-param")
def callr_missing_param(ctx: LintContext) -> Iterator[Problem]:
    """A Callr YAML action lacks a required parameter (or the scenario lacks ``branches``).

    ``say@v2`` needs ``what``, ``play@v1`` ``media``, ``fetch@v2`` ``url``, ``javascript@v1``
    ``code``, ``log@v1`` ``message`` and ``dial@v1`` ``targets``; ``goto`` needs ``label`` or
    ``branch``. Without them the action has nothing to do.

    Fails::

        dialplan: yaml
        branches:
          inbound-call:
            actions:
              - action: say@v2

    Passes::

        dialplan: yaml
        branches:
          inbound-call:
            actions:
              - action: say@v2
                params:
                  what: Hello
    """
    yield from compile_findings(ctx, "E02C")


@rule("E02D", "callr-wrong-param")
def callr_wrong_param(ctx: LintContext) -> Iterator[Problem]:
    """A Callr YAML parameter of the wrong type, or one the action does not have.

    ``maxDigits`` is an integer (or ``${{ }}``), ``result`` a ``$variable``, ``headers`` and
    ``prompt`` mappings, ``targets`` a list; a parameter the action does not know is a typo
    whose intent would be lost. Variable names are ``$`` followed by letters, digits and ``_``.

    Fails::

        dialplan: yaml
        branches:
          inbound-call:
            actions:
              - action: gather@v2
                params:
                  maxDigits: one
                  result: dtmf

    Passes::

        dialplan: yaml
        branches:
          inbound-call:
            actions:
              - action: gather@v2
                params:
                  maxDigits: 1
                  result: $dtmf
    """
    yield from compile_findings(ctx, "E02D")


def _quote(text: str) -> str:
    """``text`` in double quotes, line breaks and tabs shown as ``\\n``/``\\t`` (one line)."""
    return '"' + text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


def _url_trouble(value: str) -> str:
    """What is wrong with a URL value, in the caller's words."""
    if "\n" in value or "\r" in value:
        return "it contains a line break"
    if any(ch.isspace() for ch in value):
        return "it contains a space"
    scheme, sep, _ = value.partition("://")
    if not sep:
        return "it has no scheme (write https://…)"
    if scheme.lower() not in ("http", "https"):
        return f"the scheme {scheme!r} is not http or https"
    return "it has no host name"
