"""ES256 signing keys as JWKs: generation, the public set, rotation.

A private key set is ``{"current": <private JWK>, "previous": <private JWK> | null}``; each
JWK carries its ``kid``. The public set (a JWKS document) holds the public halves of both,
so that during a rotation tokens signed with the previous key keep verifying until they
expire. Used by the local platform (which keeps a key set in its data directory) and by
the signing-keys custom resource (which keeps it in Secrets Manager on AWS).
"""

from __future__ import annotations

import json
from typing import Any

ALGORITHM = "ES256"
_PUBLIC_FIELDS = ("kty", "crv", "x", "y", "kid")


def new_private_jwk(kid: str) -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    key = ec.generate_private_key(ec.SECP256R1())
    jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(key))
    jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    return jwk


def public_jwk(private: dict[str, Any]) -> dict[str, Any]:
    public = {name: private[name] for name in _PUBLIC_FIELDS}
    public.update({"alg": ALGORITHM, "use": "sig"})
    return public


def new_key_set(kid: str) -> dict[str, Any]:
    return {"current": new_private_jwk(kid), "previous": None}


def rotated(key_set: dict[str, Any] | None, kid: str) -> dict[str, Any]:
    """A new current key; the old current one becomes the previous (the one before that
    is dropped: tokens it signed have expired by the next rotation)."""
    return {"current": new_private_jwk(kid), "previous": (key_set or {}).get("current")}


def public_key_set(key_set: dict[str, Any]) -> str:
    """The JWKS JSON document of the set's current and previous keys."""
    keys = [public_jwk(k) for k in (key_set.get("current"), key_set.get("previous")) if k]
    return json.dumps({"keys": keys}, separators=(",", ":"))
