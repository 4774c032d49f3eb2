"""The Lambda authorizer, called directly with TOKEN and REQUEST events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

import wiring
from authorizer.handler import Unauthorized, handler
from inkwell import jwk
from inkwell.settings import settings
from inkwell.tokens import Principal, issue_access_token, signing_key
from local import apigw
from local.dispatch import context_for

ROOT = Path(__file__).resolve().parents[2]
ALICE = Principal("3f1c3f0e-2c5e-4b8e-9a53-0c1a8f1b2d3e", "alice", "moderator")
ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/api/v1/users/me"
STAGE_WILDCARD = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/*"
CONTEXT = context_for(wiring.AUTHORIZER)


def token_event(authorization: str, arn: str = ARN) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": authorization, "methodArn": arn}


def request_event(headers: dict[str, str] | None) -> dict[str, Any]:
    route = wiring.route_by_name("users-get-user")
    path = "/api/v1/users/3f1c3f0e-2c5e-4b8e-9a53-0c1a8f1b2d3e"
    request = apigw.request_event(
        route,
        path,
        headers={k: [v] for k, v in (headers or {}).items()},
        path_parameters={"id": "3f1c3f0e-2c5e-4b8e-9a53-0c1a8f1b2d3e"},
    )
    event = apigw.authorizer_event(route, request)
    assert event["type"] == "REQUEST"
    return event


def valid_token(principal: Principal = ALICE) -> str:
    return issue_access_token(principal)[0]


def bad_tokens() -> dict[str, str]:
    now = int(time.time())
    claims = {
        "iss": settings().jwt_issuer,
        "aud": settings().jwt_audience,
        "sub": ALICE.user_id,
        "username": "alice",
        "role": "admin",
        "iat": now,
        "exp": now + 300,
    }
    b64 = jwt.utils.base64url_encode
    kid, key = signing_key()
    return {
        "forged": jwt.encode(
            claims, jwt.PyJWK(jwk.new_private_jwk(kid)).key, algorithm="ES256", headers={"kid": kid}
        ),
        "hs256": jwt.encode(claims, "x" * 40, algorithm="HS256", headers={"kid": kid}),
        "alg-none": ".".join(
            [
                b64(json.dumps({"alg": "none", "kid": kid}).encode()).decode(),
                b64(json.dumps(claims).encode()).decode(),
                "",
            ]
        ),
        "other-audience": jwt.encode(
            {**claims, "aud": "other"}, key, algorithm="ES256", headers={"kid": kid}
        ),
        "garbage": "not-a-token",
    }


def _assert_allow(result: dict[str, Any], principal_id: str, resource: str) -> None:
    assert result["principalId"] == principal_id
    assert result["policyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}],
    }


def test_token_event_with_valid_token_allows_with_identity_context() -> None:
    result = handler(token_event(f"Bearer {valid_token()}"), CONTEXT)
    _assert_allow(result, ALICE.user_id, STAGE_WILDCARD)
    assert result["context"] == {"userId": ALICE.user_id, "username": "alice", "role": "moderator"}
    # API Gateway only passes string, number or boolean context values.
    assert all(isinstance(v, str | int | float | bool) for v in result["context"].values())


def test_policy_covers_every_method_and_resource_of_the_stage_only() -> None:
    other = "arn:aws:execute-api:eu-west-1:111122223333:xyz/dev/DELETE/api/v1/users/1/role"
    result = handler(token_event(f"Bearer {valid_token()}", arn=other), CONTEXT)
    statement = result["policyDocument"]["Statement"][0]
    assert statement["Resource"] == "arn:aws:execute-api:eu-west-1:111122223333:xyz/dev/*/*"


@pytest.mark.parametrize("authorization", ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "abc"])
def test_token_event_without_a_bearer_token_is_unauthorized(authorization: str) -> None:
    with pytest.raises(Unauthorized) as raised:
        handler(token_event(authorization), CONTEXT)
    assert str(raised.value) == "Unauthorized"


@pytest.mark.parametrize("kind", sorted(bad_tokens()))
def test_token_event_with_a_bad_token_is_unauthorized(kind: str) -> None:
    with pytest.raises(Unauthorized) as raised:
        handler(token_event(f"Bearer {bad_tokens()[kind]}"), CONTEXT)
    assert str(raised.value) == "Unauthorized"  # the exact message API Gateway maps to 401


@pytest.mark.parametrize(
    "make_event",
    [
        lambda header: token_event(header),
        lambda header: request_event({"Authorization": header}),
    ],
)
def test_a_genuine_expired_token_passes_with_no_identity_and_the_reason(make_event: Any) -> None:
    """API Gateway's 401 cannot say why: the function answers it, saying "expired"."""
    expired = issue_access_token(ALICE, now=time.time() - 3600)[0]
    result = handler(make_event(f"Bearer {expired}"), CONTEXT)
    assert result["principalId"] == "expired-token"
    assert result["context"] == {"tokenError": "expired"}


def test_request_event_without_header_is_anonymous_allow() -> None:
    result = handler(request_event(None), CONTEXT)
    # The methodArn names the actual request; the policy widens it to the whole stage.
    _assert_allow(
        result,
        "anonymous",
        f"arn:aws:execute-api:{apigw.REGION}:{apigw.ACCOUNT}:{apigw.API_ID}/{apigw.STAGE}/*/*",
    )
    assert result["context"] == {}


def test_request_event_with_valid_token_allows_with_context() -> None:
    result = handler(request_event({"Authorization": f"Bearer {valid_token()}"}), CONTEXT)
    assert result["principalId"] == ALICE.user_id
    assert result["context"]["userId"] == ALICE.user_id
    assert result["context"]["role"] == "moderator"


def test_request_event_header_name_is_case_insensitive() -> None:
    result = handler(request_event({"AUTHORIZATION": f"bearer {valid_token()}"}), CONTEXT)
    assert result["context"]["username"] == "alice"


@pytest.mark.parametrize("kind", sorted(bad_tokens()))
def test_request_event_with_a_bad_token_is_unauthorized(kind: str) -> None:
    with pytest.raises(Unauthorized):
        handler(request_event({"Authorization": f"Bearer {bad_tokens()[kind]}"}), CONTEXT)


@pytest.mark.parametrize("authorization", ["", "Basic dXNlcjpwYXNz", "Bearer"])
def test_request_event_with_a_malformed_header_is_unauthorized(authorization: str) -> None:
    with pytest.raises(Unauthorized):
        handler(request_event({"Authorization": authorization}), CONTEXT)


def test_authorizer_imports_no_heavy_dependency() -> None:
    """It stays tiny: no FastAPI, no database driver, no boto3, not even PyJWT (its
    verifier is inkwell.es256), and no secret fetch or private key, even after verifying
    a token."""
    code = (
        "import os, sys, authorizer.handler\n"
        "event = {'type': 'TOKEN', 'authorizationToken': 'Bearer ' + os.environ['TOKEN'],"
        " 'methodArn': 'arn:aws:execute-api:us-east-1:1:a/prod/GET/x'}\n"
        "assert authorizer.handler.handler(event, None)['principalId']\n"
        "heavy = [m for m in ('fastapi', 'pydantic', 'mangum', 'pg8000', 'boto3', 'botocore',"
        " 'aws_lambda_powertools', 'inkwell.secrets', 'inkwell.awsjson', 'jwt')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            str(ROOT / p) for p in ("functions", "layers/shared/python", ".")
        ),
        "TOKEN": valid_token(),
    }
    del env["INKWELL_JWT_PRIVATE_KEYS"]  # the authorizer holds no signing key
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    assert done.stdout.strip() == ""
