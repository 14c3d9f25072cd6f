"""The Callr Actions YAML front-end: scenarios compiled into the same model as XML dialplans.

See docs/callr-yaml.md. :func:`parse_yaml` is reached through :func:`dialplan.parse.parse`,
the one dispatch point by file type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .detect import is_yaml

if TYPE_CHECKING:
    from .document import YamlDocument, parse_yaml

__all__ = ["YamlDocument", "is_yaml", "parse_yaml"]


def __getattr__(name: str) -> Any:
    """The YAML front-end proper (PyYAML) is imported on first use: linting XML never needs it."""
    if name in ("YamlDocument", "parse_yaml"):
        from . import document

        return getattr(document, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
