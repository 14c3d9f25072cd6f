"""``dialplan lsp``: the language server on standard input and output."""

from __future__ import annotations

import click


@click.command()
def lsp() -> None:
    """Run the language server (LSP over stdin/stdout) for editors: findings as you type, hover,
    completion, go to definition, references, rename, outline and quick fixes."""
    try:
        from ..lsp.server import main
    except ModuleNotFoundError as exc:  # pygls is a runtime dependency, but say so if missing
        raise click.ClickException(
            f"the language server needs {exc.name}: pip install pygls"
        ) from None
    main()
