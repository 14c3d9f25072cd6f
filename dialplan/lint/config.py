"""Lint configuration: code selection, strictness, excludes; from pyproject.toml or a file.

Settings (``[tool.dialplan.lint]`` of a pyproject.toml, ``[lint]`` of a dialplan.toml, or the
same table in a file given with ``--config``): ``select``, ``extend-select``, ``ignore``,
``per-file-ignores``, ``strict``, ``exclude``, ``cache-dir``, ``rules``. Without ``--config``
each file is linted with the nearest configuration above it (:class:`ConfigFinder`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import UsageError

#: Every setting of the lint table (ruff's kebab-case spellings).
SETTINGS = (
    "select",
    "extend-select",
    "ignore",
    "per-file-ignores",
    "strict",
    "exclude",
    "cache-dir",
    "rules",
)
#: Config file names, in the order they win when both sit in one folder.
CONFIG_NAMES = ("dialplan.toml", "pyproject.toml")


@dataclass(frozen=True, slots=True)
class LintConfig:
    """``select``/``ignore`` hold code prefixes (``E``, ``W06``, ``E041``); empty select = all."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    strict: bool = False
    exclude: tuple[str, ...] = ()
    rule_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str | None = None
    #: prefixes added to ``select`` (or to "everything" when select is empty)
    extend_select: tuple[str, ...] = ()
    #: (glob, codes) pairs: the codes are ignored in files the glob matches
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: the folder of the config file: ``exclude`` and ``per-file-ignores`` globs are relative to it
    root: str | None = None
    cache_dir: str | None = None

    def enabled(self, code: str) -> bool:
        """Whether ``code`` is reported: the longest matching prefix decides (ruff-style)."""
        select = self.select
        if self.extend_select:
            select = (select or ("",)) + self.extend_select
        return _enabled(tuple(select), tuple(self.ignore), code)

    def _matches(self, path: Path, pattern: str) -> bool:
        text = path.as_posix()
        if fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(path.name, pattern):
            return True
        if self.root is not None:
            try:
                rel = path.resolve().relative_to(self.root).as_posix()
            except (ValueError, OSError):
                return False
            return fnmatch.fnmatch(rel, pattern)
        return False

    def excluded(self, path: Path) -> bool:
        return any(self._matches(path, pat) for pat in self.exclude)

    def for_file(self, path: Path) -> LintConfig:
        """This configuration with the ``per-file-ignores`` that match ``path`` added to ignore."""
        extra = tuple(
            code
            for pattern, codes in self.per_file_ignores
            if self._matches(path, pattern)
            for code in codes
        )
        return replace(self, ignore=self.ignore + extra) if extra else self

    def merged(
        self,
        select: Iterable[str] | None = None,
        ignore: Iterable[str] | None = None,
        strict: bool | None = None,
        extend_select: Iterable[str] | None = None,
    ) -> LintConfig:
        """Command-line options on top of file options (select replaces, the others extend)."""
        cfg = self
        if select:
            cfg = replace(cfg, select=tuple(select), extend_select=())
        if extend_select:
            cfg = replace(cfg, extend_select=cfg.extend_select + tuple(extend_select))
        if ignore:
            cfg = replace(cfg, ignore=cfg.ignore + tuple(ignore))
        if strict is not None:
            cfg = replace(cfg, strict=strict)
        return cfg

    def fingerprint(self) -> str:
        """What in this configuration can change a file's findings (a cache key part)."""
        options = sorted((k, repr(v)) for k, v in self.rule_options.items())
        return repr((self.select, self.extend_select, self.ignore, options))


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


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'select'?)`` for the closest choice, or nothing."""
    import difflib  # only for error messages (start-up time)

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown(keys: Iterable[str], known: Iterable[str], what: str, source: str) -> None:
    known = list(known)
    bad = sorted(k for k in keys if k not in known)
    if bad:
        names = "; ".join(f"{k!r}{did_you_mean(k, known)}" for k in bad)
        raise UsageError(f"{source}: unknown {what}: {names}")


def _from_table(table: Mapping[str, Any], source: str, root: str | None = None) -> LintConfig:
    _unknown(table, SETTINGS, "lint setting", source)

    def code_list(value: Any, key: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UsageError(f"{source}: '{key}' must be a list of codes")
        try:
            return tuple(split_codes(value))
        except UsageError as exc:
            raise UsageError(f"{source}: '{key}': {exc}") from None

    strict = table.get("strict", False)
    if not isinstance(strict, bool):
        raise UsageError(f"{source}: 'strict' must be true or false")
    exclude = table.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(v, str) for v in exclude):
        raise UsageError(f"{source}: 'exclude' must be a list of globs")
    rules = table.get("rules", {})
    if not isinstance(rules, dict):
        raise UsageError(f"{source}: 'rules' must be a table of rule options")
    if rules:
        from .registry import all_rules

        _unknown(rules, [r.name for r in all_rules().values()], "rule in 'rules'", source)
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise UsageError(f"{source}: 'per-file-ignores' must be a table of glob = [codes]")
    cache_dir = table.get("cache-dir")
    if cache_dir is not None and not isinstance(cache_dir, str):
        raise UsageError(f"{source}: 'cache-dir' must be a folder name")
    if cache_dir is not None and root is not None:
        cache_dir = str(Path(root) / cache_dir)
    return LintConfig(
        select=code_list(table.get("select", []), "select"),
        ignore=code_list(table.get("ignore", []), "ignore"),
        strict=strict,
        exclude=tuple(exclude),
        rule_options=rules,
        source=source,
        extend_select=code_list(table.get("extend-select", []), "extend-select"),
        per_file_ignores=tuple(
            (glob, code_list(codes, f"per-file-ignores.{glob}")) for glob, codes in per_file.items()
        ),
        root=root,
        cache_dir=cache_dir,
    )


def _lint_table(data: dict[str, Any], is_pyproject: bool) -> Any:
    """The lint table of a parsed config file: ``[tool.dialplan.lint]`` in any file, ``[lint]``
    or the top level in a file other than pyproject.toml."""
    tool = data.get("tool")
    if isinstance(tool, dict) and isinstance(tool.get("dialplan"), dict):
        return tool["dialplan"].get("lint", {})
    if is_pyproject:
        return {}
    return data.get("lint", data)


def load_config(path: str | Path) -> LintConfig:
    """Read ``[tool.dialplan.lint]`` (any file) or a ``[lint]``/top-level table (not pyproject)."""
    import tomllib  # lazily: most runs read no config (start-up time)

    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read config {p}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{p}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{p}: invalid TOML: {exc}") from None
    table = _lint_table(data, p.name == "pyproject.toml")
    if not isinstance(table, dict):
        raise UsageError(f"{p}: the lint settings must be a table")
    return _from_table(table, str(p), str(p.resolve().parent))


#: What any spelling of a ``tool.dialplan`` table needs: ``[tool.dialplan…]`` or a dotted
#: ``tool.dialplan`` key (spaces and quotes allowed), a ``[tool]`` table, or ``tool = {…}``.
_MAYBE_TOOL_DIALPLAN = re.compile(r"""\btool["']?[ \t]*(?:\.[ \t]*["']?dialplan|\]|=)""")


def _config_in(folder: Path) -> Path | None:
    """The config file of ``folder``: a dialplan.toml, or a pyproject.toml with [tool.dialplan]."""
    own = folder / "dialplan.toml"
    if own.is_file():
        return own
    candidate = folder / "pyproject.toml"
    if not candidate.is_file():
        return None
    try:
        text = candidate.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not _MAYBE_TOOL_DIALPLAN.search(text):
        return None  # cannot have a [tool.dialplan] table: skip parsing the TOML
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    tool = data.get("tool", {})
    return candidate if isinstance(tool, dict) and "dialplan" in tool else None


def discover_config(start: Path) -> LintConfig:
    """The nearest dialplan.toml, or pyproject.toml with a ``[tool.dialplan]`` table, upwards."""
    return ConfigFinder().for_folder(start)


class ConfigFinder:
    """Each file's configuration: the nearest config file above it, remembered per folder."""

    def __init__(self) -> None:
        self._by_folder: dict[Path, LintConfig] = {}
        #: by folder as given (not resolved): most files share a few folders
        self._as_given: dict[Path, LintConfig] = {}

    def for_folder(self, start: Path) -> LintConfig:
        known = self._as_given.get(start)
        if known is not None:
            return known
        found = self._for_resolved(start.resolve())
        self._as_given[start] = found
        return found

    def _for_resolved(self, here: Path) -> LintConfig:
        seen: list[Path] = []
        found = LintConfig()
        for folder in (here, *here.parents):
            if folder in self._by_folder:
                found = self._by_folder[folder]
                break
            seen.append(folder)
            path = _config_in(folder)
            if path is not None:
                found = load_config(path)
                break
        for folder in seen:
            self._by_folder[folder] = found
        return found

    def for_file(self, path: Path) -> LintConfig:
        return self.for_folder(path.parent if path.name else Path.cwd())
