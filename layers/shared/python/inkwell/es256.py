"""ES256 JWT signature verification with only what it needs from cryptography.

The authorizer verifies a token on every cold start, and PyJWT's import pulls in all of
cryptography it might use (X.509, SSH and PEM serialization, its JWKS HTTP client):
measured in a fresh interpreter, ``import jwt`` costs about 120-170 ms, the EC primitives
alone about 15 ms. Verifying one pinned algorithm is a few lines, so the verifier is here;
signing (login, refresh) keeps using PyJWT, and the tests check both agree.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from inkwell.jwk import ALGORITHM

_COORDINATE_BYTES = 32


class Rejected(Exception):
    """The token is malformed, not ES256, signed by an unknown key, or forged."""


def b64url_decode(text: str) -> bytes:
    try:
        raw = text.encode("ascii")
        return base64.b64decode(raw + b"=" * (-len(raw) % 4), altchars=b"-_", validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise Rejected("not base64url") from exc


def public_key(jwk: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of an EC JWK (``kty`` EC, ``crv`` P-256, ``x``, ``y``)."""
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("not an EC P-256 key")
    x, y = b64url_decode(str(jwk["x"])), b64url_decode(str(jwk["y"]))
    if len(x) != _COORDINATE_BYTES or len(y) != _COORDINATE_BYTES:
        raise ValueError("bad P-256 coordinates")
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
    )
    return numbers.public_key()


def _json_object(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(segment))
    except ValueError as exc:
        raise Rejected("not JSON") from exc
    if not isinstance(value, dict):
        raise Rejected("not a JSON object")
    return value


def verified_claims(token: str, keys: dict[str, ec.EllipticCurvePublicKey]) -> dict[str, Any]:
    """The claims of `token` once its ES256 signature checks out with the key its ``kid``
    names. Checks nothing else: the caller validates the claims."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Rejected("a JWT has three parts")
    header = _json_object(parts[0])
    if header.get("alg") != ALGORITHM:
        raise Rejected("the algorithm must be ES256")
    if "crit" in header:
        raise Rejected("critical header parameters are not supported")
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise Rejected("the token was not signed by a key we know")
    signature = b64url_decode(parts[2])
    if len(signature) != 2 * _COORDINATE_BYTES:
        raise Rejected("bad signature length")
    r = int.from_bytes(signature[:_COORDINATE_BYTES], "big")
    s = int.from_bytes(signature[_COORDINATE_BYTES:], "big")
    try:
        key.verify(
            utils.encode_dss_signature(r, s),
            f"{parts[0]}.{parts[1]}".encode("ascii"),
            ec.ECDSA(hashes.SHA256()),
        )
    except (InvalidSignature, ValueError) as exc:
        raise Rejected("the signature does not verify") from exc
    return _json_object(parts[1])
