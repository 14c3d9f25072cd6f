"""The HTTP service: flows, simulated calls and single calls over a JSON API (``dialplan serve``).

Modules: ``app`` (factory), ``auth``/``keys`` (API keys, scopes, rate limits), ``idempotency``,
``problems`` (RFC 9457 errors), ``limits`` (request size), ``flowstore``/``flows`` (stored dialplans),
``runner`` (the call port and its simulated implementation), ``siprunner`` (real SIP calls),
``callstore``/``calls`` (single calls), ``kaleyra``, ``callr_api``, ``enablex``/``enablex_events``
(the compatibility endpoints), ``dnc`` (do-not-call list), ``outbox`` (signed webhooks),
``storage`` (SQLite).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Settings, create_app

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    """``Settings`` and ``create_app`` are imported when first asked for: a command that needs
    only a module of this package (``dialplan keys``, a worker's auto-replies) does not import
    the web framework and every route with it."""
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
