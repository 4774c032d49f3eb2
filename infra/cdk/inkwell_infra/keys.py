"""The JWT signing keys (ES256, each with a ``kid``): a private key set in Secrets Manager,
created and rotated at deploy time by a custom resource, and the public keys it returns.

- The secret ``JwtPrivateKeys`` starts with no key (``{"current": null, "previous":
  null}``: CloudFormation needs a value or a generated string, and a generated string
  would be a key nobody uses); the ``users-signing-keys`` function
  (``wiring.SIGNING_KEYS``) writes ``{"current": jwk, "previous": jwk | null}`` to it.
  Only the functions that sign (``Access.SIGNING_KEY``: login, refresh) may read it.
- The custom resource ``SigningKeys`` calls that function on every deploy where its
  ``Generation`` property changes (context ``jwtKeyGeneration``, default ``"1"``). A new
  generation makes a new current key; the old current becomes previous, so tokens it
  signed keep verifying until they expire. Its ``PublicKeys`` attribute (a JWKS document)
  is the authorizer's ``INKWELL_JWT_PUBLIC_KEYS``: verifying needs no secret and no call.
"""

from __future__ import annotations

import json

from aws_cdk import CustomResource, SecretValue, custom_resources
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

PUBLIC_KEYS_ATTRIBUTE = "PublicKeys"
GENERATION_PROPERTY = "Generation"
EMPTY_KEY_SET = json.dumps({"current": None, "previous": None})


class PrivateKeys(Construct):
    """The secret that holds the private signing keys (no value until the keys exist)."""

    def __init__(self, scope: Construct, construct_id: str, *, name_prefix: str) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description=f"{name_prefix}: JWT private signing keys (ES256 JWKs, current and "
            "previous), written by the signing-keys custom resource",
            # Not secret: the placeholder until the custom resource writes the keys.
            secret_string_value=SecretValue.unsafe_plain_text(EMPTY_KEY_SET),
        )


class SigningKeys(Construct):
    """The custom resource that creates/rotates the keys; ``public_keys`` is its JWKS."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        generation: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.provider = custom_resources.Provider(self, "Provider", on_event_handler=handler)
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            resource_type="Custom::InkwellSigningKeys",
            properties={GENERATION_PROPERTY: generation},
        )
        self.public_keys = self.resource.get_att_string(PUBLIC_KEYS_ATTRIBUTE)
