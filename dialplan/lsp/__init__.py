"""The language server (``dialplan lsp``): lint findings, hover, completion and names in editors."""
