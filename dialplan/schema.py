"""The bundled XML Schema (``xsd/dialplan.xsd``) and schema diagnostics.

The XSD declares only the canonical spellings of spec §3. Before validation a copy of the tree is
normalised (:func:`normalise`): tag and attribute spellings the spec tolerates are mapped to their
canonical form with :func:`~dialplan.model.tags.canonical_tag` and
:func:`~dialplan.model.tags.canonical_attr`, namespaces are dropped, the values compared
case-insensitively (:data:`CASE_INSENSITIVE_VALUES`: ``play@type``, ``transfer@mode``,
``transfer@musiconhold``, ``catch@type``, ``keypress@pressed`` and the booleans) are lower-cased,
and ``<goto>`` targets are trimmed (docs/schema.md). The schema is compiled once, lazily, with
lxml's libxml2 binding; every libxml2 error becomes a :class:`Diagnostic` at the element (or
attribute) it names, under the spec's code where one exists and ``E018`` otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from lxml import etree

from .diagnostics import Diagnostic, Severity, make
from .model.tags import CAMEL_TAGS, MUSIC_ON_HOLD_ALIASES, TAGS, canonical_attr, canonical_tag
from .parse import ParsedDocument

if TYPE_CHECKING:
    from importlib.abc import Traversable

#: Code and rule name for schema findings that no spec rule covers.
SCHEMA_CODE: Final = "E018"
SCHEMA_RULE: Final = "schema-violation"

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

#: spec code → rule name, for the codes the schema can produce.
RULE_NAMES: Final = {
    "E002": "root-not-dialplan",
    "E003": "unknown-tag",
    "E005": "forbidden-parent",
    "E006": "amd-branches",
    "E009": "multiple-else",
    "E011": "text-in-container",
    "E012": "elements-in-value",
    "E013": "empty-value",
    "E020": "missing-attribute",
    "E021": "invalid-enum",
    "E022": "not-positive-integer",
    "E023": "invalid-catch-digit",
    "E030": "duplicate-name",
    "E031": "goto-target-not-found",
    "E032": "dynamic-goto-target",
    "E040": "invalid-pattern",
    "E041": "duplicate-keypress",
    SCHEMA_CODE: SCHEMA_RULE,
}


_POSITIVE_ATTRS: Final = frozenset(
    {("menu", "timeout"), ("menu", "maxDigits"), ("transfer", "timeout"), ("record", "timeout")}
)
_ENUM_ATTRS: Final = frozenset({("play", "type"), ("transfer", "mode"), ("catch", "type")})
_BOOLEAN_ATTRS: Final = frozenset(
    {"continue-after", "cache", "background", "screen", "loggingEnabled"}
)

# libxml2 message patterns (plain strings: compiled by ``re`` on first use, i.e. only when a
# document has schema errors, to keep start-up fast)
_ELEMENT: Final = r"^Element '([^']+)'(?:, attribute '([^']+)')?: "
_EXPECTED: Final = r"Expected is(?: one of)? \( ([^)]*) \)"
_KEY: Final = r"key-sequence \['(.*)'\] (?:in unique identity-constraint|of keyref) '(\w+)'"
_VALUE: Final = r"[Tt]he value '([^']*)'|'([^']*)' is not a valid value"
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


@dataclass(frozen=True, slots=True)
class SchemaError:
    """One schema finding, tied to an element of the original document."""

    code: str
    message: str
    element: etree._Element
    attribute: str | None = None  # the attribute's spelling in the original document


def validate(doc: ParsedDocument) -> list[Diagnostic]:
    """Every schema finding for ``doc``, deduplicated (one per code and source position)."""
    checked = normalise(doc.root)
    schema = compiled()
    if schema.validate(checked):
        return []
    errors = list(schema.error_log)
    mapper = _Mapper(doc, checked)
    out: list[Diagnostic] = []
    seen: set[tuple[str, int, int]] = set()
    for entry in errors:
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
            out.append(make(err.code, RULE_NAMES[err.code], err.message, loc, file=doc.source.name))
    return out


def iter_errors(doc: ParsedDocument, already: Iterable[Diagnostic] = ()) -> Iterator[Diagnostic]:
    """Schema findings not already reported by a lint rule at the same place.

    The lint rules own every spec code and report it precisely; the schema is the backstop. A
    schema finding is dropped when ``already`` holds, on the same line, an error (any code), or
    holds the same code anywhere in the file (rule and libxml2 may point at different places).
    """
    found = validate(doc)
    if not found:
        return iter(())
    by_line: dict[int, list[Diagnostic]] = {}
    codes: set[str] = set()
    for d in already:
        by_line.setdefault(d.line, []).append(d)
        codes.add(d.code)
    return (d for d in found if not _reported(d, by_line.get(d.line, ()), codes))


def _reported(d: Diagnostic, same_line: Iterable[Diagnostic], codes: set[str]) -> bool:
    if d.code in codes:
        return True
    return any(o.severity is Severity.ERROR or o.code == d.code for o in same_line)


class _Mapper:
    """Turns libxml2 log entries on the normalised copy into findings on the original tree."""

    def __init__(self, doc: ParsedDocument, checked: etree._Element) -> None:
        self.doc = doc
        self.root = doc.root
        self.checked = checked
        self._pairs: dict[etree._Element, etree._Element] | None = None
        self._facet_failed: set[tuple[str | None, str | None]] = set()

    # ---- element lookup

    def original(self, el: etree._Element) -> etree._Element:
        if self.checked is self.root:
            return el
        if self._pairs is None:
            self._pairs = dict(zip(self.checked.iter(), self.root.iter(), strict=True))
        return self._pairs.get(el, self.root)

    def by_path(self, path: str | None) -> etree._Element | None:
        if not path:
            return None
        try:
            found = self.checked.getroottree().xpath(path)
        except etree.XPathError:
            return None
        if isinstance(found, list) and found and isinstance(found[0], etree._Element):
            return self.original(found[0])
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

    def convert(self, entry: etree._LogEntry) -> list[SchemaError]:
        message = entry.message.strip()
        if "Warning:" in message or entry.level_name == "WARNING":
            return []  # libxml2's follow-ups ("No precomputed value available")
        m = re.match(_ELEMENT, message)
        tag, attr = (m.group(1), m.group(2)) if m else (None, None)
        detail = message[m.end() :] if m else message
        if entry.type_name == "SCHEMAV_CVC_IDC" or "key-sequence" in detail:
            return self._identity(entry, tag, detail)
        el = self.by_path(entry.path)
        if el is None:
            el = self._by_line(tag, entry.line)
        if attr is not None:
            return self._attribute(el, tag or "", attr, detail)
        return [self._element(el, tag or "", detail)]

    def _by_line(self, tag: str | None, line: int) -> etree._Element:
        for el in self.checked.iter(tag or etree.Element):
            if el.sourceline == line:
                return self.original(el)
        return self.root

    def _element(self, el: etree._Element, tag: str, detail: str) -> SchemaError:
        raw = etree.QName(el).localname
        where = self.where(el)
        parent = el.getparent()
        ptag = canonical_tag(etree.QName(parent).localname) if parent is not None else None
        if detail.startswith("No matching global declaration"):
            return SchemaError(
                "E002", f"the root element is <{raw}>; a dialplan's root must be <dialplan>", el
            )
        if "is required but missing" in detail:
            m = re.search(r"attribute '([^']+)'", detail)
            name = m.group(1) if m else "?"
            return SchemaError("E020", f"{where}: <{raw}> needs attribute {name}", el)
        if "This element is not expected" in detail:
            return self._unexpected(el, tag, raw, ptag, where, detail)
        if detail.startswith("Missing child element(s)"):
            if tag == "amd":
                missing = _expected(detail) or "<live> or <machine>"
                return SchemaError(
                    "E006",
                    f"{where}: <amd> must contain exactly one <live> and one <machine>; "
                    f"missing {missing}",
                    el,
                )
            return SchemaError(SCHEMA_CODE, f"{where}: {_clean(detail)}", el)
        if "Character content other than whitespace" in detail:
            return SchemaError(
                "E011",
                f"{where}: text directly inside container <{raw}> (only child tags belong here)",
                el,
            )
        if "Element content is not allowed" in detail:
            return SchemaError(
                "E012",
                f"{where}: <{raw}> holds a text value; child elements are not allowed "
                "(write VTML markup entity-encoded)",
                el,
            )
        if "[facet 'minLength']" in detail:
            return SchemaError("E013", f"{where}: <{raw}> needs a value but is empty", el)
        if "[facet 'pattern']" in detail and "'\\s*'" in detail:
            text = " ".join("".join(el.itertext()).split())
            return SchemaError(
                SCHEMA_CODE, f"{where}: <{raw}> takes no value, found text {_quote(text)}", el
            )
        return SchemaError(SCHEMA_CODE, f"{where}: {_clean(detail)}", el)

    def _unexpected(
        self,
        el: etree._Element,
        tag: str,
        raw: str,
        parent: str | None,
        where: str,
        detail: str,
    ) -> SchemaError:
        inside = f"<{parent}>" if parent else "the document"
        if tag not in TAGS:
            return SchemaError("E003", f"{where}: unknown tag <{raw}>", el)
        spec = TAGS[tag]
        if parent == "amd":
            return SchemaError(
                "E006",
                f"{where}: <amd> must contain exactly one <live> and one <machine>; "
                f"<{raw}> is not allowed here",
                el,
            )
        if tag == "else" and parent == "if":
            return SchemaError("E009", f"{where}: more than one <else> in one <if>", el)
        if tag == "dialplan":
            return SchemaError("E005", f"{where}: <dialplan> may only be the root element", el)
        if spec.parents:
            allowed = " or ".join(f"<{p}>" for p in spec.parents)
            return SchemaError(
                "E005", f"{where}: <{raw}> may only appear inside {allowed}, not in {inside}", el
            )
        if tag == "menu" and parent == "menu":
            return SchemaError(
                "E005", f"{where}: <menu> cannot stand directly inside another <menu>", el
            )
        expected = _expected(detail)
        hint = f" (expected {expected})" if expected else ""
        return SchemaError(
            SCHEMA_CODE, f"{where}: <{raw}> is not allowed here in {inside}{hint}", el
        )

    def _attribute(
        self, el: etree._Element, tag: str, canon: str, detail: str
    ) -> list[SchemaError]:
        raw_attr = self.raw_attr(el, canon) or canon
        where = f"{self.where(el)}/@{raw_attr}"
        key = (self.where(el), canon)
        follow_up = "is not a valid value of the atomic type" in detail
        if follow_up and key in self._facet_failed:
            return []  # libxml2 repeats a facet failure as a type failure
        if detail.startswith("[facet"):
            self._facet_failed.add(key)
        value = _value(detail)
        shown = _quote(value) if value is not None else "this value"
        if (tag, canon) in _POSITIVE_ATTRS:
            msg = f"{where}: {shown} is not a positive integer"
            return [SchemaError("E022", msg, el, raw_attr)]
        if canon == "pressed":
            msg = (
                f"{where}: {shown} is not a keypress pattern (expected keys of 0-9 * #, "
                "a range lo-hi, default or timeout)"
            )
            return [SchemaError("E040", msg, el, raw_attr)]
        if tag == "catch" and canon == "value":
            msg = f"{where}: {shown} is not a single digit 0-9 or *"
            return [SchemaError("E023", msg, el, raw_attr)]
        if (tag, canon) in _ENUM_ATTRS or canon in _BOOLEAN_ATTRS:
            options = re.search(r"set \{(.*)\}", detail)
            allowed = options.group(1).replace("'", "") if options else "true, false"
            msg = f"{where}: {shown} is not one of {allowed}"
            return [SchemaError("E021", msg, el, raw_attr)]
        return [SchemaError(SCHEMA_CODE, f"{where}: {_clean(detail)}", el, raw_attr)]

    def _identity(self, entry: etree._LogEntry, tag: str | None, detail: str) -> list[SchemaError]:
        m = re.search(_KEY, detail)
        if m is None:
            el = self.by_path(entry.path) or self._by_line(tag, entry.line)
            return [SchemaError(SCHEMA_CODE, f"{self.where(el)}: {_clean(detail)}", el)]
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
            scope = at.getparent() if at is not None and _is(at, "keypress") else at
            pairs = [
                (c, o)
                for c, o in self.canonical_elements("keypress")
                if (c.get("pressed") or "").strip() == value
                and (scope is None or o.getparent() is scope)
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
            o
            for c, o in self.canonical_elements(target_tag)
            if c.sourceline == entry.line
            and " ".join(((c.text or "") if target_tag == "goto" else c.get("goto", "")).split())
            == value
        ]
        el = candidates[0] if candidates else self._by_line(target_tag, entry.line)
        code = "E032" if "${" in value else "E031"
        what = "goto target" if target_tag == "goto" else "catch goto"
        reason = "dynamic targets are not supported" if code == "E032" else "no node has that name"
        attr = self.raw_attr(el, "goto") if target_tag == "catch" else None
        return [SchemaError(code, f"{self.where(el)}: {what} {_quote(value)}: {reason}", el, attr)]

    def _duplicates(
        self,
        pairs: list[tuple[etree._Element, etree._Element]],
        canon: str,
        message: Callable[[etree._Element], str],
        code: str,
    ) -> list[SchemaError]:
        return [
            SchemaError(code, message(orig), orig, self.raw_attr(orig, canon))
            for _, orig in pairs[1:]
        ]


def _is(el: etree._Element, tag: str) -> bool:
    return canonical_tag(etree.QName(el).localname) == tag


def _expected(detail: str) -> str | None:
    m = re.search(_EXPECTED, detail)
    if not m:
        return None
    names = [n.strip() for n in m.group(1).split(",")]
    return ", ".join(f"<{n}>" for n in names)


def _value(detail: str) -> str | None:
    m = re.search(_VALUE, detail)
    if not m:
        return None
    return m.group(1) if m.group(1) is not None else m.group(2)


def _quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _clean(detail: str) -> str:
    return re.sub(_FACET, "", detail).rstrip(".")


__all__ = [
    "SCHEMA_CODE",
    "SchemaError",
    "compiled",
    "iter_errors",
    "normalise",
    "validate",
    "xsd_resource",
    "xsd_text",
]
