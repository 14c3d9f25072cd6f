"""Lint configuration: code selection, strictness, excludes; from pyproject.toml or a file."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import UsageError


@dataclass(frozen=True, slots=True)
class LintConfig:
    """``select``/``ignore`` hold code prefixes (``E``, ``W06``, ``E041``); empty select = all."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    strict: bool = False
    exclude: tuple[str, ...] = ()
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str | None = None

    def enabled(self, code: str) -> bool:
        """Whether ``code`` is reported: the longest matching prefix decides (ruff-style)."""
        return _enabled(tuple(self.select), tuple(self.ignore), code)

    def excluded(self, path: Path) -> bool:
        text = path.as_posix()
        return any(
            fnmatch.fnmatch(text, pat) or fnmatch.fnmatch(path.name, pat) for pat in self.exclude
        )

    def merged(
        self,
        select: Iterable[str] | None = None,
        ignore: Iterable[str] | None = None,
        strict: bool | None = None,
    ) -> LintConfig:
        """Command-line options on top of file options (select replaces, ignore extends)."""
        cfg = self
        if select:
            cfg = replace(cfg, select=tuple(select))
        if ignore:
            cfg = replace(cfg, ignore=cfg.ignore + tuple(ignore))
        if strict is not None:
            cfg = replace(cfg, strict=strict)
        return cfg


@lru_cache(maxsize=4096)  # asked for every rule of every file: remember the few answers
def _enabled(select: tuple[str, ...], ignore: tuple[str, ...], code: str) -> bool:
    if select:
        chosen = max((len(p) for p in select if code.startswith(p)), default=-1)
        if chosen < 0:
            return False
    else:
        chosen = 0
    ignored = max((len(p) for p in ignore if code.startswith(p)), default=-1)
    return ignored < chosen or ignored < 0


def split_codes(values: Iterable[str]) -> list[str]:
    """``["E,W06", "I"]`` → ``["E", "W06", "I"]`` (upper-cased, validated)."""
    out: list[str] = []
    for value in values:
        for item in value.split(","):
            item = item.strip().upper()
            if not item:
                continue
            if item[0] not in "EWI" or (item[1:] and not item[1:].isalnum()):
                raise UsageError(f"not a rule code or prefix: {item!r}")
            out.append(item)
    return out


def _from_table(table: Mapping[str, Any], source: str) -> LintConfig:
    known = {"select", "ignore", "strict", "exclude", "rules"}
    unknown = set(table) - known
    if unknown:
        raise UsageError(f"{source}: unknown lint setting(s): {', '.join(sorted(unknown))}")

    def codes(key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"{source}: '{key}' must be a list of codes")
        return tuple(split_codes(value))

    strict = table.get("strict", False)
    if not isinstance(strict, bool):
        raise UsageError(f"{source}: 'strict' must be true or false")
    exclude = table.get("exclude", [])
    if not isinstance(exclude, list):
        raise UsageError(f"{source}: 'exclude' must be a list of globs")
    rules = table.get("rules", {})
    if not isinstance(rules, dict):
        raise UsageError(f"{source}: 'rules' must be a table of rule options")
    return LintConfig(codes("select"), codes("ignore"), strict, tuple(exclude), rules, source)


def load_config(path: str | Path) -> LintConfig:
    """Read ``[tool.dialplan.lint]`` (pyproject.toml) or a top-level/``[lint]`` table."""
    import tomllib  # lazily: most runs read no config (start-up time)

    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read config {p}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{p}: invalid TOML: {exc}") from None
    table = data.get("tool", {}).get("dialplan", {}) if p.name == "pyproject.toml" else data
    table = table.get("lint", table) if isinstance(table, dict) else {}
    return _from_table(table, str(p))


#: What any spelling of a ``tool.dialplan`` table needs: ``[tool.dialplan…]`` or a dotted
#: ``tool.dialplan`` key (spaces and quotes allowed), a ``[tool]`` table, or ``tool = {…}``.
_MAYBE_TOOL_DIALPLAN = re.compile(r"""\btool["']?[ \t]*(?:\.[ \t]*["']?dialplan|\]|=)""")


def discover_config(start: Path) -> LintConfig:
    """The nearest pyproject.toml with a ``[tool.dialplan]`` table, searching upwards."""
    here = start.resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if not _MAYBE_TOOL_DIALPLAN.search(text):
                continue  # cannot have a [tool.dialplan] table: skip parsing the TOML
            import tomllib

            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError:
                continue
            if "dialplan" in data.get("tool", {}):
                return load_config(candidate)
    return LintConfig()
