"""``dialplan lsp`` through its protocol: a pygls client talks to the real server over stdio."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pygls")

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parents[2]

PLAN = """<dialplan name="Root">
  <menu name="Main" maxdigits="1" timeout="3000">
    <play type="tts">Press 1</play>
    <keypress pressed="1"><goto>Bye</goto></keypress>
    <keypress pressed="timeout"><goto>Main</goto></keypress>
  </menu>
  <play type="tts" name="Bye">Goodbye</play>
  <hangup/>
</dialplan>
"""


class Session:
    """A started client with the diagnostics the server published, per document version."""

    def __init__(self) -> None:
        self.client = LanguageClient("dialplan-test", "1")
        self.published: asyncio.Queue[types.PublishDiagnosticsParams] = asyncio.Queue()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.published.put_nowait(params)

    async def start(self, cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        await self.client.start_io(sys.executable, "-m", "dialplan", "lsp", env=env, cwd=cwd)
        await self.client.initialize_async(
            types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=cwd.as_uri())
        )
        self.client.initialized(types.InitializedParams())

    async def diagnostics(self) -> types.PublishDiagnosticsParams:
        return await asyncio.wait_for(self.published.get(), 30)

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()


def run(tmp_path: Path, body: Callable[[Session, str], Awaitable[None]]) -> None:
    async def main() -> None:
        session = Session()
        await session.start(tmp_path)
        try:
            uri = (tmp_path / "plan.xml").as_uri()
            await asyncio.wait_for(body(session, uri), 60)
        finally:
            await asyncio.wait_for(session.stop(), 10)

    asyncio.run(main())


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri)


def pos(text: str, needle: str, delta: int = 0) -> types.Position:
    offset = text.index(needle) + delta
    line = text.count("\n", 0, offset)
    return types.Position(line, offset - (text.rfind("\n", 0, offset) + 1))


def test_open_change_diagnostics_and_quick_fix(tmp_path: Path) -> None:
    (tmp_path / "dialplan.toml").write_text('[lint]\nignore = ["W072"]\n')

    async def body(s: Session, uri: str) -> None:
        s.client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "xml", 1, PLAN))
        )
        first = await s.diagnostics()
        assert first.version == 1
        assert [
            (d.code, d.range.start.line, d.range.start.character) for d in first.diagnostics
        ] == [("W024", 1, 20)]  # W072 is ignored by the dialplan.toml next to the file
        assert first.diagnostics[0].range.end.character == 29  # under "maxdigits"
        changed = PLAN.replace("<goto>Bye</goto>", "<goto>Byee</goto>")
        s.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=2, uri=uri),
                [types.TextDocumentContentChangeWholeDocument(changed)],
            )
        )
        second = await s.diagnostics()
        assert second.version == 2
        assert {d.code for d in second.diagnostics} == {"W024", "E031"}
        actions = await s.client.text_document_code_action_async(
            types.CodeActionParams(
                doc(uri),
                types.Range(types.Position(1, 0), types.Position(1, 40)),
                types.CodeActionContext(diagnostics=[]),
            )
        )
        assert actions is not None and len(actions) == 1
        action = actions[0]
        assert isinstance(action, types.CodeAction) and action.edit and action.edit.changes
        (edit,) = action.edit.changes[uri]
        assert edit.new_text == "maxDigits" and edit.range.start == types.Position(1, 20)

    run(tmp_path, body)


def test_hover_completion_definition_references_rename_outline(tmp_path: Path) -> None:
    async def body(s: Session, uri: str) -> None:
        s.client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "xml", 1, PLAN))
        )
        await s.diagnostics()
        hover = await s.client.text_document_hover_async(
            types.HoverParams(doc(uri), pos(PLAN, "menu name", 1))
        )
        assert hover is not None and "**<menu>**" in str(hover.contents)
        hover = await s.client.text_document_hover_async(
            types.HoverParams(doc(uri), pos(PLAN, "maxdigits", 2))
        )
        assert hover is not None and "W024 unknown-attribute" in str(hover.contents)

        async def labels(position: types.Position, text: str | None = None) -> list[str]:
            if text is not None:
                s.client.text_document_did_change(
                    types.DidChangeTextDocumentParams(
                        types.VersionedTextDocumentIdentifier(version=9, uri=uri),
                        [types.TextDocumentContentChangeWholeDocument(text)],
                    )
                )
                await s.diagnostics()
            found: Any = await s.client.text_document_completion_async(
                types.CompletionParams(doc(uri), position)
            )
            return [item.label for item in found.items]

        assert "menu" in await labels(pos(PLAN, "<play", 1))  # tag names after "<"
        assert "maxDigits" in await labels(pos(PLAN, 'timeout="3000"'))  # attributes
        assert await labels(pos(PLAN, 'tts">Press', 0)) == ["tts", "url", "callfireid"]
        assert await labels(pos(PLAN, "Bye</goto>")) == ["Root", "Main", "Bye"]  # goto targets

        definition: Any = await s.client.text_document_definition_async(
            types.DefinitionParams(doc(uri), pos(PLAN, "Bye</goto>", 1))
        )
        assert definition.range.start == pos(PLAN, 'Bye">Goodbye')
        refs = await s.client.text_document_references_async(
            types.ReferenceParams(
                text_document=doc(uri),
                position=pos(PLAN, "Main</goto>"),
                context=types.ReferenceContext(include_declaration=True),
            )
        )
        assert refs is not None and [r.range.start for r in refs] == [
            pos(PLAN, 'Main" maxdigits'),
            pos(PLAN, "Main</goto>"),
        ]
        renamed = await s.client.text_document_rename_async(
            types.RenameParams(
                text_document=doc(uri), position=pos(PLAN, 'Main" maxdigits'), new_name="Start"
            )
        )
        assert renamed is not None and renamed.changes is not None
        assert sorted((e.range.start.line, e.new_text) for e in renamed.changes[uri]) == [
            (1, "Start"),
            (4, "Start"),
        ]
        outline: Any = await s.client.text_document_document_symbol_async(
            types.DocumentSymbolParams(doc(uri))
        )
        assert [(sym.name, sym.detail) for sym in outline] == [
            ("Root", "<dialplan>"),
            ("Main", "<menu>"),
            ("Bye", "<play>"),
        ]

    run(tmp_path, body)
