"""The AWS-shaped configuration with Secrets Manager served by moto's server over HTTP on
loopback (our client speaks HTTP, so in-process mocks would not see it): the token signing
keys read by login and refresh, the signing-keys custom resource, the RDS IAM connection
settings, and the maintenance function provisioning the database users with the master
secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import jwt
import pytest

import wiring
from inkwell import db_users, env, jwk, secrets, tokens
from inkwell.db import ConnectionParams
from inkwell.migrations import MigrationFailed
from local import platform
from local.dispatch import context_for
from tests.conftest import Api
from tests.integration.support import USERS, assert_problem, sign_up, user_row
from tests.token_keys import TEST_KEY_SET
from users.jobs import maintenance, signing_keys

# moto's server start is the slow part: keep its tests on one worker.
pytestmark = pytest.mark.xdist_group("moto")


@dataclass
class Aws:
    monkeypatch: pytest.MonkeyPatch
    client: Any

    def secret(self, name: str, value: str) -> str:
        arn: str = self.client.create_secret(Name=name, SecretString=value)["ARN"]
        return arn


_names = iter(range(1_000_000))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, moto_url: str) -> Iterator[Aws]:
    """Secrets Manager at moto's server; every cache of a secret or key forgotten around."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_url)
    secrets.forget()
    tokens.forget_keys()
    try:
        yield Aws(
            monkeypatch,
            boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=moto_url),
        )
    finally:
        monkeypatch.undo()
        secrets.forget()
        tokens.forget_keys()


def use_private_keys_secret(aws: Aws, key_set: dict[str, Any]) -> str:
    arn = aws.secret(f"inkwell/jwt-{next(_names)}", json.dumps(key_set))
    aws.monkeypatch.delenv(env.JWT_PRIVATE_KEYS)
    aws.monkeypatch.setenv(env.JWT_PRIVATE_KEYS_SECRET_ARN, arn)
    tokens.forget_keys()
    return arn


def test_login_signs_with_the_key_in_secrets_manager(aws: Aws, api: Api) -> None:
    key_set = jwk.new_key_set("aws-1")
    use_private_keys_secret(aws, key_set)
    aws.monkeypatch.setenv(env.JWT_PUBLIC_KEYS, jwk.public_key_set(key_set))
    account = sign_up(api, "alice")
    assert jwt.get_unverified_header(account.token)["kid"] == "aws-1"
    public = jwt.PyJWK(jwk.public_jwk(key_set["current"])).key
    jwt.decode(account.token, public, algorithms=["ES256"], audience="inkwell-api")
    assert api.call("GET", f"{USERS}/me", token=account.token).status == 200
    # A token signed with the tests' own key is not accepted by this deployment.
    aws.monkeypatch.setenv(env.JWT_PRIVATE_KEYS, json.dumps(TEST_KEY_SET))
    tokens.forget_keys()
    other, _ = tokens.issue_access_token(tokens.Principal(account.id, "alice", "user"))
    aws.monkeypatch.delenv(env.JWT_PRIVATE_KEYS)
    tokens.forget_keys()
    assert_problem(api.call("GET", f"{USERS}/me", token=other), 401)


def test_the_private_key_secret_is_read_once(aws: Aws) -> None:
    arn = use_private_keys_secret(aws, jwk.new_key_set("first"))
    assert tokens.signing_key()[0] == "first"
    aws.client.put_secret_value(SecretId=arn, SecretString=json.dumps(jwk.new_key_set("next")))
    assert tokens.signing_key()[0] == "first"  # warm invocations reuse it
    secrets.forget()
    tokens.forget_keys()
    assert tokens.signing_key()[0] == "next"


def test_a_public_key_secret_cannot_sign(aws: Aws) -> None:
    from inkwell.settings import ConfigurationError

    key_set = jwk.new_key_set("k")
    use_private_keys_secret(aws, {"current": jwk.public_jwk(key_set["current"])})
    with pytest.raises(ConfigurationError, match="private"):
        tokens.signing_key()


