"""SSML documents: checked on load (hardened parse, allowed elements, ``line:col`` errors) and
rewritten for espeak-ng's SSML mode (``espeak-ng -m``), bridging where it differs.

Bridges (measured quirks of espeak-ng 1.51, see docs/sounds.md):

* ``<say-as interpret-as="digits">1234`` is read "one two three four": espeak-ng reads it as a
  number, so it becomes ``interpret-as="characters"`` (which spells digits);
* a leading ``<break>`` is dropped by espeak-ng: it is taken out and returned as leading silence
  (the renderer pads the audio with it);
* ``<voice name>`` must be a voice of :mod:`.voices` (or an Azure-style ``en-IN-NameNeural``,
  read by its locale): espeak-ng silently falls back to its default for unknown names;
* ``<break time>`` is capped at :data:`MAX_BREAK_S` (espeak-ng renders 20 s when asked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from .voices import VoiceError, espeak_voice, language_voice

NS = "http://www.w3.org/2001/10/synthesis"
#: a larger document is refused before it is parsed
MAX_BYTES = 64 * 1024
MAX_ELEMENTS = 2_000
MAX_DEPTH = 32
MAX_BREAK_S = 10.0
#: all breaks of a document together (each capped at :data:`MAX_BREAK_S`)
MAX_TOTAL_BREAK_S = 60.0
#: what espeak-ng's SSML mode honours (and we pass on); anything else is refused
ALLOWED = frozenset(
    {"speak", "p", "s", "break", "say-as", "voice", "prosody", "emphasis", "sub", "mark"}
)
_DTD = re.compile(r"<!DOCTYPE|<!ENTITY", re.I)
_TIME = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s)\s*$")
_NEURAL = re.compile(r"^([a-z]{2,3}-[A-Za-z]{2,4})-[A-Za-z]+Neural$")
_STRENGTH_S = {"none": 0.0, "x-weak": 0.1, "weak": 0.2, "medium": 0.4, "strong": 0.7}
_STRENGTH_S["x-strong"] = 1.2


class SsmlError(ValueError):
    """A document that cannot be spoken; the message starts with ``line:col``."""


@dataclass(frozen=True, slots=True)
class SpeakableSsml:
    """A checked document rewritten for ``espeak-ng -m``."""

    text: str
    voice: str  # the espeak-ng voice of the whole document
    leading_silence_s: float


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _where(el: etree._Element) -> str:
    return f"{el.sourceline or 1}:1"


def _local(el: etree._Element) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return local if ns == NS else f"{{{ns}}}{local}"
    return tag


def break_seconds(el: etree._Element) -> float:
    """A ``<break>``'s length (``time`` wins over ``strength``), capped at :data:`MAX_BREAK_S`."""
    time = el.get("time")
    if time is not None:
        m = _TIME.match(time)
        if m is None:
            raise SsmlError(f"{_where(el)}: <break time={time!r}>: use a time like 500ms or 2s")
        value = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
        return min(value, MAX_BREAK_S)
    strength = el.get("strength", "medium")
    if strength not in _STRENGTH_S:
        raise SsmlError(f"{_where(el)}: <break strength={strength!r}>: unknown strength")
    return _STRENGTH_S[strength]


def _voice_of(el: etree._Element, language: str | None) -> str:
    name = el.get("name")
    gender = el.get("gender")
    try:
        if name:
            neural = _NEURAL.match(name)
            if neural:
                return language_voice(neural.group(1))
            return espeak_voice(name)
        return espeak_voice(
            gender, el.get("{http://www.w3.org/XML/1998/namespace}lang") or language
        )
    except VoiceError as exc:
        raise SsmlError(f"{_where(el)}: <voice>: {exc}") from None


def check_ssml(text: str, language: str | None = None) -> SpeakableSsml:
    """Check ``text`` and rewrite it for espeak-ng; raises :class:`SsmlError` with ``line:col``."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise SsmlError(f"1:1: the SSML document is larger than {MAX_BYTES // 1024} KiB")
    if _DTD.search(text):
        raise SsmlError("1:1: DOCTYPE/ENTITY declarations are refused in SSML")
    try:
        root = etree.fromstring(text.encode("utf-8"), _parser())
    except etree.XMLSyntaxError as exc:
        line, col = exc.position
        raise SsmlError(f"{line}:{col}: not well-formed SSML: {exc.msg}") from None
    if _local(root) != "speak":
        raise SsmlError(f"{_where(root)}: the root element must be <speak>, not <{_local(root)}>")
    for count, el in enumerate(root.iter(), start=1):
        if not isinstance(el.tag, str):  # an entity reference left unresolved
            raise SsmlError(f"{_where(el)}: entity references are refused in SSML")
        if count > MAX_ELEMENTS:
            raise SsmlError(f"{_where(el)}: more than {MAX_ELEMENTS} elements")
        depth = sum(1 for _ in el.iterancestors())
        if depth > MAX_DEPTH:
            raise SsmlError(f"{_where(el)}: elements nest deeper than {MAX_DEPTH} levels")
        name = _local(el)
        if name not in ALLOWED:
            raise SsmlError(
                f"{_where(el)}: <{name}> is not spoken here (allowed: {', '.join(sorted(ALLOWED))})"
            )
    lang = root.get("{http://www.w3.org/XML/1998/namespace}lang") or language
    try:
        voice = language_voice(lang) if lang else espeak_voice(None)
    except VoiceError as exc:
        raise SsmlError(f"{_where(root)}: xml:lang: {exc}") from None
    pauses = 0.0
    for el in list(root.iter()):
        name = _local(el)
        if name == "break":
            seconds = break_seconds(el)
            pauses += seconds
            if pauses > MAX_TOTAL_BREAK_S:
                raise SsmlError(
                    f"{_where(el)}: the breaks add up to more than {MAX_TOTAL_BREAK_S:g} s"
                )
            el.attrib.pop("strength", None)
            el.set("time", f"{round(seconds * 1000)}ms")
        elif name == "say-as" and el.get("interpret-as") in ("digits", "digit"):
            el.set("interpret-as", "characters")
        elif name == "voice":
            espeak = _voice_of(el, lang)
            for key in list(el.attrib):
                del el.attrib[key]
            el.set("name", espeak)
    leading = _take_leading_breaks(root)
    for el in root.iter():  # espeak-ng reads the SSML namespace or none: drop it
        if isinstance(el.tag, str) and el.tag.startswith(f"{{{NS}}}"):
            el.tag = el.tag[len(NS) + 2 :]
    etree.cleanup_namespaces(root)
    root.attrib.pop("{http://www.w3.org/XML/1998/namespace}lang", None)
    root.set("version", "1.0")
    spoken = etree.tostring(root, encoding="unicode")
    return SpeakableSsml(spoken, voice, leading)


def _take_leading_breaks(root: etree._Element) -> float:
    """Remove the ``<break>`` elements before the first spoken text; their total length."""
    total = 0.0
    while True:
        if (root.text or "").strip():
            return total
        first = next(iter(root), None)
        if first is None or _local(first) != "break":
            return total
        total += break_seconds(first)
        tail = first.tail
        root.remove(first)
        root.text = (root.text or "") + (tail or "")
        if total >= MAX_BREAK_S:
            return MAX_BREAK_S


def is_ssml(text: str) -> bool:
    """Whether a TTS text is an SSML document (starts with ``<speak`` or an XML declaration)."""
    head = text.lstrip()[:64]
    return head.startswith("<speak") or (head.startswith("<?xml") and "<speak" in text[:512])
