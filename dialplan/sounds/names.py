"""What a sound library name looks like (the library and the linter share it)."""

from __future__ import annotations

import re

#: letters, digits, space, ``_`` and ``-``, at least one letter (all digits is an id), no ``.``
#: or ``/`` (a file name or URL in ``<play type="callfireid">`` stays an error, E02A)
NAME = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9][A-Za-z0-9 _-]{0,99}$")


def is_library_name(value: str) -> bool:
    return bool(NAME.match(value.strip()))
