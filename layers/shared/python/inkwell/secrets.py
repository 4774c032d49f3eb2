"""Secrets Manager access, cached for the life of the execution environment.

boto3 is imported only when a secret is actually fetched, so functions that never read a
secret (and local runs, which pass values directly) do not pay for it at cold start.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any


@cache
def _client() -> Any:
    import boto3  # deferred: see module docstring

    return boto3.client("secretsmanager")


@cache
def secret_string(arn: str) -> str:
    value = _client().get_secret_value(SecretId=arn)["SecretString"]
    return str(value)


def secret_json(arn: str) -> dict[str, Any]:
    parsed = json.loads(secret_string(arn))
    if not isinstance(parsed, dict):
        raise ValueError(f"secret {arn} is not a JSON object")
    return parsed


def forget() -> None:
    """Drop cached values, e.g. after a rotation made a connection fail to authenticate."""
    secret_string.cache_clear()
    _client.cache_clear()
