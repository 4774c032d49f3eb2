"""The API Gateway Lambda authorizer: verifies bearer JWTs.

Kept tiny on purpose (no FastAPI, no database, no boto3 on the hot path): it runs in front
of every authenticated request.

- TOKEN events (routes that require a signed-in caller): a valid token is allowed, anything
  else is "Unauthorized" (API Gateway answers 401).
- REQUEST events (routes open to anyone): no Authorization header is allowed as anonymous;
  a header that is present must carry a valid token, else 401.

A token that is genuine but expired is the one refusal worth explaining: it is allowed with
no identity and ``tokenError: expired`` in the context, and the function answers 401
saying so (inkwell.http); API Gateway's own 401 cannot say why. Anything else wrong with a
token stays a plain "Unauthorized".

The policy allows every method of the stage, so API Gateway can cache the decision per token
and reuse it across routes; what a caller may do is decided by each function from the
identity passed in the context.
"""

from __future__ import annotations

from typing import Any

from inkwell.tokens import (
    ExpiredToken,
    InvalidToken,
    Principal,
    bearer_token,
    verify_access_token,
)

ANONYMOUS = "anonymous"
EXPIRED = "expired-token"


class Unauthorized(Exception):
    """API Gateway turns exactly this message into a 401 response."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def _stage_wildcard(method_arn: str) -> str:
    # arn:aws:execute-api:region:account:api-id/stage/METHOD/resource/path
    head, _, rest = method_arn.partition("/")
    stage = rest.split("/", 1)[0] if rest else "*"
    return f"{head}/{stage}/*/*"


def _policy(principal_id: str, method_arn: str, context: dict[str, str]) -> dict[str, Any]:
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": _stage_wildcard(method_arn),
                }
            ],
        },
        "context": context,
    }


def _header(event: dict[str, Any]) -> str | None:
    if event.get("type") == "TOKEN":
        return str(event.get("authorizationToken") or "")
    for name, value in (event.get("headers") or {}).items():
        if name.lower() == "authorization":
            return str(value)
    return None


def authorize(event: dict[str, Any]) -> Principal | None:
    """The verified caller, None for an anonymous REQUEST; raises Unauthorized otherwise."""
    try:
        token = bearer_token(_header(event))
    except InvalidToken:
        raise Unauthorized() from None
    if token is None:
        return None
    try:
        return verify_access_token(token)
    except ExpiredToken:
        raise  # before InvalidToken, of which it is a kind: the handler explains it
    except InvalidToken:
        raise Unauthorized() from None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    method_arn = str(event.get("methodArn", "*"))
    try:
        principal = authorize(event)
    except ExpiredToken:
        return _policy(EXPIRED, method_arn, {"tokenError": "expired"})
    if principal is None:
        if event.get("type") == "TOKEN":
            raise Unauthorized()
        return _policy(ANONYMOUS, method_arn, {})
    return _policy(
        principal.user_id,
        method_arn,
        {"userId": principal.user_id, "username": principal.username, "role": principal.role},
    )
