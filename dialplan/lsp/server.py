"""The pygls wiring of ``dialplan lsp``: protocol messages in, :mod:`.analysis` answers out.

Positions: LSP lines are 0-based and characters count UTF-16 code units; ours count characters,
which agree for every character outside the astral planes (dialplans in the corpus have none).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from .._version import __version__
from ..diagnostics import Diagnostic, Severity
from ..lint.formatters import token_span
from . import analysis

server = LanguageServer("dialplan", __version__)

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}
_KIND = {
    "tag": types.CompletionItemKind.Class,
    "attribute": types.CompletionItemKind.Property,
    "value": types.CompletionItemKind.EnumMember,
    "name": types.CompletionItemKind.Reference,
}
#: The last findings of each open document (hover shows their rule documentation).
_findings: dict[str, list[Diagnostic]] = {}


def _path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def _text(ls: LanguageServer, uri: str) -> str:
    return ls.workspace.get_text_document(uri).source


def _offset(text: str, pos: types.Position) -> int:
    start = 0
    for _ in range(pos.line):
        nl = text.find("\n", start)
        if nl < 0:
            return len(text)
        start = nl + 1
    return min(start + pos.character, len(text))


def _position(text: str, offset: int) -> types.Position:
    line = text.count("\n", 0, offset)
    return types.Position(line, offset - (text.rfind("\n", 0, offset) + 1))


def _range(text: str, start: int, end: int) -> types.Range:
    return types.Range(_position(text, start), _position(text, end))


def to_lsp(text: str, d: Diagnostic) -> types.Diagnostic:
    lines = text.splitlines()
    line = lines[d.line - 1] if 0 < d.line <= len(lines) else ""
    start, end = token_span(line, d.column)
    return types.Diagnostic(
        range=types.Range(types.Position(d.line - 1, start), types.Position(d.line - 1, end)),
        message=d.message,
        severity=_SEVERITY[d.severity],
        code=d.code,
        source="dialplan",
    )


def publish(ls: LanguageServer, uri: str, version: int | None = None) -> None:
    text = _text(ls, uri)
    path = _path(uri)
    diags = analysis.lint_text(text, str(path) if path else uri, path)
    _findings[uri] = diags
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(
            uri=uri, version=version, diagnostics=[to_lsp(text, d) for d in diags]
        )
    )


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    publish(ls, params.text_document.uri, params.text_document.version)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    publish(ls, params.text_document.uri, params.text_document.version)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: LanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    publish(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: LanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    _findings.pop(uri, None)
    path = _path(uri)
    analysis.forget(str(path) if path else uri)
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
    )


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: LanguageServer, params: types.HoverParams) -> types.Hover | None:
    text = _text(ls, params.text_document.uri)
    found = analysis.hover(
        text,
        _offset(text, params.position),
        _findings.get(params.text_document.uri, []),
        params.position.line + 1,
    )
    if found is None:
        return None
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, found))


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=["<", " ", '"', "'", ">"]),
)
def completion(ls: LanguageServer, params: types.CompletionParams) -> types.CompletionList:
    text = _text(ls, params.text_document.uri)
    items = [
        types.CompletionItem(label=label, kind=_KIND[kind])
        for label, kind in analysis.completions(text, _offset(text, params.position))
    ]
    return types.CompletionList(is_incomplete=False, items=items)


def _name_here(ls: LanguageServer, uri: str, pos: types.Position) -> tuple[str, str | None]:
    text = _text(ls, uri)
    return text, analysis.name_at(text, _offset(text, pos))


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: LanguageServer, params: types.DefinitionParams) -> types.Location | None:
    text, name = _name_here(ls, params.text_document.uri, params.position)
    span = analysis.definition(text, name) if name is not None else None
    if span is None:
        return None
    return types.Location(params.text_document.uri, _range(text, span.start, span.end))


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def references(ls: LanguageServer, params: types.ReferenceParams) -> list[types.Location]:
    text, name = _name_here(ls, params.text_document.uri, params.position)
    if name is None:
        return []
    spans = analysis.references(text, name, params.context.include_declaration)
    return [types.Location(params.text_document.uri, _range(text, s.start, s.end)) for s in spans]


@server.feature(types.TEXT_DOCUMENT_RENAME)
def rename(ls: LanguageServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
    text, name = _name_here(ls, params.text_document.uri, params.position)
    if name is None:
        return None
    edits = [
        types.TextEdit(_range(text, s.start, s.end), params.new_name)
        for s in analysis.references(text, name)
    ]
    return types.WorkspaceEdit(changes={params.text_document.uri: edits})


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbols(
    ls: LanguageServer, params: types.DocumentSymbolParams
) -> list[types.DocumentSymbol]:
    text = _text(ls, params.text_document.uri)
    out = []
    for named in analysis.symbols(text):
        end = text.find(">", named.span.end)
        whole = _range(text, named.tag_start, end + 1 if end >= 0 else named.span.end)
        out.append(
            types.DocumentSymbol(
                name=named.name,
                detail=f"<{named.tag}>",
                kind=types.SymbolKind.Module if named.tag == "menu" else types.SymbolKind.Field,
                range=whole,
                selection_range=_range(text, named.span.start, named.span.end),
            )
        )
    return out


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
def code_actions(ls: LanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    text = _text(ls, uri)
    path = _path(uri)
    first, last = params.range.start.line + 1, params.range.end.line + 1
    actions = []
    for d, edits in analysis.fixes(text, str(path) if path else uri, path):
        if not first <= d.line <= last:
            continue
        actions.append(
            types.CodeAction(
                title=f"Fix {d.code}: {d.message}",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[to_lsp(text, d)],
                edit=types.WorkspaceEdit(
                    changes={uri: [types.TextEdit(_range(text, s, e), new) for s, e, new in edits]}
                ),
            )
        )
    return actions


def main() -> None:
    server.start_io()
