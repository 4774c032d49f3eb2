"""Secrets Manager GetSecretValue without boto3, cached for the life of the environment.

Only the functions that sign access tokens (login, refresh) read a secret on the request
path, so the call is a SigV4-signed HTTPS POST with the standard library (inkwell.awsjson)
rather than boto3's import and client creation. The endpoint honours
``AWS_ENDPOINT_URL_SECRETS_MANAGER`` / ``AWS_ENDPOINT_URL`` like the AWS SDKs.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from inkwell import awsjson


class SecretUnavailable(Exception):
    """The secret could not be read."""


@cache
def _client() -> awsjson.AwsJsonClient:
    return awsjson.AwsJsonClient(
        signing_name="secretsmanager",
        target_prefix="secretsmanager",
        endpoint_id="SECRETS_MANAGER",
    )


@cache
def secret_string(arn: str) -> str:
    try:
        answer = _client().call("GetSecretValue", {"SecretId": arn})
    except awsjson.AwsCallFailed as exc:
        raise SecretUnavailable(f"reading secret {arn}: {exc}") from exc
    value = answer.get("SecretString")
    if not isinstance(value, str):
        raise SecretUnavailable(f"secret {arn} has no SecretString")
    return value


def secret_json(arn: str) -> dict[str, Any]:
    parsed = json.loads(secret_string(arn))
    if not isinstance(parsed, dict):
        raise ValueError(f"secret {arn} is not a JSON object")
    return parsed


def forget() -> None:
    """Drop cached values, e.g. after a rotation."""
    secret_string.cache_clear()
    _client.cache_clear()
