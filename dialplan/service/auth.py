"""Who is calling: the API key from any of the accepted headers, its scope, and its rate limit.

Accepted: ``Authorization: Bearer <key>``, ``Authorization: Basic`` with the key as the password
(any user name: CallFire's and EnableX's style), ``X-API-Key: <key>`` and ``api-key: <key>``.
No key or an unknown/revoked one → 401; a key without the needed scope → 403; over the key's
rate → 429 with ``Retry-After`` (the limiter: :mod:`.ratelimit`).
"""

from __future__ import annotations

import math
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
