"""Language server benchmark: diagnostics latency after a change to a 500-line dialplan.

    python -m tools.bench lsp [--json] [--quick]

A pygls client starts ``dialplan lsp`` over stdio, opens a generated dialplan of about 500 lines
(menus that jump to one another), then changes one prompt at a time and measures the wall time
from sending ``didChange`` to receiving the ``publishDiagnostics`` of that version. Target: the
median at most 50 ms.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Sequence

from tools.bench.common import ROOT, Figure, Report, cli, ensure_root_on_path, median

ensure_root_on_path()

TARGET_MS = 50.0


def plan_lines(lines: int = 500) -> str:
    """A dialplan of about ``lines`` lines: menus of seven lines chained by gotos."""
    menus = max(1, (lines - 3) // 7)
    parts = ['<dialplan name="Root">']
    for i in range(menus):
        nxt = f"m{i + 1}" if i + 1 < menus else "end"
        parts += [
            f'  <menu name="m{i}" maxDigits="1" timeout="3000">',
            f'    <play type="tts">Question {i}: press 1 or 2</play>',
            f'    <keypress pressed="1"><stash varname="q{i}">yes</stash><goto>{nxt}</goto></keypress>',
            f'    <keypress pressed="2"><stash varname="q{i}">no</stash><goto>{nxt}</goto></keypress>',
            f'    <keypress pressed="timeout"><goto>{nxt}</goto></keypress>',
            "  </menu>",
            "",
        ]
    parts += ['  <play type="tts" name="end">Thank you</play>', "  <hangup/>", "</dialplan>"]
    return "\n".join(parts) + "\n"


async def _measure(changes: int) -> tuple[list[float], int]:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("dialplan-bench", "1")
    got: asyncio.Queue[types.PublishDiagnosticsParams] = asyncio.Queue()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        got.put_nowait(params)

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    await client.start_io(sys.executable, "-m", "dialplan", "lsp", env=env, cwd=str(ROOT))
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    uri = "file:///bench/plan.xml"
    text = plan_lines()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "xml", 0, text))
    )
    await asyncio.wait_for(got.get(), 60)
    timings = []
    for version in range(1, changes + 1):
        new = text.replace("Question 0:", f"Question 0 (edit {version}):")
        t0 = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                [types.TextDocumentContentChangeWholeDocument(new)],
            )
        )
        while (await asyncio.wait_for(got.get(), 60)).version != version:
            pass
        timings.append(1000 * (time.perf_counter() - t0))
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return timings, text.count("\n")


def run(quick: bool = False) -> Report:
    changes = 10 if quick else 40
    timings, lines = asyncio.run(_measure(changes))
    ordered = sorted(timings)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    mid = median(timings)
    figures = [
        Figure(
            f"diagnostics after a change, {lines}-line dialplan (median wall)",
            mid,
            "ms",
            f"<= {TARGET_MS:g} ms",
            mid <= TARGET_MS,
            note=f"p90 {p90:.0f} ms, min {ordered[0]:.0f} ms, {changes} changes",
        )
    ]
    return Report(
        "lsp",
        figures,
        command="python -m tools.bench lsp" + (" --quick" if quick else ""),
        details={"lines": lines, "timings_ms": [round(t, 1) for t in timings]},
    )


def main(argv: Sequence[str] | None = None) -> int:
    return cli("lsp", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
