"""HTTP digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616 SHA-256)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class DigestError(ValueError):
    """A challenge we cannot answer (unknown algorithm or qop)."""


@dataclass(frozen=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False


def parse_challenge(value: str) -> Challenge:
    """Parse a ``WWW-Authenticate``/``Proxy-Authenticate`` value (``Digest k=v, …``)."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise DigestError(f"unsupported auth scheme: {scheme!r}")
    params = _parse_params(rest)
    if "nonce" not in params:
        raise DigestError("challenge without nonce")
    qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
    return Challenge(
        realm=params.get("realm", ""),
        nonce=params["nonce"],
        algorithm=params.get("algorithm", "MD5"),
        qop=qop,
        opaque=params.get("opaque"),
        stale=params.get("stale", "").lower() == "true",
    )


def _parse_params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " ,\t":
            i += 1
        eq = text.find("=", i)
        if eq < 0:
            break
        key = text[i:eq].strip().lower()
        i = eq + 1
        if i < n and text[i] == '"':
            end = i + 1
            chars: list[str] = []
            while end < n and text[end] != '"':
                if text[end] == "\\" and end + 1 < n:
                    end += 1
                chars.append(text[end])
                end += 1
            params[key] = "".join(chars)
            i = end + 1
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            params[key] = text[i:end].strip()
            i = end
    return params


def _hash(algorithm: str) -> Callable[[bytes], Any]:
    algo = algorithm.upper().removesuffix("-SESS")
    if algo == "MD5":
        return hashlib.md5
    if algo == "SHA-256":
        return hashlib.sha256
    raise DigestError(f"unsupported digest algorithm: {algorithm!r}")


def authorization(
    challenge: Challenge,
    method: str,
    uri: str,
    username: str,
    password: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """The ``Authorization``/``Proxy-Authorization`` value answering ``challenge``."""
    hfunc = _hash(challenge.algorithm)

    def h(text: str) -> str:
        return hfunc(text.encode("utf-8")).hexdigest()

    if challenge.qop and "auth" not in challenge.qop:
        raise DigestError(f"unsupported qop: {','.join(challenge.qop)}")
    qop = "auth" if challenge.qop else None
    cnonce = cnonce or secrets.token_hex(8)
    ha1 = h(f"{username}:{challenge.realm}:{password}")
    if challenge.algorithm.upper().endswith("-SESS"):
        ha1 = h(f"{ha1}:{challenge.nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    if qop:
        response = h(f"{ha1}:{challenge.nonce}:{nc:08x}:{cnonce}:{qop}:{ha2}")
    else:
        response = h(f"{ha1}:{challenge.nonce}:{ha2}")
    parts = [
        f'username="{username}"',
        f'realm="{challenge.realm}"',
        f'nonce="{challenge.nonce}"',
        f'uri="{uri}"',
        f'response="{response}"',
        f"algorithm={challenge.algorithm}",
    ]
    if qop:
        parts += [f"qop={qop}", f"nc={nc:08x}", f'cnonce="{cnonce}"']
    if challenge.opaque is not None:
        parts.append(f'opaque="{challenge.opaque}"')
    return "Digest " + ", ".join(parts)


def verify(value: str, method: str, username: str, password: str, nonces: set[str]) -> bool:
    """Whether an ``Authorization`` value answers one of our challenges (``nonces``) for
    ``username``/``password`` (the UAS side: a trunk authenticating to us)."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return False
    params = _parse_params(rest)
    if params.get("username") != username or params.get("nonce") not in nonces:
        return False
    qop = params.get("qop")
    nc = params.get("nc", "1")
    try:
        challenge = Challenge(
            realm=params.get("realm", ""),
            nonce=params["nonce"],
            algorithm=params.get("algorithm", "MD5"),
            qop=(qop,) if qop else (),
            opaque=params.get("opaque"),
        )
        expected = authorization(
            challenge,
            method,
            params.get("uri", ""),
            username,
            password,
            nc=int(nc, 16),
            cnonce=params.get("cnonce"),
        )
    except (DigestError, ValueError):
        return False
    answer = _parse_params(expected.partition(" ")[2])["response"]
    return hmac.compare_digest(answer, params.get("response", ""))
