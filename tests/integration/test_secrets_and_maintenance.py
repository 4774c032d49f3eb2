"""The AWS-shaped configuration, with Secrets Manager faked by moto: the database secret,
the JWT signing-key secret, and the users maintenance function."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import jwt
import pytest
from moto import mock_aws

from inkwell import secrets, tokens
from inkwell.db import ConnectionParams, Database
from inkwell.tokens import Principal, issue_access_token, verify_access_token
from local.dispatch import context_for
from tests.conftest import Api
from tests.integration.support import USERS, assert_problem, sign_up, sql, user_row
from users import maintenance

# moto's first activation is the slow part: keep its tests on one worker.
pytestmark = pytest.mark.xdist_group("moto")

MOTO_SIGNING_KEY = "moto-held-signing-key-" + "k" * 40


@dataclass
class Aws:
    monkeypatch: pytest.MonkeyPatch

    def secret(self, name: str, value: str) -> str:
        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn: str = client.create_secret(Name=name, SecretString=value)["ARN"]
        return arn

    def database_secret(self, url: str, **extra: Any) -> str:
        """An RDS-format secret holding the connection settings of `url`."""
        params = ConnectionParams.from_url(url)
        value = {"engine": "postgres", "username": params.user,
                 "password": params.password or "unused-with-trust-auth", "host": params.host,
                 "port": params.port, "dbname": params.database, **extra}
        return self.secret(f"inkwell/users-db-{len(json.dumps(value))}", json.dumps(value))

    def use_database_secret(self, url: str, *, tls: str | None = "disable", **extra: Any) -> str:
        arn = self.database_secret(url, **extra)
        self.monkeypatch.delenv("INKWELL_USERS_DB_URL")
        self.monkeypatch.setenv("INKWELL_USERS_DB_SECRET_ARN", arn)
        if tls is None:
            self.monkeypatch.delenv("INKWELL_DB_TLS", raising=False)
        else:
            self.monkeypatch.setenv("INKWELL_DB_TLS", tls)
        return arn


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, database_urls: dict[str, str]) -> Iterator[Aws]:
    """moto's Secrets Manager; the environment and every secret cache are restored after."""
    secrets.forget()
    tokens.signing_key.cache_clear()
    try:
        with mock_aws():
            yield Aws(monkeypatch)
    finally:
        monkeypatch.undo()
        secrets.forget()
        tokens.signing_key.cache_clear()


def test_database_settings_come_from_the_rds_secret(aws: Aws, database_urls: dict[str, str]):
    url = database_urls["users"]
    aws.use_database_secret(url)
    params = ConnectionParams.for_domain("users")
    expected = ConnectionParams.from_url(url)
    assert (params.user, params.host, params.port, params.database) == (
        expected.user, expected.host, expected.port, expected.database
    )
    assert params.tls is False
    conn = params.connect("inkwell-test-secret")
    try:
        assert conn.run("SELECT current_database()") == [[expected.database]]
    finally:
        conn.close()


def test_database_object_connects_through_the_secret(
    aws: Aws, clean_databases: dict[str, str]
) -> None:
    aws.use_database_secret(clean_databases["users"])
    db = Database("users")
    try:
        with db.transaction() as s:
            s.execute("INSERT INTO users (username, email, password_hash)"
                      " VALUES ('via_secret', 'via@example.com', 'x')")
    finally:
        db.discard_connection()
    aws.monkeypatch.undo()
    assert sql("SELECT username FROM users") == [{"username": "via_secret"}]


def test_host_variable_overrides_the_secret_host(aws: Aws, database_urls: dict[str, str]):
    url = database_urls["users"]
    aws.use_database_secret(url, host="db.internal.invalid")
    assert ConnectionParams.for_domain("users").host == "db.internal.invalid"
    aws.monkeypatch.setenv("INKWELL_USERS_DB_HOST", ConnectionParams.from_url(url).host)
    conn = ConnectionParams.for_domain("users").connect()
    try:
        assert conn.run("SELECT 1") == [[1]]
    finally:
        conn.close()


def test_tls_is_verified_by_default_on_aws(aws: Aws, database_urls: dict[str, str]) -> None:
    aws.use_database_secret(database_urls["users"], tls=None)
    assert ConnectionParams.for_domain("users").tls is True
    aws.monkeypatch.setenv("INKWELL_DB_TLS", "verify-full")
    assert ConnectionParams.for_domain("users").tls is True


def test_secret_without_dbname_defaults_to_the_domain(aws: Aws) -> None:
    arn = aws.secret("inkwell/no-dbname", json.dumps(
        {"username": "u", "password": "p", "host": "h"}))
    aws.monkeypatch.delenv("INKWELL_USERS_DB_URL")
    aws.monkeypatch.setenv("INKWELL_USERS_DB_SECRET_ARN", arn)
    params = ConnectionParams.for_domain("users")
    assert (params.database, params.port) == ("users", 5432)


