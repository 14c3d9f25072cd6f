"""Who is calling: the API key from any of the accepted headers, its scope, and its rate limit.

Accepted: ``Authorization: Bearer <key>``, ``Authorization: Basic`` with the key as the password
(any user name: CallFire's and EnableX's style), ``X-API-Key: <key>`` and ``api-key: <key>``.
No key or an unknown/revoked one → 401; a key without the needed scope → 403; over the key's
rate → 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBasic, HTTPBearer
from fastapi.security import HTTPBasicCredentials as BasicCredentials

from .keys import ApiKey, find_key
from .problems import ProblemError

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")


class _LenientBasic(HTTPBasic):
    """HTTP Basic that yields None for a malformed header (we answer 401 with our own problem)."""

    async def __call__(self, request: Request) -> BasicCredentials | None:  # type: ignore[override]
        try:
            return await super().__call__(request)
        except HTTPException:
            return None


_basic = _LenientBasic(auto_error=False, description="HTTP Basic; the key is the password")
_x_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)
_api_key = APIKeyHeader(name="api-key", auto_error=False, scheme_name="ApiKeyHeaderLower")


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: its key and account."""

    key: ApiKey

    @property
    def account(self) -> str:
        return self.key.account


class RateLimiter:
    """Token buckets per key: ``rate`` requests per second, bursts of up to twice that (at least 1)."""

    def __init__(self, default_rate: float) -> None:
        self.default_rate = default_rate
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key_id: str, rate: float | None) -> float:
        """Spend one token; return 0 when allowed, else the seconds until one is available."""
        rate = rate or self.default_rate
        burst = max(1.0, 2 * rate)
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens >= 1:
                self._buckets[key_id] = (tokens - 1, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1 - tokens) / rate


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(
        401,
        "unauthorized",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="dialplan", Basic realm="dialplan"'},
    )


def require(scope: str) -> Callable[..., Principal]:
    """A dependency that authenticates the request and checks ``scope``."""

    def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        basic: Annotated[BasicCredentials | None, Depends(_basic)],
        x_api_key: Annotated[str | None, Depends(_x_api_key)],
        api_key: Annotated[str | None, Depends(_api_key)],
    ) -> Principal:
        secret = (
            (bearer.credentials if bearer is not None else None)
            or (basic.password if basic is not None else None)
            or x_api_key
            or api_key
        )
        if not secret:
            raise _unauthorized("an API key is required (Bearer, Basic, X-API-Key or api-key)")
        state = request.app.state
        key = find_key(state.db, secret.strip())
        if key is None:
            raise _unauthorized("unknown or revoked API key")
        wait = state.limiter.take(key.id, key.rate_per_s)
        if wait > 0:
            raise ProblemError(
                429,
                "rate-limited",
                f"rate limit of this key exceeded; retry in {wait:.2f} s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        if not key.allows(scope):
            raise ProblemError(
                403, "forbidden", f"this key lacks the {scope!r} scope", required_scope=scope
            )
        return Principal(key)

    return dependency


ReadKey = Annotated[Principal, Depends(require("read"))]
WriteKey = Annotated[Principal, Depends(require("write"))]
AdminKey = Annotated[Principal, Depends(require("admin"))]
