"""The lint cache: each file's findings keyed by its content, its configuration and the version.

One JSON file per cache folder (``lint-<version>.json``), read once and written once per run
(atomically, by renaming a temporary file), so a warm run costs a hash per file. The folder holds a
``.gitignore`` of ``*`` so it is never committed.
"""

from __future__ import annotations

import json
import os
from _blake2 import blake2b  # hashlib's own blake2b, without importing OpenSSL (3 ms)
from pathlib import Path

from .._version import __version__
from ..diagnostics import Diagnostic, Severity
from .config import LintConfig

#: Entries kept from earlier runs beyond those used in this one.
MAX_ENTRIES = 200_000
DEFAULT_DIR = ".dialplan_cache"

_Row = list[object]


class LintCache:
    """Findings by key; :meth:`save` writes what this run used or added."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / f"lint-{__version__}.json"
        self._old: dict[str, list[_Row]] = {}
        self._new: dict[str, list[_Row]] = {}
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self._old = loaded
        except (OSError, ValueError):
            pass  # no cache yet, or a damaged one: start afresh

    @staticmethod
    def key(data: bytes, config: LintConfig) -> str:
        digest = blake2b(data, digest_size=16)
        digest.update(b"\0" + config.fingerprint().encode() + b"\0" + __version__.encode())
        return digest.hexdigest()

    def get(self, key: str, file: str) -> list[Diagnostic] | None:
        rows = self._new.get(key)
        if rows is None:
            rows = self._old.get(key)
            if rows is None:
                return None
            self._new[key] = rows
        try:
            return [
                Diagnostic(str(c), str(r), str(m), int(ln), int(col), file, Severity(int(sev)))  # type: ignore[call-overload]
                for c, r, m, ln, col, sev in rows
            ]
        except (TypeError, ValueError):
            return None

    def put(self, key: str, diags: list[Diagnostic]) -> None:
        self._new[key] = [
            [d.code, d.rule, d.message, d.line, d.column, int(d.severity)] for d in diags
        ]

    def save(self) -> None:
        """Write the cache (silently skipped when the folder cannot be written)."""
        entries = dict(self._new)
        for key, rows in self._old.items():
            if len(entries) >= MAX_ENTRIES:
                break
            entries.setdefault(key, rows)
        if entries == self._old:
            return
        import tempfile  # only when writing (start-up time)

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# created by dialplan lint\n*\n", encoding="utf-8")
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".lint-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(entries, out, separators=(",", ":"))
            os.replace(tmp, self.path)
        except OSError:
            pass
