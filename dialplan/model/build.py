"""Build typed nodes from a parsed document through a tag → builder table.

The builder is tolerant: any well-formed document yields a model (bad values fall back to the
spec's defaults) so that lint can report every problem at once; ``dialplan.load`` refuses a model
whose lint found errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lxml import etree

from ..expr.template import Template, lenient
from . import nodes as n
from .patterns import parse_duration_ms, parse_pattern
from .tags import MUSIC_ON_HOLD_ALIASES, TAGS, canonical_attr, canonical_tag

if TYPE_CHECKING:  # the model reads a parsed document; it never parses
    from ..parse import ParsedDocument

_SPACE = re.compile(r"\s+")


class Raw:
    """What a builder gets: the canonical tag, attributes, trimmed text and built children.

    ``common`` is the new node's field dict (the fields every node has); builders pass it to
    the node class with their own fields.
    """

    __slots__ = ("attrs", "children", "common", "text")

    def __init__(
        self, attrs: dict[str, str], text: str, children: tuple[n.Node, ...], common: dict[str, Any]
    ) -> None:
        self.attrs = attrs
        self.text = text
        self.children = children
        self.common = common

    def get(self, attr: str) -> str | None:
        value = self.attrs.get(attr)
        return value.strip() if value is not None else None

    def flag(self, attr: str, default: bool) -> bool:
        value = (self.get(attr) or "").lower()
        return {"true": True, "false": False}.get(value, default)

    def template(self, attr: str) -> Template | None:
        value = self.attrs.get(attr)
        return lenient(value.strip()) if value is not None else None


def _count(text: str) -> bool:
    """A positive count in ASCII digits (``str.isdigit`` also accepts "²", which ``int`` refuses)."""
    return text.isascii() and text.isdigit() and int(text) > 0


def _menu(r: Raw) -> n.Node:
    keypresses = tuple(c for c in r.children if isinstance(c, n.Keypress))
    prompts = tuple(c for c in r.children if not isinstance(c, n.Keypress))
    raw_max = r.get("maxDigits")
    if raw_max and _count(raw_max):
        max_digits = int(raw_max)
    else:
        max_digits = max([k.pattern.width for k in keypresses] + [1])
    return n.Menu(
        r.common,
        timeout_ms=parse_duration_ms(r.get("timeout"), 5000),
        max_digits=max_digits,
        prompts=prompts,
        keypresses=keypresses,
    )


def _play(r: Raw) -> n.Node:
    kind = (r.get("type") or "").lower()
    text = _SPACE.sub(" ", r.text) if kind == "tts" else r.text
    return n.Play(
        r.common,
        kind=kind,
        value=lenient(text),
        voice=r.get("voice"),
        cache=r.flag("cache", True),
    )


def _transfer(r: Raw) -> n.Node:
    timeout = r.get("timeout")
    moh = (r.get("musiconhold") or "ringing").lower()
    return n.Transfer(
        r.common,
        numbers=lenient(r.text),
        callerid=r.template("callerid"),
        musiconhold=MUSIC_ON_HOLD_ALIASES.get(moh, moh),
        continue_after=r.flag("continue-after", False),
        mode=(r.get("mode") or "ringall").lower(),
        timeout_s=int(timeout) if timeout and _count(timeout) else 30,
        whisper_tts=r.template("whisper-tts"),
        screen=r.flag("screen", False),
        callerid_alpha=r.get("calleridalpha"),
    )


def _amd(r: Raw) -> n.Node:
    live = next((c for c in r.children if isinstance(c, n.Live)), None)
    machine = next((c for c in r.children if isinstance(c, n.Machine)), None)
    return n.Amd(r.common, live=live, machine=machine)


def _if(r: Raw) -> n.Node:
    orelse = next((c for c in r.children if isinstance(c, n.Else)), None)
    body = tuple(c for c in r.children if not isinstance(c, n.Else))
    return n.If(r.common, expr=lenient(r.get("expr") or ""), body=body, orelse=orelse)


def _equal(negate: bool) -> Callable[[Raw], n.Node]:
    def build(r: Raw) -> n.Node:
        return n.Equal(
            r.common,
            var=lenient(r.get("var") or ""),
            expr=lenient(r.get("expr") or ""),
            negate=negate,
        )

    return build


def _assign(cls: type[n.Stash] | type[n.Setvar]) -> Callable[[Raw], n.Node]:
    def build(r: Raw) -> n.Node:
        return cls(r.common, varname=lenient(r.get("varname") or ""), value=lenient(r.text))

    return build


def _http(method: str) -> Callable[[Raw], n.Node]:
    def build(r: Raw) -> n.Node:
        return n.Http(r.common, method=method, url=lenient(r.text), varname=r.get("varname"))

    return build


def _record(r: Raw) -> n.Node:
    return n.Record(
        r.common,
        varname=r.get("varname"),
        background=r.flag("background", False),
        timeout_ms=parse_duration_ms(r.get("timeout"), 60_000),
    )


def _catch(r: Raw) -> n.Node:
    return n.Catch(
        r.common,
        type=(r.get("type") or "").lower(),
        goto=r.get("goto") or "",
        value=r.get("value"),
    )


def _fetch(r: Raw) -> n.Node:
    headers: tuple[tuple[str, Template], ...] = ()
    raw_headers = r.attrs.get("headers")
    if raw_headers:
        try:
            loaded = json.loads(raw_headers)
        except ValueError:
            loaded = {}
        if isinstance(loaded, dict):
            headers = tuple((str(k), lenient(str(v))) for k, v in loaded.items())
    body = r.attrs.get("body")
    return n.Fetch(
        r.common,
        method=(r.get("method") or "GET").upper(),
        url=lenient(r.text),
        varname=r.get("varname"),
        headers=headers,
        body=lenient(body) if body is not None else None,
    )


def _runvars(r: Raw) -> n.Node:
    try:
        loaded = json.loads(r.text or "{}")
    except ValueError:
        loaded = {}
    declared = (
        tuple((str(k), str(v)) for k, v in loaded.items()) if isinstance(loaded, dict) else ()
    )
    return n.RunVars(r.common, declared=declared)


def _sms(r: Raw) -> n.Node:
    return n.Sms(r.common, to=lenient(r.get("to") or ""), message=lenient(r.text))


def _plain(cls: type[n.Node]) -> Callable[[Raw], n.Node]:
    def build(r: Raw) -> n.Node:
        return cls(r.common)

    return build


_unknown = _plain(n.Unknown)

BUILDERS: dict[str, Callable[[Raw], n.Node]] = {
    "dialplan": _plain(n.Dialplan),
    "menu": _menu,
    "keypress": lambda r: n.Keypress(r.common, pattern=parse_pattern(r.get("pressed") or "")),
    "play": _play,
    "goto": lambda r: n.Goto(r.common, target=r.text),
    "hangup": _plain(n.Hangup),
    "transfer": _transfer,
    "amd": _amd,
    "live": _plain(n.Live),
    "machine": _plain(n.Machine),
    "stash": _assign(n.Stash),
    "setvar": _assign(n.Setvar),
    "if": _if,
    "else": _plain(n.Else),
    "equal": _equal(negate=False),
    "notEqual": _equal(negate=True),
    "record": _record,
    "get": _http("GET"),
    "post": _http("POST"),
    "sms": _sms,
    "text": _sms,
    "dnc": lambda r: n.Dnc(r.common, number=lenient(r.text)),
    "catch": _catch,
    "gotoXML": lambda r: n.GotoXML(r.common, url=lenient(r.text)),
    "dtmf": lambda r: n.Dtmf(r.common, tones=lenient(r.text)),
    "script": lambda r: n.Script(r.common, code=r.text, varname=r.get("varname")),
    "runvars": _runvars,
    "log": lambda r: n.LogLine(r.common, message=lenient(r.text)),
    "fetch": _fetch,
    "wait": lambda r: n.Wait(r.common, duration_ms=parse_duration_ms(r.text or None, 1000)),
}


def _local(name: str) -> str:
    """``{namespace}local`` → ``local`` (what ``etree.QName(name).localname`` gives, cheaper)."""
    return name.rpartition("}")[2] if name[0] == "{" else name


class _Builder:
    def __init__(self, doc: ParsedDocument) -> None:
        self.doc = doc
        self.count = 0

    def build(self, el: etree._Element) -> n.Node:
        index = self.count
        self.count += 1
        raw_tag = _local(el.tag)
        tag = canonical_tag(raw_tag)
        spec = TAGS.get(tag)
        attrs: dict[str, str] = {}
        raw_attrs: dict[str, str] = {}
        for key, value in el.attrib.items():
            raw_key = _local(key)
            canon = canonical_attr(tag, raw_key)
            if canon not in attrs:
                attrs[canon] = value
                raw_attrs[canon] = raw_key
        children = tuple([self.build(c) for c in el if isinstance(c.tag, str)])
        if (spec is not None and spec.container) or not len(el):
            text = (el.text or "").strip()
        else:  # text with comments, CDATA or (misplaced) child elements in it
            text = "".join(el.itertext()).strip()
        name = attrs.get("name")
        common: dict[str, Any] = {
            "tag": tag,
            "raw_tag": raw_tag,
            "index": index,
            "name": (name or "").strip() or None,
            "attrs": attrs,
            "raw_attrs": raw_attrs,
            "text": text,
            "children": children,
            "_el": el,
            "_doc": self.doc,
        }
        node = BUILDERS.get(tag, _unknown)(Raw(attrs, text, children, common))
        for child in children:
            child.__dict__["parent"] = node
        return node


def build_nodes(doc: ParsedDocument) -> n.Node:
    """The typed tree of ``doc`` (root first; parents linked)."""
    return _Builder(doc).build(doc.root)