def test_a_missing_secret_is_an_error_naming_it(aws: Aws) -> None:
    aws.monkeypatch.delenv(env.JWT_PRIVATE_KEYS)
    aws.monkeypatch.setenv(
        env.JWT_PRIVATE_KEYS_SECRET_ARN,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:inkwell/missing-AbCdEf",
    )
    with pytest.raises(secrets.SecretUnavailable, match="inkwell/missing"):
        tokens.signing_key()


# --- the signing-keys custom resource -------------------------------------------------------


def custom_resource(
    request: str, generation: str | None, physical: str | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {"RequestType": request, "ResourceProperties": {}}
    if generation is not None:
        event["ResourceProperties"]["Generation"] = generation
    if physical is not None:
        event["PhysicalResourceId"] = physical
    return signing_keys.handler(event, None)


def test_signing_keys_resource_rotates_with_an_overlap(aws: Aws) -> None:
    arn = aws.secret(f"inkwell/jwt-keys-{next(_names)}", "placeholder")
    aws.monkeypatch.setenv(env.JWT_PRIVATE_KEYS_SECRET_ARN, arn)
    created = custom_resource("Create", "1")
    public = json.loads(created["Data"]["PublicKeys"])
    assert [k["kid"].split("-")[0] for k in public["keys"]] == ["1"]
    assert all("d" not in k for k in public["keys"])
    stored = json.loads(aws.client.get_secret_value(SecretId=arn)["SecretString"])
    assert stored["current"]["kid"] == public["keys"][0]["kid"] and stored["current"]["d"]

    same = custom_resource("Update", "1", created["PhysicalResourceId"])
    assert same == created  # same generation: nothing changes

    rotated = custom_resource("Update", "2", created["PhysicalResourceId"])
    assert rotated["PhysicalResourceId"] == created["PhysicalResourceId"]
    kids = [k["kid"] for k in json.loads(rotated["Data"]["PublicKeys"])["keys"]]
    assert kids[0].startswith("2-") and kids[1] == public["keys"][0]["kid"]

    # Tokens of generation 1 verify with the new public set, and login signs with gen 2.
    aws.monkeypatch.delenv(env.JWT_PRIVATE_KEYS)
    aws.monkeypatch.setenv(env.JWT_PRIVATE_KEYS, json.dumps(stored))
    tokens.forget_keys()
    old_token, _ = tokens.issue_access_token(tokens.Principal("u-1", "alice", "user"))
    aws.monkeypatch.delenv(env.JWT_PRIVATE_KEYS)
    aws.monkeypatch.setenv(env.JWT_PUBLIC_KEYS, rotated["Data"]["PublicKeys"])
    tokens.forget_keys()
    assert tokens.signing_key()[0] == kids[0]
    assert tokens.verify_access_token(old_token).username == "alice"

    assert custom_resource("Delete", "2", created["PhysicalResourceId"]) == {
        "PhysicalResourceId": created["PhysicalResourceId"]
    }
    assert (
        json.loads(aws.client.get_secret_value(SecretId=arn)["SecretString"])["current"]["kid"]
        == kids[0]
    )


# --- RDS IAM connection settings ------------------------------------------------------------


def test_iam_settings_connect_to_the_proxy_as_the_app_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(env.db_url("users"), raising=False)
    monkeypatch.setenv(env.DB_AUTH, env.DB_AUTH_IAM)
    monkeypatch.setenv(env.db_host("users"), "users.proxy-x.us-east-1.rds.amazonaws.com")
    monkeypatch.setenv(env.db_instance_host("users"), "users.x.us-east-1.rds.amazonaws.com")
    monkeypatch.setenv(env.db_name("users"), "inkwell")
    params = ConnectionParams.for_domain("users")
    assert (params.host, params.port, params.database, params.user, params.tls, params.iam) == (
        "users.proxy-x.us-east-1.rds.amazonaws.com",
        5432,
        "inkwell",
        "users_app",
        True,
        True,
    )
    assert str(params.secret_password()).startswith(
        "users.proxy-x.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=users_app&"
    )
    maintenance_params = ConnectionParams.for_domain("users", maintenance=True)
    assert (maintenance_params.host, maintenance_params.user) == (
        "users.x.us-east-1.rds.amazonaws.com",
        "users_owner",
    )
    monkeypatch.setenv(env.db_user("users"), "custom_user")
    monkeypatch.setenv(env.db_port("users"), "6432")
    monkeypatch.setenv(env.DB_TLS, "disable")
    params = ConnectionParams.for_domain("users")
    assert (params.user, params.port, params.tls) == ("custom_user", 6432, False)


def test_without_url_or_iam_the_error_names_the_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from inkwell.settings import ConfigurationError

    monkeypatch.delenv(env.db_url("users"), raising=False)
    monkeypatch.delenv(env.DB_AUTH, raising=False)
    with pytest.raises(ConfigurationError, match="INKWELL_USERS_DB_URL"):
        ConnectionParams.for_domain("users")


# --- the users maintenance function -------------------------------------------------------

CONTEXT = context_for(next(f for f in wiring.MAINTENANCE if f.name == "users-maintenance"))


def fresh_app_url(fresh_database_url: str) -> str:
    """The fresh database's URL as the users application user (not provisioned yet)."""
    name = ConnectionParams.from_url(fresh_database_url).database
    return platform.database_url(fresh_database_url, name, env.app_user("users"))


def test_maintenance_provisions_with_the_master_secret_then_migrates_as_owner(
    aws: Aws, fresh_database_url: str
) -> None:
    superuser = ConnectionParams.from_url(fresh_database_url)
    master = aws.secret(
        f"inkwell/master-{next(_names)}",
        json.dumps({"username": superuser.user, "password": "unused-with-trust-auth"}),
    )
    aws.monkeypatch.setenv(env.db_url("users"), fresh_app_url(fresh_database_url))
    with pytest.raises(MigrationFailed, match="INKWELL_USERS_DB_MASTER_SECRET_ARN"):
        maintenance.handler({}, CONTEXT)  # not provisioned, and no master secret
    aws.monkeypatch.setenv(env.db_master_secret_arn("users"), master)
    assert "0001_users" in maintenance.handler({}, CONTEXT)["applied"]
    conn = superuser.connect()
    try:
        assert conn.run(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ) == [["users_owner"]]
        assert conn.run(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        ) == [["users_owner"]]
        assert db_users.up_to_date(conn, "users")
    finally:
        conn.close()
    # Provisioned: the next deploy does not read the master secret (now unreadable).
    aws.client.delete_secret(SecretId=master, ForceDeleteWithoutRecovery=True)
    secrets.forget()
    assert maintenance.handler({}, CONTEXT) == {"applied": []}


def test_maintenance_promotes_an_admin(api: Api) -> None:
    alice = sign_up(api, "alice")
    result = maintenance.handler({"action": "promote-admin", "username": "ALICE"}, CONTEXT)
    assert result == {"promoted": "alice"}
    assert user_row(alice.id)["role"] == "admin"
    # The promotion shows in the next token.
    refreshed = api.call("POST", f"{USERS}/refresh", {"refreshToken": alice.refresh_token})
    assert refreshed.json()["user"]["role"] == "admin"
    assert api.call("GET", USERS, token=refreshed.json()["token"]).status == 200


@pytest.mark.parametrize(
    "event", [{"action": "promote-admin", "username": "ghost"}, {"action": "promote-admin"}]
)
def test_maintenance_promote_unknown_user(api: Api, event: dict[str, Any]) -> None:
    assert maintenance.handler(event, CONTEXT) == {"error": "User was not found."}


def test_maintenance_unknown_action(api: Api) -> None:
    result = maintenance.handler({"action": "drop-everything"}, CONTEXT)
    assert "unknown action" in result["error"]
