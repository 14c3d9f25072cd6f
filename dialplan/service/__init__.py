"""The HTTP service: flows, simulated calls and single calls over a JSON API (``dialplan serve``).

Modules: ``app`` (factory), ``auth``/``keys`` (API keys, scopes, rate limits), ``idempotency``,
``problems`` (RFC 9457 errors), ``limits`` (request size), ``flowstore``/``flows`` (stored dialplans),
``runner`` (the call port and its simulated implementation), ``siprunner`` (real SIP calls),
``callstore``/``calls`` (single calls), ``kaleyra``, ``callr_api``, ``enablex``/``enablex_events``
(the compatibility endpoints), ``dnc`` (do-not-call list), ``outbox`` (signed webhooks),
``storage`` (SQLite).
"""

from __future__ import annotations

from .app import Settings, create_app

__all__ = ["Settings", "create_app"]
