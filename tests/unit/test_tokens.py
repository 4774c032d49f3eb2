"""Access tokens: issue/verify, the pinned algorithm, the key ids and rotation, the checked
claims, bearer parsing."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from inkwell import jwk, tokens
from inkwell.settings import ConfigurationError, settings
from inkwell.tokens import (
    InvalidToken,
    Principal,
    bearer_token,
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
    signing_key,
    verify_access_token,
)

ALICE = Principal(user_id="3f1c3f0e-2c5e-4b8e-9a53-0c1a8f1b2d3e", username="alice", role="user")


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings().jwt_issuer,
        "aud": settings().jwt_audience,
        "sub": ALICE.user_id,
        "username": ALICE.username,
        "role": ALICE.role,
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(
    claims: dict[str, Any], key: Any = None, algorithm: str = "ES256", kid: str | None = None
) -> str:
    current_kid, current_key = signing_key()
    return jwt.encode(
        claims,
        current_key if key is None else key,
        algorithm=algorithm,
        headers={"kid": current_kid if kid is None else kid},
    )


def _private(kid: str) -> tuple[dict[str, Any], Any]:
    private = jwk.new_private_jwk(kid)
    return private, jwt.PyJWK(private).key


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unsigned_token(claims: dict[str, Any]) -> str:
    """A token with ``alg: none`` and an empty signature, built by hand."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def test_issue_then_verify_round_trip() -> None:
    token, ttl = issue_access_token(ALICE)
    assert ttl == settings().access_token_ttl_s == 900
    assert verify_access_token(token) == ALICE
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert header["kid"] == signing_key()[0] == "test-1"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"iss", "aud", "sub", "username", "role", "iat", "exp"}
    assert claims["exp"] - claims["iat"] == ttl


@pytest.mark.parametrize("role", ["user", "moderator", "admin"])
def test_every_role_round_trips(role: str) -> None:
    principal = Principal(ALICE.user_id, "bob", role)
    token, _ = issue_access_token(principal)
    verified = verify_access_token(token)
    assert verified.role == role
    assert verified.is_admin == (role == "admin")
    assert verified.is_moderator == (role in ("moderator", "admin"))


def test_expired_token_is_rejected() -> None:
    long_ago = time.time() - 2 * settings().access_token_ttl_s
    token, _ = issue_access_token(ALICE, now=long_ago)
    with pytest.raises(InvalidToken, match="expired"):
        verify_access_token(token)


def test_token_within_its_lifetime_is_accepted_even_if_issued_earlier() -> None:
    token, _ = issue_access_token(ALICE, now=time.time() - settings().access_token_ttl_s / 2)
    assert verify_access_token(token) == ALICE


def test_forged_signature_is_rejected() -> None:
    _, attacker = _private("attacker")
    forged = _sign(_claims(role="admin"), key=attacker)  # claims the real kid
    with pytest.raises(InvalidToken):
        verify_access_token(forged)


@pytest.mark.parametrize("kid", ["attacker", "", None])
def test_unknown_or_missing_kid_is_rejected(kid: str | None) -> None:
    _, attacker = _private("attacker")
    headers = {} if kid is None else {"kid": kid}
    token = jwt.encode(_claims(), attacker, algorithm="ES256", headers=headers)
    with pytest.raises(InvalidToken):
        verify_access_token(token)


def test_hs256_signed_with_the_public_key_is_rejected() -> None:
    # The classic confusion: the public key (which everyone may know) used as an HMAC key.
    public = json.dumps(
        json.loads(
            jwk.public_key_set(json.loads(__import__("os").environ["INKWELL_JWT_PRIVATE_KEYS"]))
        )["keys"][0]
    )
    token = jwt.encode(
        _claims(role="admin"),
        public.encode() * 2,
        algorithm="HS256",
        headers={"kid": signing_key()[0]},
    )
    with pytest.raises(InvalidToken):
        verify_access_token(token)


