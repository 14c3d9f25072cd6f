"""Limits of the dialplan language shared by the parser and the evaluator (one source each)."""

from __future__ import annotations

#: ``${…}`` references nest at most this deep; real plans nest two levels (``${choice${num}}``).
TEMPLATE_MAX_DEPTH = 32
