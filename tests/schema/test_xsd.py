"""The XSD itself: XML Schema 1.0 that two validators accept, packaged, in step with the tag table."""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest
from lxml import etree

from dialplan import schema, validate
from dialplan.model.tags import TAGS as ALL_TAGS
from dialplan.model.tags import YAML_ONLY_TAGS
from dialplan.parse import parse_any
from tests.conftest import ROOT, corpus_files

#: the XML language's tags (the Callr YAML front-end's own tags are not XML: docs/callr-yaml.md)
TAGS = {tag: spec for tag, spec in ALL_TAGS.items() if tag not in YAML_ONLY_TAGS}
XSD = ROOT / "xsd" / "dialplan.xsd"
XS = "{http://www.w3.org/2001/XMLSchema}"
#: Corpus files the spec rejects (see PROVENANCE.md): file name → (code, line).
KNOWN_DEFECTS = {"SimpleTransfer2.xml": ("E041", 12)}


def _xsd() -> etree._Element:
    return etree.parse(str(XSD)).getroot()


def _declarations() -> dict[str, list[etree._Element]]:
    """Every element declaration in the XSD by name (local declarations included)."""
    found: dict[str, list[etree._Element]] = {}
    for decl in _xsd().iter(f"{XS}element"):
        found.setdefault(decl.get("name"), []).append(decl)
    return found


def _complex_type(decl: etree._Element) -> etree._Element:
    inline = decl.find(f"{XS}complexType")
    if inline is not None:
        return inline
    name = decl.get("type")
    (found,) = _xsd().xpath("xs:complexType[@name=$n]", namespaces={"xs": XS[1:-1]}, n=name)
    return found


def _attributes(ctype: etree._Element) -> dict[str, bool]:
    """Declared attributes of a complex type (through extension bases) → required?"""
    attrs: dict[str, bool] = {}
    for ext in ctype.iter(f"{XS}extension"):
        base = ext.get("base")
        if not base.startswith("xs:"):
            matches = _xsd().xpath("xs:complexType[@name=$n]", namespaces={"xs": XS[1:-1]}, n=base)
            for m in matches:
                attrs.update(_attributes(m))
    for attr in ctype.iter(f"{XS}attribute"):
        attrs[attr.get("name")] = attr.get("use") == "required"
    return attrs


def test_xsd_is_valid_xml_schema_for_libxml2_and_xmlschema() -> None:
    import xmlschema

    etree.XMLSchema(etree.parse(str(XSD)))
    xmlschema.XMLSchema10(str(XSD))


def test_packaged_copy_is_a_relative_link_to_the_canonical_file() -> None:
    link = ROOT / "dialplan" / "data" / "dialplan.xsd"
    assert link.is_symlink()
    assert not os.path.isabs(os.readlink(link))
    packaged = resources.files("dialplan") / "data" / "dialplan.xsd"
    assert packaged.read_bytes() == XSD.read_bytes()
    assert schema.xsd_text() == XSD.read_text(encoding="utf-8")


def test_schema_is_compiled_once() -> None:
    assert schema.compiled() is schema.compiled()


def test_only_dialplan_is_a_global_element() -> None:
    assert [e.get("name") for e in _xsd().findall(f"{XS}element")] == ["dialplan"]


@pytest.mark.parametrize("tag", sorted(TAGS))
def test_every_tag_of_the_vocabulary_is_declared_with_its_attributes(tag: str) -> None:
    spec = TAGS[tag]
    decls = _declarations().get(tag)
    assert decls, f"<{tag}> is not declared"
    for decl in decls:
        ctype = _complex_type(decl)
        assert _attributes(ctype) == spec.attrs
        simple = ctype.find(f"{XS}simpleContent") is not None
        assert simple is not spec.container, f"<{tag}> container={spec.container}"


def test_restricted_parents_are_only_declared_in_their_parent() -> None:
    parents = {
        "keypress": {"menu"},
        "live": {"amd"},
        "machine": {"amd"},
        "else": {"if"},
    }
    for tag, expected in parents.items():
        owners = set()
        for decl in _declarations()[tag]:
            owner = next(a for a in decl.iterancestors(f"{XS}complexType"))
            owners.add(owner.get("name"))
        assert owners == expected, tag


def test_no_element_is_declared_without_a_tag_spec() -> None:
    assert set(_declarations()) == set(TAGS)


def test_the_yaml_front_ends_tags_are_not_xml() -> None:
    assert {"script", "runvars", "fetch", "log"} == YAML_ONLY_TAGS
    assert not YAML_ONLY_TAGS & set(_declarations())


def _corpus() -> list[Path]:
    files = corpus_files()
    if not files:
        pytest.skip("shared corpus not available")
    return files


def test_every_spec_valid_corpus_file_validates() -> None:
    for path in _corpus():
        found = [(d.code, d.line) for d in validate.schema_errors(parse_any(path))]
        expected = [KNOWN_DEFECTS[path.name]] if path.name in KNOWN_DEFECTS else []
        assert found == expected, path


def _normalised_copies(tmp_path: Path) -> list[Path]:
    out = []
    for i, path in enumerate(_corpus()):
        target = tmp_path / f"{i:03d}-{path.name}"
        root = schema.normalise(parse_any(path).root)
        target.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
        out.append(target)
    return out


@pytest.mark.skipif(shutil.which("xmllint") is None, reason="xmllint not installed")
def test_xmllint_agrees_on_the_normalised_corpus(tmp_path: Path) -> None:
    files = _normalised_copies(tmp_path)
    proc = subprocess.run(
        ["xmllint", "--noout", "--schema", str(XSD), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    failing = {
        Path(line.rsplit(" fails to validate", 1)[0]).name.split("-", 1)[1]
        for line in proc.stderr.splitlines()
        if line.endswith("fails to validate")
    }
    assert failing == set(KNOWN_DEFECTS)
    assert proc.stderr.count("validates") == len(files) - len(KNOWN_DEFECTS)


def test_xmlschema_agrees_on_the_normalised_corpus(tmp_path: Path) -> None:
    import xmlschema

    xsd = xmlschema.XMLSchema10(str(XSD))
    failing = {
        p.name.split("-", 1)[1] for p in _normalised_copies(tmp_path) if not xsd.is_valid(str(p))
    }
    assert failing == set(KNOWN_DEFECTS)
