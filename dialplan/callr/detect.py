"""Whether a source is a Callr scenario — cheap, so that linting XML never imports YAML."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..parse import Source

_MARKER = re.compile(rb"^(?:\s*#[^\n]*\n)*\s*dialplan\s*:\s*[\"']?yaml\b", re.I)


def is_yaml(source: Source) -> bool:
    """Whether ``source`` is a Callr scenario: a ``.yaml``/``.yml`` name or a
    ``dialplan: yaml`` marker as its first key."""
    name = source.name.lower()
    return name.endswith((".yaml", ".yml")) or _MARKER.match(source.data[:4096]) is not None