def test_secret_is_fetched_once_and_cached(aws: Aws) -> None:
    arn = aws.secret("inkwell/cached", json.dumps({"username": "u", "password": "p"}))
    assert secrets.secret_json(arn)["username"] == "u"
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=arn, SecretString=json.dumps({"username": "rotated", "password": "p"})
    )
    assert secrets.secret_json(arn)["username"] == "u"  # warm invocations reuse it
    secrets.forget()
    assert secrets.secret_json(arn)["username"] == "rotated"


def test_non_object_secret_is_refused(aws: Aws) -> None:
    arn = aws.secret("inkwell/list", "[1, 2]")
    with pytest.raises(ValueError, match="not a JSON object"):
        secrets.secret_json(arn)


def test_jwt_signing_key_from_secrets_manager(aws: Aws) -> None:
    arn = aws.secret("inkwell/jwt", MOTO_SIGNING_KEY)
    aws.monkeypatch.delenv("INKWELL_JWT_SECRET")
    aws.monkeypatch.setenv("INKWELL_JWT_SECRET_ARN", arn)
    tokens.signing_key.cache_clear()
    token, _ = issue_access_token(Principal("u-1", "alice", "user"))
    assert jwt.decode(token, MOTO_SIGNING_KEY, algorithms=["HS256"],
                      audience="inkwell-api")["sub"] == "u-1"
    assert verify_access_token(token).username == "alice"


def test_login_and_authorizer_use_the_secrets_manager_key(aws: Aws, api: Api) -> None:
    arn = aws.secret("inkwell/jwt", MOTO_SIGNING_KEY)
    aws.monkeypatch.delenv("INKWELL_JWT_SECRET")
    aws.monkeypatch.setenv("INKWELL_JWT_SECRET_ARN", arn)
    tokens.signing_key.cache_clear()
    account = sign_up(api, "alice")
    jwt.decode(account.token, MOTO_SIGNING_KEY, algorithms=["HS256"], audience="inkwell-api")
    assert api.call("GET", f"{USERS}/me", token=account.token).status == 200
    # A token signed with the local key is not accepted by this deployment.
    local_key_token = jwt.encode(
        {**jwt.decode(account.token, options={"verify_signature": False})},
        "test-signing-key-" + "x" * 40, algorithm="HS256",
    )
    assert_problem(api.call("GET", f"{USERS}/me", token=local_key_token), 401)


def test_short_key_in_secrets_manager_is_a_configuration_error(aws: Aws) -> None:
    from inkwell.settings import ConfigurationError

    arn = aws.secret("inkwell/jwt-short", "short")
    aws.monkeypatch.delenv("INKWELL_JWT_SECRET")
    aws.monkeypatch.setenv("INKWELL_JWT_SECRET_ARN", arn)
    tokens.signing_key.cache_clear()
    with pytest.raises(ConfigurationError):
        tokens.signing_key()


# --- the users maintenance function -------------------------------------------------------

CONTEXT = context_for(next(f for f in __import__("wiring").MAINTENANCE
                           if f.name == "users-maintenance"))


def test_maintenance_applies_migrations_once(
    monkeypatch: pytest.MonkeyPatch, fresh_database_url: str
) -> None:
    monkeypatch.setenv("INKWELL_USERS_DB_URL", fresh_database_url)
    first = maintenance.handler({}, CONTEXT)
    assert "0001_users" in first["applied"]
    assert maintenance.handler({}, CONTEXT) == {"applied": []}
    assert maintenance.handler({"action": "migrate"}, CONTEXT) == {"applied": []}


def test_maintenance_migrates_through_the_database_secret(
    aws: Aws, fresh_database_url: str
) -> None:
    aws.use_database_secret(fresh_database_url)
    assert "0001_users" in maintenance.handler({}, CONTEXT)["applied"]
    conn = ConnectionParams.from_url(fresh_database_url).connect()
    try:
        assert conn.run("SELECT count(*) FROM users") == [[0]]
    finally:
        conn.close()


def test_maintenance_promotes_an_admin(api: Api) -> None:
    alice = sign_up(api, "alice")
    result = maintenance.handler({"action": "promote-admin", "username": "ALICE"}, CONTEXT)
    assert result == {"promoted": "alice"}
    assert user_row(alice.id)["role"] == "admin"
    # The promotion shows in the next token.
    refreshed = api.call("POST", f"{USERS}/refresh", {"refreshToken": alice.refresh_token})
    assert refreshed.json()["user"]["role"] == "admin"
    assert api.call("GET", USERS, token=refreshed.json()["token"]).status == 200


@pytest.mark.parametrize("event", [{"action": "promote-admin", "username": "ghost"},
                                   {"action": "promote-admin"}])
def test_maintenance_promote_unknown_user(api: Api, event: dict[str, Any]) -> None:
    assert maintenance.handler(event, CONTEXT) == {"error": "User was not found."}


def test_maintenance_unknown_action(api: Api) -> None:
    result = maintenance.handler({"action": "drop-everything"}, CONTEXT)
    assert "unknown action" in result["error"]
