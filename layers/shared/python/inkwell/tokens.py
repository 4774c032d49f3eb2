"""Access tokens (signed JWTs) and refresh tokens (opaque, stored hashed).

Access tokens are ES256 JWTs with a ``kid`` header, signed with PyJWT and verified by
inkwell.es256 (a fraction of PyJWT's import cost, on the authorizer's cold start).
Verification is pinned to ES256 (a
token claiming ``alg: none``, HS256 or anything else is rejected), requires ``iss``,
``aud``, ``exp``, ``iat`` and ``sub``, and accepts only the keys of the public key set in
``INKWELL_JWT_PUBLIC_KEYS`` (a JWKS document in the environment: no secret fetch, and the
verifier, the authorizer, holds no power to sign). An unknown ``kid`` is rejected. During
a rotation the set holds the previous key too, so tokens it signed keep verifying until
they expire.

Signing (login, refresh) uses the current private key of the key set in
``INKWELL_JWT_PRIVATE_KEYS`` (local) or in the Secrets Manager secret named by
``INKWELL_JWT_PRIVATE_KEYS_SECRET_ARN`` (AWS), read once per execution environment.

PyJWT and cryptography are imported on first use: most functions import this module for
the refresh-token helpers only and never sign or verify a JWT.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets as stdlib_secrets
import time
from functools import cache
from typing import Any

from inkwell import env
from inkwell.identity import ROLES, Principal
from inkwell.jwk import ALGORITHM
from inkwell.settings import ConfigurationError, settings

LEEWAY_S = 5  # clock skew tolerated on exp, iat and nbf


class InvalidToken(Exception):
    """The token is missing, malformed, expired, forged or not meant for us."""


class ExpiredToken(InvalidToken):
    """The token is genuine (signature, issuer, audience) but its time has passed."""


@cache
def verification_keys() -> dict[str, Any]:
    """The public keys that verify access tokens, by ``kid``."""
    raw = os.environ.get(env.JWT_PUBLIC_KEYS)
    if not raw:
        raise ConfigurationError(f"environment variable {env.JWT_PUBLIC_KEYS} is not set")
    from inkwell import es256

    try:
        keys = {str(k["kid"]): es256.public_key(k) for k in json.loads(raw)["keys"]}
    except (ValueError, KeyError, TypeError, es256.Rejected) as exc:
        raise ConfigurationError(
            f"{env.JWT_PUBLIC_KEYS} must be a JWKS document of EC P-256 keys with a kid"
        ) from exc
    if not keys:
        raise ConfigurationError(f"{env.JWT_PUBLIC_KEYS} holds no key")
    return keys


@cache
def signing_key() -> tuple[str, Any]:
    """The current private key and its ``kid``."""
    raw = os.environ.get(env.JWT_PRIVATE_KEYS)
    if not raw:
        arn = os.environ.get(env.JWT_PRIVATE_KEYS_SECRET_ARN)
        if not arn:
            raise ConfigurationError(
                f"set {env.JWT_PRIVATE_KEYS} (local) or {env.JWT_PRIVATE_KEYS_SECRET_ARN} (AWS)"
            )
        from inkwell import secrets

        raw = secrets.secret_string(arn)
    import jwt

    try:
        current = json.loads(raw)["current"]
        kid = str(current["kid"])
        key = jwt.PyJWK(current, algorithm=ALGORITHM).key
    except (ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
        raise ConfigurationError(
            'the JWT private key set must be {"current": <EC P-256 private JWK with kid>,'
            ' "previous": ...}'
        ) from exc
    if not hasattr(key, "sign"):
        raise ConfigurationError("the current JWT key is not a private key")
    return kid, key


def forget_keys() -> None:
    verification_keys.cache_clear()
    signing_key.cache_clear()


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

    kid, key = signing_key()
    token = jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})
    return token, config.access_token_ttl_s


def verify_access_token(token: str, now: float | None = None) -> Principal:
    """The principal of a valid access token; InvalidToken otherwise (see module doc)."""
    from inkwell import es256

    config = settings()
    try:
        claims = es256.verified_claims(token, verification_keys())
    except es256.Rejected as exc:
        raise InvalidToken(str(exc)) from exc
    _check_claims(
        claims, config.jwt_issuer, config.jwt_audience, time.time() if now is None else now
    )
    username, role, sub = claims.get("username"), claims.get("role"), claims.get("sub")
    if not isinstance(username, str) or role not in ROLES or not isinstance(sub, str):
        raise InvalidToken("token claims are incomplete")
    return Principal(user_id=sub, username=username, role=str(role))


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"the {name} claim must be a number")
    return float(value)


def _check_claims(claims: dict[str, Any], issuer: str, audience: str, now: float) -> None:
    missing = [c for c in ("iss", "aud", "exp", "iat", "sub") if c not in claims]
    if missing:
        raise InvalidToken(f"the token lacks the {', '.join(missing)} claim")
    if _number(claims, "iat") > now + LEEWAY_S:
        raise InvalidToken("the token is issued in the future")
    if "nbf" in claims and _number(claims, "nbf") > now + LEEWAY_S:
        raise InvalidToken("the token is not yet valid")
    if claims["iss"] != issuer:
        raise InvalidToken("the token has another issuer")
    aud = claims["aud"]
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise InvalidToken("the token is meant for another audience")
    # Last: only a token that is ours in every other respect is told it has expired.
    if now > _number(claims, "exp") + LEEWAY_S:
        raise ExpiredToken("the token has expired")


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
