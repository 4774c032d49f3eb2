"""The environment a cold start runs in: local, or shaped as on AWS with moto's server.

- ``local``: what `make run` sets (database URLs, the signing key in the environment).
- ``aws``: AWS as the code does it with ``INKWELL_DB_AUTH=iam``: an RDS IAM token signed in
  process for ``INKWELL_<DOMAIN>_DB_HOST/_PORT/_NAME/_USER`` (the local PostgreSQL trusts
  the connection, so the token stands as the password), ES256 public keys in
  ``INKWELL_JWT_PUBLIC_KEYS``, the private key set read from Secrets Manager by the signing
  functions (``INKWELL_JWT_PRIVATE_KEYS_SECRET_ARN``).

Every AWS API (Secrets Manager, EventBridge) is moto's server over HTTP
on loopback (``AWS_ENDPOINT_URL``), with placeholder credentials; writes publish their
events to a bus there, as on AWS before the first response. TLS to the database is off (the
local PostgreSQL has none): the TLS handshake of RDS Proxy is not in these numbers.
"""

from __future__ import annotations

import os
import urllib.request
from typing import Any

from inkwell import env, jwk
from inkwell.db import ConnectionParams

REGION = "us-east-1"
BUS = "inkwell-bench"


class MotoServer:
    """moto's server in a thread of this process, on `port` (loopback)."""

    def __init__(self, port: int) -> None:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        # moto's state is per process, not per server: start from none.
        reset = f"{self.endpoint}/moto-api/reset"  # http on loopback
        request = urllib.request.Request(reset, method="POST")  # noqa: S310
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )

    def secret(self, name: str, value: str) -> str:
        return str(
            self.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
        )

    def stop(self) -> None:
        self._server.stop()


def _aws_common(moto: MotoServer) -> dict[str, str]:
    moto.client("events").create_event_bus(Name=BUS)
    return {
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        env.EVENT_BUS_NAME: BUS,
        env.DB_TLS: "disable",
    }


def _without(base: dict[str, str], *prefixes: str) -> dict[str, str]:
    return {k: v for k, v in base.items() if not k.startswith(prefixes)}


def aws_environment(
    base: dict[str, str], urls: dict[str, str], moto: MotoServer, app_users: dict[str, str]
) -> dict[str, str]:
    """`base` must sign with the key set in ``INKWELL_JWT_PRIVATE_KEYS``
    (`local_keys_environment`)."""
    found = _without(base, "AWS_ENDPOINT_URL", env.JWT_PRIVATE_KEYS)
    found.update(_aws_common(moto))
    found[env.DB_AUTH] = env.DB_AUTH_IAM
    for domain, url in urls.items():
        params = ConnectionParams.from_url(url)
        del found[env.db_url(domain)]
        found.update(
            {
                env.db_host(domain): params.host,
                env.db_port(domain): str(params.port),
                env.db_name(domain): params.database,
                env.db_user(domain): app_users.get(domain) or params.user,
            }
        )
    found[env.JWT_PRIVATE_KEYS_SECRET_ARN] = moto.secret(
        "bench/jwt-private", base[env.JWT_PRIVATE_KEYS]
    )
    return found


def local_keys_environment() -> dict[str, str]:
    """For the aws shape: the parent signs the scenarios' tokens with the same ES256 key."""
    from local.platform import token_key_environment

    return token_key_environment(jwk.new_key_set("bench-1"))


def app_users(urls: dict[str, str]) -> dict[str, str]:
    """Each domain's application user, where the migrations created it."""
    from inkwell.db import query

    found = {}
    for domain, url in urls.items():
        conn = ConnectionParams.from_url(url).connect("inkwell-bench")
        try:
            if query(conn, "SELECT 1 FROM pg_roles WHERE rolname = :r", r=env.app_user(domain)):
                found[domain] = env.app_user(domain)
        finally:
            conn.close()
    return found


def in_environment(values: dict[str, str]) -> None:
    """Make `values` this process's environment (the parent's view, for seeding)."""
    for key in set(os.environ) - set(values):
        if key.startswith(("INKWELL_", "AWS_")):
            del os.environ[key]
    os.environ.update(values)
