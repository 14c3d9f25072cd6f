"""Dashboard sign-in: the API key in an HttpOnly, SameSite=Strict cookie, and CSRF checks on POSTs.

The cookie holds the key itself (it is what the operator typed; the server keeps only its digest),
scoped to ``/dashboard``, never readable by scripts. Every form POST of a signed-in page carries a
token derived from the key (HMAC-SHA256 of a fixed label), so a page on another site, which can
neither read the cookie nor the token, cannot post on the operator's behalf even in a browser
that ignores SameSite; every POST's ``Origin`` (when sent) must also be this server.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from fastapi import Request
from starlette.responses import Response

from ..keys import ApiKey, find_key

COOKIE = "dialplan_key"
PREFIX = "/dashboard"
#: a signed-in session lasts at most this long (the cookie's Max-Age), in seconds
MAX_AGE_S = 12 * 3600


@dataclass(frozen=True, slots=True)
class Operator:
    """A signed-in operator: their key and the CSRF token of their forms."""

    key: ApiKey
    csrf: str

    @property
    def account(self) -> str:
        return self.key.account

    def can(self, scope: str) -> bool:
        return self.key.allows(scope)


class SignInRequired(Exception):
    """Raised by :func:`operator` when there is no valid session (answered with a redirect)."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Forbidden(Exception):
    """A dashboard action the operator may not do (wrong scope, foreign origin, bad token)."""


def csrf_token(secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), b"dialplan-dashboard-csrf", hashlib.sha256).hexdigest()


def current(request: Request) -> Operator | None:
    """The signed-in operator, or None (no cookie, unknown or revoked key)."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    key = find_key(request.app.state.db, secret)
    if key is None:
        return None
    return Operator(key, csrf_token(secret))


def operator(request: Request) -> Operator:
    """Dependency of every signed-in page: the operator, else a redirect to the sign-in page."""
    found = current(request)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return found


def signin_url(next_path: str) -> str:
    return f"{PREFIX}/signin?next={quote(next_path, safe='')}"


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a dashboard path only (never another site)."""
    if value and value.startswith(PREFIX + "/") and not value.startswith("//"):
        parts = urlsplit(value)
        if not parts.scheme and not parts.netloc:
            return value
    return PREFIX + "/"


def check_origin(request: Request) -> None:
    """Refuse a POST whose ``Origin`` is another site (browsers send it on every form POST)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    host = request.headers.get("host", "")
    if urlsplit(origin).netloc != host:
        raise Forbidden(f"this form was posted from another site ({origin})")


def check_post(request: Request, who: Operator, token: str, scope: str = "write") -> None:
    """The checks of every signed-in POST: same origin, the form's CSRF token, the key's scope."""
    check_origin(request)
    if not hmac.compare_digest(token, who.csrf):
        raise Forbidden("the form's security token is missing or stale; reload the page")
    if not who.can(scope):
        raise Forbidden(f"this API key lacks the {scope!r} scope")


def set_cookie(response: Response, request: Request, secret: str) -> None:
    response.set_cookie(
        COOKIE,
        secret,
        max_age=MAX_AGE_S,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
