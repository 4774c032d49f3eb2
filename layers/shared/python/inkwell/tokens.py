"""Access tokens (signed JWTs) and refresh tokens (opaque, stored hashed).

The signing algorithm is pinned: verification accepts HS256 only, so a token claiming
``alg: none`` or any other algorithm is rejected. ``iss``, ``aud``, ``exp``, ``iat`` and
``sub`` are required. The key comes from ``INKWELL_JWT_SECRET`` (local) or the Secrets
Manager secret named by ``INKWELL_JWT_SECRET_ARN`` (AWS).

PyJWT is imported on first use: most functions import this module for the refresh-token
helpers only and never sign or verify a JWT.
"""

from __future__ import annotations

import hashlib
import os
import secrets as stdlib_secrets
import time
from functools import cache

from inkwell.identity import ROLES, Principal
from inkwell.settings import ConfigurationError, settings

ALGORITHM = "HS256"
_MIN_KEY_BYTES = 32


class InvalidToken(Exception):
    """The token is missing, malformed, expired, forged or not meant for us."""


class ExpiredToken(InvalidToken):
    """The token is genuine (signature, issuer, audience) but its time has passed."""


@cache
def signing_key() -> str:
    key = os.environ.get("INKWELL_JWT_SECRET")
    if not key:
        arn = os.environ.get("INKWELL_JWT_SECRET_ARN")
        if not arn:
            raise ConfigurationError("set INKWELL_JWT_SECRET (local) or INKWELL_JWT_SECRET_ARN")
        from inkwell import secrets

        key = secrets.secret_string(arn)
    if len(key.encode()) < _MIN_KEY_BYTES:
        raise ConfigurationError(f"the JWT signing key must be at least {_MIN_KEY_BYTES} bytes")
    return key


def issue_access_token(principal: Principal, now: float | None = None) -> tuple[str, int]:
    """A signed access token for `principal` and its lifetime in seconds."""
    config = settings()
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": config.jwt_issuer,
        "aud": config.jwt_audience,
        "sub": principal.user_id,
        "username": principal.username,
        "role": principal.role,
        "iat": issued,
        "exp": issued + config.access_token_ttl_s,
    }
    import jwt

    return jwt.encode(claims, signing_key(), algorithm=ALGORITHM), config.access_token_ttl_s


def verify_access_token(token: str) -> Principal:
    import jwt

    config = settings()
    try:
        claims = jwt.decode(
            token,
            signing_key(),
            algorithms=[ALGORITHM],
            audience=config.jwt_audience,
            issuer=config.jwt_issuer,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError as exc:
        raise ExpiredToken(str(exc)) from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    username, role, sub = claims.get("username"), claims.get("role"), claims.get("sub")
    if not isinstance(username, str) or role not in ROLES or not isinstance(sub, str):
        raise InvalidToken("token claims are incomplete")
    return Principal(user_id=sub, username=username, role=str(role))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when there is none.

    Raises InvalidToken for a header that is present but is not a bearer token.
    """
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def new_refresh_token() -> str:
    return stdlib_secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    # A refresh token carries 256 random bits, so a fast hash is enough (no salt needed).
    return hashlib.sha256(token.encode()).hexdigest()
