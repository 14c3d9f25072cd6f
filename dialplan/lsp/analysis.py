"""What the language server knows about one open document, computed from its text alone.

Plain functions over the text (no protocol types): names and jumps found with tolerant regular
expressions (they keep working while the document is half typed and not well-formed), the
cursor's context for completion and hover, and the lint findings and fixes. Offsets are
0-based character offsets into the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import Diagnostic
from ..lint.config import ConfigFinder, LintConfig
from ..model.tags import TAGS

_NAME_ATTR = re.compile(r"""<([A-Za-z][\w-]*)\b[^<>]*?\sname\s*=\s*(["'])([^"'<>]*)\2""")
_GOTO_TEXT = re.compile(r"<goto\b[^<>]*>(\s*)([^<]*?)\s*</goto>")
_GOTO_ATTR = re.compile(r"""<catch\b[^<>]*?\sgoto\s*=\s*(["'])([^"'<>]*)\1""")
_TAG_START = re.compile(r"<([A-Za-z][\w-]*)")
_ATTR_VALUE_OPEN = re.compile(r"""([\w-]+)\s*=\s*(["'])([^"']*)$""")


@dataclass(frozen=True, slots=True)
class Span:
    """``text[start:end]``."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Named:
    name: str
    tag: str
    span: Span  # the name attribute's value
    tag_start: int


def names(text: str) -> list[Named]:
    """Every ``name="…"`` of a tag, in document order."""
    return [
        Named(m.group(3), m.group(1), Span(m.start(3), m.end(3)), m.start())
        for m in _NAME_ATTR.finditer(text)
    ]


def jumps(text: str) -> list[tuple[str, Span]]:
    """Every jump target written in the document: ``<goto>X</goto>`` and ``catch@goto``."""
    found = [(m.group(2), Span(m.start(2), m.end(2))) for m in _GOTO_TEXT.finditer(text)]
    found += [(m.group(2), Span(m.start(2), m.end(2))) for m in _GOTO_ATTR.finditer(text)]
    return sorted(found, key=lambda item: item[1].start)


def name_at(text: str, offset: int) -> str | None:
    """The name under the cursor: in a ``name`` attribute or a jump target."""
    for named in names(text):
        if named.span.start <= offset <= named.span.end:
            return named.name
    for target, span in jumps(text):
        if span.start <= offset <= span.end:
            return target
    return None


def definition(text: str, name: str) -> Span | None:
    return next((n.span for n in names(text) if n.name == name), None)


def references(text: str, name: str, declaration: bool = True) -> list[Span]:
    found = [span for target, span in jumps(text) if target == name]
    if declaration:
        found += [n.span for n in names(text) if n.name == name]
    return sorted(found, key=lambda s: s.start)


@dataclass(frozen=True, slots=True)
class Context:
    """Where the cursor is: ``kind`` is tag, attribute, value, goto or text."""

    kind: str
    tag: str | None = None
    attr: str | None = None
    prefix: str = ""


def context_at(text: str, offset: int) -> Context:
    before = text[:offset]
    lt, gt = before.rfind("<"), before.rfind(">")
    if lt > gt:
        segment = before[lt:]
        m = re.fullmatch(r"</?([\w-]*)", segment)
        if m:
            return Context("tag", prefix=m.group(1))
        tag = _TAG_START.match(segment)
        name = tag.group(1) if tag else None
        value = _ATTR_VALUE_OPEN.search(segment)
        if value and segment.count(value.group(2)) % 2 == 1:
            return Context("value", name, value.group(1), value.group(3))
        attr = re.search(r"\s([\w-]*)$", segment)
        return Context("attribute", name, prefix=attr.group(1) if attr else "")
    goto = re.search(r"<goto\b[^<>]*>\s*([^<]*)$", before)
    if goto:
        return Context("goto", "goto", prefix=goto.group(1))
    return Context("text")


def enumerations() -> dict[tuple[str, str], tuple[str, ...]]:
    """Enumerated attribute values by (tag, attribute): the rule E021 checks the same table."""
    from ..lint.rules.attributes import _ENUMS  # the one source of the allowed values

    return dict(_ENUMS)


def tag_doc(tag: str) -> str | None:
    spec = TAGS.get(tag)
    if spec is None:
        return None
    kind = "container (holds tags)" if spec.container else "holds a text value"
    lines = [f"**<{tag}>** — {kind}" + ("" if spec.documented else "; undocumented, SDK-only")]
    attrs = ", ".join(f"`{a}`" + (" (required)" if req else "") for a, req in spec.attrs.items())
    lines.append(f"Attributes: {attrs or 'none'}")
    if spec.parents is not None:
        where = ", ".join(f"<{p}>" for p in spec.parents) or "the document root"
        lines.append(f"Stands in: {where}")
    if spec.forbidden_parents:
        lines.append("Not directly in: " + ", ".join(f"<{p}>" for p in spec.forbidden_parents))
    if spec.needs_line:
        lines.append("Needs the phone line: skipped after the caller hung up.")
    return "\n\n".join(lines)


def attribute_doc(tag: str, attr: str) -> str | None:
    spec = TAGS.get(tag)
    if spec is None or attr not in spec.attrs:
        return None
    required = "required" if spec.attrs[attr] else "optional"
    text = f"**{attr}** of <{tag}> — {required}"
    values = enumerations().get((tag, attr))
    if values:
        text += "\n\nValues: " + ", ".join(f"`{v}`" for v in values)
    return text


def rule_doc(code: str) -> str | None:
    from ..lint.registry import PIPELINE_CODES, all_rules

    rule = all_rules().get(code)
    if rule is not None:
        return f"**{rule.code} {rule.name}** ({rule.severity.label})\n\n{rule.doc}"
    if code in PIPELINE_CODES:
        name, text = PIPELINE_CODES[code]
        return f"**{code} {name}**\n\n{text}"
    return None


def word_at(text: str, offset: int) -> Span:
    start = offset
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "-_"):
        start -= 1
    end = offset
    while end < len(text) and (text[end].isalnum() or text[end] in "-_"):
        end += 1
    return Span(start, end)


def hover(text: str, offset: int, diags: list[Diagnostic], line_of: int) -> str | None:
    """Documentation for the tag or attribute under the cursor, and for findings on its line."""
    parts: list[str] = []
    span = word_at(text, offset)
    word = text[span.start : span.end]
    if word:
        if span.start > 0 and text[span.start - 1] in "</":
            doc = tag_doc(word)
        else:
            ctx = context_at(text, span.start)
            doc = attribute_doc(ctx.tag, word) if ctx.kind == "attribute" and ctx.tag else None
        if doc:
            parts.append(doc)
    for code in dict.fromkeys(d.code for d in diags if d.line == line_of):
        doc = rule_doc(code)
        if doc:
            parts.append(doc)
    return "\n\n---\n\n".join(parts) or None


def completions(text: str, offset: int) -> list[tuple[str, str]]:
    """(label, kind) pairs for the cursor: kind is tag, attribute, value or name."""
    ctx = context_at(text, offset)
    if ctx.kind == "tag":
        return [(t, "tag") for t, spec in TAGS.items() if spec.documented]
    if ctx.kind == "attribute" and ctx.tag in TAGS:
        return [(a, "attribute") for a in TAGS[ctx.tag].attrs]
    if ctx.kind == "value" and ctx.tag and ctx.attr:
        if ctx.tag == "catch" and ctx.attr == "goto":
            return [(n, "name") for n in dict.fromkeys(x.name for x in names(text))]
        return [(v, "value") for v in enumerations().get((ctx.tag, ctx.attr), ())]
    if ctx.kind == "goto":
        return [(n, "name") for n in dict.fromkeys(x.name for x in names(text))]
    return []


def symbols(text: str) -> list[Named]:
    """The outline: menus and every named tag."""
    return names(text)


_FINDER = ConfigFinder()


def config_for(path: Path | None) -> LintConfig:
    if path is None:
        return LintConfig()
    try:
        return _FINDER.for_file(path).for_file(path)
    except Exception:  # a broken config must not take the editor's diagnostics down
        return LintConfig()


#: The last lint of each document: (text, configuration, findings). Saving, undoing back to a
#: linted text or reopening a file publishes the same findings without linting again; any
#: change of the text or of the configuration that applies to it lints afresh.
_last: dict[str, tuple[str, LintConfig, list[Diagnostic]]] = {}


def lint_text(text: str, name: str, path: Path | None) -> list[Diagnostic]:
    from ..lint.linter import lint_source

    config = config_for(path)
    last = _last.get(name)
    if last is not None and last[0] == text and last[1] == config:
        return last[2]
    found = lint_source(text.encode("utf-8"), name, config)
    _last[name] = (text, config, found)
    return found


def forget(name: str) -> None:
    """Drop what is kept about a closed document."""
    _last.pop(name, None)


def fixes(
    text: str, name: str, path: Path | None
) -> list[tuple[Diagnostic, list[tuple[int, int, str]]]]:
    """The certain repairs of the current findings: (finding, [(start, end, new text)])."""
    from ..lint.fixes import edits_for
    from ..lint.linter import lint_document
    from ..parse import ParseFailure, parse, read_source

    try:
        doc = parse(read_source(text.encode("utf-8"), name))
    except ParseFailure:
        return []
    config = config_for(path)
    return [
        (d, [(e.start, e.end, e.new) for e in edits])
        for d, edits in edits_for(doc, lint_document(doc, config))
    ]