@pytest.fixture
def rotation(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Switch the environment to a key set, as a deploy after a rotation does."""

    def use(key_set: dict[str, Any], public: dict[str, Any] | None = None) -> None:
        monkeypatch.setenv("INKWELL_JWT_PRIVATE_KEYS", json.dumps(key_set))
        monkeypatch.setenv("INKWELL_JWT_PUBLIC_KEYS", jwk.public_key_set(public or key_set))
        tokens.forget_keys()

    yield use
    monkeypatch.undo()
    tokens.forget_keys()


def test_rotation_keeps_tokens_of_the_previous_key_valid_until_they_expire(rotation: Any) -> None:
    first = jwk.new_key_set("gen-1")
    rotation(first)
    old_token, _ = issue_access_token(ALICE)
    second = jwk.rotated(first, "gen-2")
    assert second["previous"] == first["current"]
    rotation(second)
    new_token, _ = issue_access_token(ALICE)
    assert jwt.get_unverified_header(new_token)["kid"] == "gen-2"
    assert verify_access_token(old_token) == ALICE  # the overlap
    assert verify_access_token(new_token) == ALICE
    expired_old, _ = issue_access_token(ALICE, now=time.time() - 3600)  # signed with gen-2
    with pytest.raises(InvalidToken, match="expired"):
        verify_access_token(expired_old)
    third = jwk.rotated(second, "gen-3")
    rotation(third)
    with pytest.raises(InvalidToken):  # two rotations later, gen-1 is gone
        verify_access_token(old_token)
    assert verify_access_token(new_token) == ALICE


def test_public_key_set_holds_no_private_part() -> None:
    key_set = jwk.rotated(jwk.new_key_set("a"), "b")
    public = json.loads(jwk.public_key_set(key_set))
    assert [k["kid"] for k in public["keys"]] == ["b", "a"]
    for key in public["keys"]:
        assert "d" not in key
        assert (key["kty"], key["crv"], key["alg"]) == ("EC", "P-256", "ES256")


def test_a_verifier_without_private_keys_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    token, _ = issue_access_token(ALICE)
    monkeypatch.delenv("INKWELL_JWT_PRIVATE_KEYS")
    tokens.forget_keys()
    try:
        assert verify_access_token(token) == ALICE
        with pytest.raises(ConfigurationError, match="INKWELL_JWT_PRIVATE_KEYS"):
            issue_access_token(ALICE)
    finally:
        monkeypatch.undo()
        tokens.forget_keys()


def test_tampered_payload_is_rejected() -> None:
    token, _ = issue_access_token(ALICE)
    header, _, signature = token.split(".")
    tampered = f"{header}.{_b64(_claims(role='admin'))}.{signature}"
    with pytest.raises(InvalidToken):
        verify_access_token(tampered)


def test_alg_none_token_is_rejected() -> None:
    with pytest.raises(InvalidToken):
        verify_access_token(unsigned_token(_claims(role="admin")))


def test_es512_token_is_rejected() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    token = _sign(_claims(), key=ec.generate_private_key(ec.SECP521R1()), algorithm="ES512")
    with pytest.raises(InvalidToken):
        verify_access_token(token)


def test_rs256_token_is_rejected() -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(), private_key, algorithm="RS256")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    with pytest.raises(InvalidToken):
        verify_access_token(token)


def test_wrong_issuer_is_rejected() -> None:
    with pytest.raises(InvalidToken, match=r"(?i)issuer"):
        verify_access_token(_sign(_claims(iss="someone-else")))


def test_wrong_audience_is_rejected() -> None:
    with pytest.raises(InvalidToken, match=r"(?i)audience"):
        verify_access_token(_sign(_claims(aud="another-api")))


@pytest.mark.parametrize("claim", ["iss", "aud", "exp", "iat", "sub"])
def test_missing_registered_claim_is_rejected(claim: str) -> None:
    claims = _claims()
    del claims[claim]
    with pytest.raises(InvalidToken):
        verify_access_token(_sign(claims))


@pytest.mark.parametrize("claim", ["username", "role"])
def test_missing_identity_claim_is_rejected(claim: str) -> None:
    claims = _claims()
    del claims[claim]
    with pytest.raises(InvalidToken, match="incomplete"):
        verify_access_token(_sign(claims))


@pytest.mark.parametrize("role", ["superuser", "ADMIN", "", 1, None, ["admin"]])
def test_bad_role_claim_is_rejected(role: Any) -> None:
    claims = _claims()
    claims["role"] = role
    with pytest.raises(InvalidToken):
        verify_access_token(_sign(claims))


@pytest.mark.parametrize("username", [7, None, ["alice"]])
def test_non_string_username_claim_is_rejected(username: Any) -> None:
    claims = _claims()
    claims["username"] = username
    with pytest.raises(InvalidToken):
        verify_access_token(_sign(claims))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "x" * 500, "Bearer x.y.z"])
def test_garbage_is_rejected(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        verify_access_token(garbage)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),
        ("BEARER abc", "abc"),
        ("  Bearer   abc  ", "abc"),
    ],
)
def test_bearer_header_parsing(header: str | None, expected: str | None) -> None:
    assert bearer_token(header) == expected


@pytest.mark.parametrize(
    "header", ["", "   ", "Bearer", "Bearer    ", "Basic dXNlcjpwYXNz", "Token abc", "abc.def.ghi"]
)
def test_bad_bearer_header_raises(header: str) -> None:
    with pytest.raises(InvalidToken):
        bearer_token(header)


def test_refresh_tokens_are_random_and_hashed() -> None:
    first, second = new_refresh_token(), new_refresh_token()
    assert first != second
    assert len(first) >= 43  # 32 random bytes, base64url
    digest = hash_refresh_token(first)
    assert digest == hash_refresh_token(first)
    assert digest != hash_refresh_token(second)
    assert first not in digest and len(digest) == 64


def test_missing_keys_are_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INKWELL_JWT_PRIVATE_KEYS")
    monkeypatch.delenv("INKWELL_JWT_PRIVATE_KEYS_SECRET_ARN", raising=False)
    monkeypatch.delenv("INKWELL_JWT_PUBLIC_KEYS")
    tokens.forget_keys()
    try:
        with pytest.raises(ConfigurationError, match="INKWELL_JWT_PRIVATE_KEYS"):
            signing_key()
        with pytest.raises(ConfigurationError, match="INKWELL_JWT_PUBLIC_KEYS"):
            tokens.verification_keys()
    finally:
        monkeypatch.undo()
        tokens.forget_keys()


@pytest.mark.parametrize(
    "value", ["not json", '{"keys": [{"kty": "oct", "k": "abc"}]}', '{"keys": []}']
)
def test_malformed_public_keys_are_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("INKWELL_JWT_PUBLIC_KEYS", value)
    tokens.forget_keys()
    try:
        with pytest.raises(ConfigurationError, match="INKWELL_JWT_PUBLIC_KEYS"):
            tokens.verification_keys()
    finally:
        monkeypatch.undo()
        tokens.forget_keys()


def test_algorithm_is_pinned_to_es256() -> None:
    assert tokens.ALGORITHM == "ES256"


# --- the verifier agrees with PyJWT ---------------------------------------------------------


def _pyjwt_accepts(token: str) -> bool:
    kid, key = signing_key()
    try:
        jwt.decode(
            token,
            key.public_key(),
            algorithms=["ES256"],
            audience=settings().jwt_audience,
            issuer=settings().jwt_issuer,
            leeway=5,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.PyJWTError:
        return False
    return jwt.get_unverified_header(token).get("kid") == kid


def _ours_accepts(token: str) -> bool:
    try:
        verify_access_token(token)
    except InvalidToken:
        return False
    return True


def _variants() -> dict[str, str]:
    now = int(time.time())
    good = _sign(_claims())
    header, payload, signature = good.split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    flipped = base64.urlsafe_b64encode(bytes([raw[0] ^ 1]) + raw[1:]).decode().rstrip("=")
    return {
        "good": good,
        "aud-list": _sign(_claims(aud=["other", settings().jwt_audience])),
        "aud-list-without-us": _sign(_claims(aud=["other"])),
        "flipped-signature": f"{header}.{payload}.{flipped}",
        "truncated-signature": f"{header}.{payload}.{signature[:-4]}",
        "no-signature": f"{header}.{payload}.",
        "iat-in-the-future": _sign(_claims(iat=now + 3600, exp=now + 7200)),
        "nbf-in-the-future": _sign({**_claims(), "nbf": now + 3600}),
        "exp-not-a-number": _sign(_claims(exp="tomorrow")),
        "expired-within-leeway": _sign(_claims(exp=now - 2)),
        "expired-beyond-leeway": _sign(_claims(exp=now - 60)),
        "payload-not-an-object": f"{header}.{base64.urlsafe_b64encode(b'[1, 2]').decode()}"
        f".{signature}",
        "four-parts": f"{good}.x",
        "non-base64": f"{header}.{payload}.!!!!",
    }


@pytest.mark.parametrize("name", list(_variants()))
def test_the_verifier_agrees_with_pyjwt(name: str) -> None:
    token = _variants()[name]
    assert _ours_accepts(token) == _pyjwt_accepts(token), name
    assert _ours_accepts(token) == (name in ("good", "aud-list", "expired-within-leeway"))


def test_crit_headers_are_rejected() -> None:
    token = jwt.encode(
        _claims(),
        signing_key()[1],
        algorithm="ES256",
        headers={"kid": signing_key()[0], "crit": ["exp"]},
    )
    with pytest.raises(InvalidToken):
        verify_access_token(token)
