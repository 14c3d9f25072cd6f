"""The bundled XML Schema (``xsd/dialplan.xsd``) and schema diagnostics.

The XSD declares only the canonical spellings of spec §3. Before validation a copy of the tree is
normalised (:func:`normalise`): tag and attribute spellings the spec tolerates are mapped to their
canonical form with :func:`~dialplan.model.tags.canonical_tag` and
:func:`~dialplan.model.tags.canonical_attr`, namespaces are dropped, the values compared
case-insensitively (:data:`CASE_INSENSITIVE_VALUES`: ``play@type``, ``transfer@mode``,
``transfer@musiconhold``, ``catch@type``, ``keypress@pressed`` and the booleans) are lower-cased,
and ``<goto>`` targets are trimmed (docs/schema.md). The schema is compiled once, lazily, with
lxml's libxml2 binding; every libxml2 error becomes a :class:`SchemaError` at the element (or
attribute) it names, under the spec's code where one exists and ``E018`` otherwise. The rule names
and the merging with the lint rules' findings belong to the validation stage
(:mod:`dialplan.validate`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

from lxml import etree

from .diagnostics import Location
from .model.tags import (
    BOOLEAN,
    CAMEL_TAGS,
    CATCH_TYPES,
    MUSIC_ON_HOLD_ALIASES,
    PLAY_TYPES,
    TAGS,
    TRANSFER_MODES,
    canonical_attr,
    canonical_tag,
)
from .parse import ParsedDocument

if TYPE_CHECKING:
    from importlib.abc import Traversable

#: The code of schema findings that no spec rule covers, documented here (``dialplan rules``).
SCHEMA_CODE: Final = "E018"
CODES: Final = {
    SCHEMA_CODE: (
        "schema-violation",
        "The document breaks the bundled XML Schema (xsd/dialplan.xsd) in a way no other rule "
        "reports, e.g. text inside <hangup>/<record>. Schema findings that match a spec rule "
        "are reported under that rule's code. See docs/schema.md.",
    ),
}

#: (tag, attribute) whose values are compared case-insensitively: lower-cased before validation.
CASE_INSENSITIVE_VALUES: Final = frozenset(
    {
        ("play", "type"),
        ("transfer", "mode"),
        ("transfer", "musiconhold"),
        ("catch", "type"),
        ("keypress", "pressed"),
        ("transfer", "continue-after"),
        ("transfer", "screen"),
        ("play", "cache"),
        ("record", "background"),
        ("dialplan", "loggingEnabled"),
        ("dnc", "loggingEnabled"),
    }
)


_POSITIVE_ATTRS: Final = frozenset(
    {("menu", "timeout"), ("menu", "maxDigits"), ("transfer", "timeout"), ("record", "timeout")}
)
_BOOLEAN_ATTRS: Final = frozenset(
    {"continue-after", "cache", "background", "screen", "loggingEnabled"}
)

# The few facts read from libxml2's message text, because lxml's log entry does not carry them:
# the attribute an error is about, an identity constraint's key, the expected children (a hint)
# and the detail quoted for E018. Plain strings: compiled by ``re`` on first use, i.e. only when
# a document has schema errors, to keep start-up fast.
_ELEMENT: Final = r"^Element '([^']+)'(?:, attribute '([^']+)')?: "
_EXPECTED: Final = r"Expected is(?: one of)? \( ([^)]*) \)"
_KEY: Final = r"key-sequence \['(.*)'\] (?:in unique identity-constraint|of keyref) '(\w+)'"
_FACET: Final = r"^\[facet '\w+'\] "

_schema: etree.XMLSchema | None = None


def xsd_resource() -> Traversable:
    """The packaged XSD (``dialplan/data/dialplan.xsd``, a link to ``xsd/dialplan.xsd``)."""
    from importlib import resources

    return resources.files("dialplan") / "data" / "dialplan.xsd"


def xsd_text() -> str:
    """The bundled XSD as text."""
    return xsd_resource().read_text(encoding="utf-8")


def _xsd_bytes() -> bytes:
    path = Path(__file__).resolve().parent / "data" / "dialplan.xsd"
    if path.is_file():  # a normal install: skip importlib.resources at start-up
        return path.read_bytes()
    return xsd_resource().read_bytes()


def compiled() -> etree.XMLSchema:
    """The compiled schema (compiled on first use, then shared)."""
    global _schema
    if _schema is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        tree = etree.fromstring(_xsd_bytes(), parser)
        _schema = etree.XMLSchema(tree)
    return _schema


# --------------------------------------------------------------------------- normalisation


def _needs_work(root: etree._Element) -> bool:
    """Whether :func:`normalise` would change anything."""
    for el in root.iter(etree.Element):
        tag = el.tag
        if tag[0] == "{" or tag in CAMEL_TAGS:
            return True
        if tag == "goto" and el.text and el.text != el.text.strip():
            return True
        attrib = el.attrib
        if not attrib:
            continue
        spec = TAGS.get(tag)
        if spec is None:
            continue
        for key, value in attrib.items():
            if key not in spec.attrs:
                if key[0] != "{" and canonical_attr(tag, key) != key:
                    return True
            elif (tag, key) in CASE_INSENSITIVE_VALUES and value != value.lower():
                return True
    return False


def normalise(root: etree._Element) -> etree._Element:
    """A copy of ``root`` in canonical spelling (see the module docstring and docs/schema.md).

    The copy has the same element structure as ``root``, so elements correspond one to one in
    ``iter()`` order. ``root`` itself is returned when nothing needs to change.
    """
    if not _needs_work(root):
        return root
    import copy

    out = copy.deepcopy(root)
    for el in out.iter(etree.Element):
        local = etree.QName(el).localname
        tag = canonical_tag(local)
        if el.tag != tag:
            el.tag = tag
        if tag == "goto" and el.text:
            el.text = el.text.strip()  # spec §1: text values are trimmed (goto targets, §3.5)
        if not el.attrib:
            continue
        for key, value in list(el.attrib.items()):
            if key[0] == "{":
                continue  # namespaced attributes (xsi:…) stay as they are
            canon = canonical_attr(tag, key)
            if canon != key:
                del el.attrib[key]
                if canon in el.attrib:
                    continue  # the canonical spelling wins over a tolerated one
                el.set(canon, value)
            if (tag, canon) in CASE_INSENSITIVE_VALUES:
                lowered = value.lower()
                if canon == "musiconhold":
                    lowered = MUSIC_ON_HOLD_ALIASES.get(lowered.strip(), lowered)
                if lowered != value:
                    el.set(canon, lowered)
    if out.nsmap:
        etree.cleanup_namespaces(out)
    return out


# --------------------------------------------------------------------------- validation


class SchemaError(NamedTuple):
    """One schema finding at a source position (the validation stage adds the rule's name)."""

    code: str
    message: str
    loc: Location


class _Found(NamedTuple):
    """A schema finding tied to an element of the original document."""

    code: str
    message: str
    element: etree._Element
    attribute: str | None = None  # the attribute's spelling in the original document


def iter_errors(doc: ParsedDocument) -> Iterator[SchemaError]:
    """Every schema finding for ``doc``, one per code and source position, in log order."""
    checked = normalise(doc.root)
    schema = compiled()
    if schema.validate(checked):
        return
    mapper = _Mapper(doc, checked)
    seen: set[tuple[str, int, int]] = set()
    for entry in list(schema.error_log):
        for err in mapper.convert(entry):
            loc = (
                doc.attr_location(err.element, err.attribute)
                if err.attribute
                else doc.location(err.element)
            )
            key = (err.code, loc.line, loc.column)
            if key in seen or (err.code == "E013" and ("E012", loc.line, loc.column) in seen):
                continue  # an element with child elements is not also "empty"
            seen.add(key)
            yield SchemaError(err.code, err.message, loc)


_T = etree.ErrorTypes
#: libxml2 facet failures on a value; each is followed by a "not a valid value of the atomic
#: type" entry for the same value, which adds nothing.
_FACETS: Final = frozenset(
    {
        _T.SCHEMAV_CVC_PATTERN_VALID,
        _T.SCHEMAV_CVC_ENUMERATION_VALID,
        _T.SCHEMAV_CVC_MINLENGTH_VALID,
        _T.SCHEMAV_CVC_MININCLUSIVE_VALID,
    }
)
#: (tag, attribute) → the values an enumerated attribute allows (the tag table's, as the XSD's)
_ENUMS: Final = {
    ("play", "type"): PLAY_TYPES,
    ("transfer", "mode"): TRANSFER_MODES,
    ("catch", "type"): CATCH_TYPES,
}


class _Mapper:
    """Turns libxml2 log entries on the normalised copy into findings on the original tree.

    An entry is dispatched on its error type and located by its XPath (``entry.path``) on the
    validated copy; values are read from the tree. Two facts lxml does not expose are read from
    the entry's text: the attribute libxml2 names in its ``Element 'x', attribute 'y':`` prefix,
    and the key of an identity constraint (the constraint names are the XSD's own).
    """

    def __init__(self, doc: ParsedDocument, checked: etree._Element) -> None:
        self.doc = doc
        self.root = doc.root
        self.checked = checked
        self._pairs: dict[etree._Element, etree._Element] | None = None
        self._facet_failed: set[tuple[etree._Element, str]] = set()
        self._missing_reported: set[tuple[etree._Element, str]] = set()

    # ---- element lookup

    def original(self, el: etree._Element) -> etree._Element:
        if self.checked is self.root:
            return el
        if self._pairs is None:
            self._pairs = dict(zip(self.checked.iter(), self.root.iter(), strict=True))
        return self._pairs.get(el, self.root)

    def by_path(self, path: str | None) -> etree._Element | None:
        """The element of the validated copy at libxml2's XPath."""
        if not path:
            return None
        try:
            found = self.checked.getroottree().xpath(path)
        except etree.XPathError:
            return None
        if isinstance(found, list) and found and isinstance(found[0], etree._Element):
            return found[0]
        return None

    def canonical_elements(self, tag: str) -> Iterator[tuple[etree._Element, etree._Element]]:
        """(normalised, original) pairs of every element with canonical ``tag``."""
        for el in self.checked.iter(tag):
            yield el, self.original(el)

    def raw_attr(self, el: etree._Element, canon: str) -> str | None:
        tag = canonical_tag(etree.QName(el).localname)
        for key in el.attrib:
            if canonical_attr(tag, etree.QName(key).localname) == canon:
                return str(key)
        return None

    def where(self, el: etree._Element) -> str:
        """A readable path: ``dialplan/menu[2]/keypress`` (local names as written)."""
        steps: list[str] = []
        node: etree._Element | None = el
        while node is not None:
            name = etree.QName(node).localname
            parent = node.getparent()
            if parent is not None:
                same = [c for c in parent if c.tag == node.tag]
                if len(same) > 1:
                    name += f"[{same.index(node) + 1}]"
            steps.append(name)
            node = parent
        return "/".join(reversed(steps))

    # ---- conversion

    def convert(self, entry: etree._LogEntry) -> list[_Found]:
        if entry.level_name == "WARNING":
            return []
        message = entry.message.strip()
        m = re.match(_ELEMENT, message)
        tag, attr = (m.group(1), m.group(2)) if m else (None, None)
        detail = message[m.end() :] if m else message
        if entry.type == _T.SCHEMAV_CVC_IDC:
            return self._identity(entry, tag, detail)
        checked = self.by_path(entry.path)
        if checked is None:
            checked = self._by_line(tag, entry.line)
        if attr is not None:
            return self._attribute(entry.type, checked, attr, detail)
        return [self._element(entry.type, checked, detail)]

    def _by_line(self, tag: str | None, line: int) -> etree._Element:
        for el in self.checked.iter(tag or etree.Element):
            if el.sourceline == line:
                return el
        return self.checked

    def _element(self, kind: int, checked: etree._Element, detail: str) -> _Found:
        el = self.original(checked)
        tag = checked.tag if isinstance(checked.tag, str) else ""
        raw = etree.QName(el).localname
        where = self.where(el)
        if kind == _T.SCHEMAV_CVC_ELT_1:
            return _Found(
                "E002", f"the root element is <{raw}>; a dialplan's root must be <dialplan>", el
            )
        if kind == _T.SCHEMAV_CVC_COMPLEX_TYPE_4:
            name = self._missing_attribute(checked)
            if name is not None:
                return _Found("E020", f"{where}: <{raw}> needs attribute {name}", el)
        if kind == _T.SCHEMAV_ELEMENT_CONTENT:
            missing = _missing_branches(checked)
            if missing:
                return _Found(
                    "E006",
                    f"{where}: <amd> must contain exactly one <live> and one <machine>; "
                    f"missing {missing}",
                    el,
                )
            return self._unexpected(checked, el, raw, where, detail)
        if kind == _T.SCHEMAV_CVC_COMPLEX_TYPE_2_3:
            return _Found(
                "E011",
                f"{where}: text directly inside container <{raw}> (only child tags belong here)",
                el,
            )
        if kind == _T.SCHEMAV_CVC_COMPLEX_TYPE_2_2:
            return _Found(
                "E012",
                f"{where}: <{raw}> holds a text value; child elements are not allowed "
                "(write VTML markup entity-encoded)",
                el,
            )
        if kind == _T.SCHEMAV_CVC_MINLENGTH_VALID and tag in TAGS and TAGS[tag].value_required:
            return _Found("E013", f"{where}: <{raw}> needs a value but is empty", el)
        if kind == _T.SCHEMAV_CVC_PATTERN_VALID:  # the XSD's only element pattern: no value
            text = " ".join("".join(el.itertext()).split())
            return _Found(
                SCHEMA_CODE, f"{where}: <{raw}> takes no value, found text {_quote(text)}", el
            )
        return _Found(SCHEMA_CODE, f"{where}: {_clean(detail)}", el)

    def _missing_attribute(self, checked: etree._Element) -> str | None:
        """The next required attribute (tag table order) of ``checked`` not yet reported."""
        spec = TAGS.get(checked.tag) if isinstance(checked.tag, str) else None
        for name, required in spec.attrs.items() if spec else ():
            reported = (checked, name) in self._missing_reported
            if required and name not in checked.attrib and not reported:
                self._missing_reported.add((checked, name))
                return name
        return None

    def _unexpected(
        self, checked: etree._Element, el: etree._Element, raw: str, where: str, detail: str
    ) -> _Found:
        tag = checked.tag if isinstance(checked.tag, str) else ""
        holder = checked.getparent()
        parent = holder.tag if holder is not None else None
        inside = f"<{parent}>" if parent else "the document"
        if tag not in TAGS:
            return _Found("E003", f"{where}: unknown tag <{raw}>", el)
        spec = TAGS[tag]
        if parent == "amd":
            return _Found(
                "E006",
                f"{where}: <amd> must contain exactly one <live> and one <machine>; "
                f"<{raw}> is not allowed here",
                el,
            )
        if tag == "else" and parent == "if":
            return _Found("E009", f"{where}: more than one <else> in one <if>", el)
        if tag == "dialplan":
            return _Found("E005", f"{where}: <dialplan> may only be the root element", el)
        if spec.parents:
            allowed = " or ".join(f"<{p}>" for p in spec.parents)
            return _Found(
                "E005", f"{where}: <{raw}> may only appear inside {allowed}, not in {inside}", el
            )
        if parent in spec.forbidden_parents:
            return _Found(
                "E005", f"{where}: <{tag}> cannot stand directly inside another <{parent}>", el
            )
        expected = _expected(detail)
        hint = f" (expected {expected})" if expected else ""
        return _Found(SCHEMA_CODE, f"{where}: <{raw}> is not allowed here in {inside}{hint}", el)

    def _attribute(
        self, kind: int, checked: etree._Element, canon: str, detail: str
    ) -> list[_Found]:
        el = self.original(checked)
        tag = checked.tag if isinstance(checked.tag, str) else ""
        raw_attr = self.raw_attr(el, canon) or canon
        where = f"{self.where(el)}/@{raw_attr}"
        key = (checked, canon)
        if kind == _T.SCHEMAV_CVC_DATATYPE_VALID_1_2_1 and key in self._facet_failed:
            return []  # libxml2 repeats a facet failure as a type failure
        if kind in _FACETS:
            self._facet_failed.add(key)
        value = el.get(raw_attr)
        shown = _quote(value) if value is not None else "this value"
        if (tag, canon) in _POSITIVE_ATTRS:
            msg = f"{where}: {shown} is not a positive integer"
            return [_Found("E022", msg, el, raw_attr)]
        if canon == "pressed":
            msg = (
                f"{where}: {shown} is not a keypress pattern (expected keys of 0-9 * #, "
                "a range lo-hi, default or timeout)"
            )
            return [_Found("E040", msg, el, raw_attr)]
        if tag == "catch" and canon == "value":
            msg = f"{where}: {shown} is not a single digit 0-9 or *"
            return [_Found("E023", msg, el, raw_attr)]
        allowed = _ENUMS.get((tag, canon)) or (BOOLEAN if canon in _BOOLEAN_ATTRS else None)
        if allowed:
            msg = f"{where}: {shown} is not one of {', '.join(allowed)}"
            return [_Found("E021", msg, el, raw_attr)]
        return [_Found(SCHEMA_CODE, f"{where}: {_clean(detail)}", el, raw_attr)]

    def _identity(self, entry: etree._LogEntry, tag: str | None, detail: str) -> list[_Found]:
        m = re.search(_KEY, detail)
        if m is None:  # libxml2's follow-up to a value that already failed its type
            return []
        value, constraint = m.group(1), m.group(2)
        if constraint == "uniqueName":
            return self._duplicates(
                [
                    (c, o)
                    for c, o in self.canonical_elements(etree.Element)
                    if c.get("name") == value
                ],
                "name",
                lambda el: (
                    f"{self.where(el)}: duplicate name {_quote(value)} "
                    "(names must be unique in the document)"
                ),
                "E030",
            )
        if constraint == "uniquePressed":
            at = self.by_path(entry.path)
            scope = at.getparent() if at is not None and at.tag == "keypress" else at
            pairs = [
                (c, o)
                for c, o in self.canonical_elements("keypress")
                if (c.get("pressed") or "").strip() == value
                and (scope is None or c.getparent() is scope)
            ]
            return self._duplicates(
                pairs,
                "pressed",
                lambda el: (
                    f"{self.where(el)}: duplicate keypress pattern {_quote(value)} "
                    "in one menu (only the first can run)"
                ),
                "E041",
            )
        # keyrefs: a goto text or catch@goto naming no node
        target_tag = "goto" if constraint == "gotoTarget" else "catch"
        candidates = [
            c
            for c in self.checked.iter(target_tag)
            if c.sourceline == entry.line
            and " ".join(((c.text or "") if target_tag == "goto" else c.get("goto", "")).split())
            == value
        ]
        el = self.original(candidates[0] if candidates else self._by_line(target_tag, entry.line))
        code = "E032" if "${" in value else "E031"
        what = "goto target" if target_tag == "goto" else "catch goto"
        reason = "dynamic targets are not supported" if code == "E032" else "no node has that name"
        attr = self.raw_attr(el, "goto") if target_tag == "catch" else None
        return [_Found(code, f"{self.where(el)}: {what} {_quote(value)}: {reason}", el, attr)]

    def _duplicates(
        self,
        pairs: list[tuple[etree._Element, etree._Element]],
        canon: str,
        message: Callable[[etree._Element], str],
        code: str,
    ) -> list[_Found]:
        return [
            _Found(code, message(orig), orig, self.raw_attr(orig, canon)) for _, orig in pairs[1:]
        ]


def _missing_branches(checked: etree._Element) -> str:
    """``<live>``/``<machine>`` missing from an ``<amd>`` (libxml2 reports that on the amd)."""
    holder = checked.getparent()
    if checked.tag != "amd" or (holder is not None and holder.tag == "amd"):
        return ""
    present = {child.tag for child in checked}
    return ", ".join(f"<{t}>" for t in ("live", "machine") if t not in present)


def _expected(detail: str) -> str | None:
    m = re.search(_EXPECTED, detail)
    if not m:
        return None
    names = [n.strip() for n in m.group(1).split(",")]
    return ", ".join(f"<{n}>" for n in names)


def _quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _clean(detail: str) -> str:
    return re.sub(_FACET, "", detail).rstrip(".")


__all__ = [
    "CODES",
    "SCHEMA_CODE",
    "SchemaError",
    "compiled",
    "iter_errors",
    "normalise",
    "xsd_resource",
    "xsd_text",
]
