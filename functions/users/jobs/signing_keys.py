"""The access-token signing keys: a CloudFormation custom resource (CDK Provider on_event).

``ResourceProperties.Generation`` names the key generation the stack wants. When it differs
from the generation stored in the private key secret (``INKWELL_JWT_PRIVATE_KEYS_SECRET_ARN``),
a new P-256 key is generated and becomes current, the old current key becomes the previous
one (tokens it signed keep verifying until they expire), and the set is written back. The
resource returns the public key set (JWKS JSON) as ``Data.PublicKeys``, which the stack
passes to the functions that verify tokens. Delete is a no-op: the secret is the stack's.

Runs at deploy time only, so boto3 is fine here.
"""

from __future__ import annotations

import json
import os
import secrets
from typing import Any

from inkwell import env, jwk

PHYSICAL_ID = "inkwell-jwt-signing-keys"


def _client() -> Any:
    import boto3

    return boto3.client("secretsmanager")


def _stored(client: Any, arn: str) -> dict[str, Any] | None:
    try:
        raw = client.get_secret_value(SecretId=arn).get("SecretString")
    except client.exceptions.ResourceNotFoundException:
        return None
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        return None  # e.g. the placeholder a new secret is created with
    return parsed if isinstance(parsed, dict) and parsed.get("current") else None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = event.get("RequestType")
    if request == "Delete":
        return {"PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_ID}
    generation = str((event.get("ResourceProperties") or {}).get("Generation") or "1")
    arn = os.environ[env.JWT_PRIVATE_KEYS_SECRET_ARN]
    client = _client()
    key_set = _stored(client, arn)
    if key_set is None or key_set.get("generation") != generation:
        key_set = jwk.rotated(key_set, f"{generation}-{secrets.token_hex(4)}")
        key_set["generation"] = generation
        client.put_secret_value(SecretId=arn, SecretString=json.dumps(key_set))
    return {"PhysicalResourceId": PHYSICAL_ID, "Data": {"PublicKeys": jwk.public_key_set(key_set)}}
