"""The local platform's environment: PostgreSQL, one database per domain, settings.

Used by `make run`, by `local.invoke`, by the benchmark and by the tests, so that all of
them run the functions wired exactly the same way.

- ``INKWELL_DATABASE_URL``: an external PostgreSQL server (a role allowed to create
  databases), e.g. ``postgresql://me:secret@127.0.0.1:5432/postgres``. When it is not set,
  an embedded server is started with its data under ``INKWELL_DATA_DIR``.
- ``INKWELL_DATA_DIR``: where local state lives (default: ``.inkwell/`` in the checkout).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pg8000.native

import wiring
from inkwell import db_users, env, jwk
from inkwell.db import ConnectionParams
from inkwell.migrations import apply
from local.embedded_pg import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"


def data_dir() -> Path:
    return Path(os.environ.get(env.DATA_DIR) or ROOT / ".inkwell").resolve()


def migrations_dir(domain: str) -> Path:
    return FUNCTIONS / domain / "migrations"


def database_url(server_url: str, database: str, user: str | None = None) -> str:
    """The URL of `database` on the server of `server_url`, as `user` (default: the URL's
    own user) with the URL's password (the domain users get it too: see provision)."""
    parts = urlsplit(server_url)
    netloc = parts.netloc
    if user is not None:
        credentials, _, host = netloc.rpartition("@")
        _, colon, password = credentials.partition(":")
        netloc = f"{quote(user)}{colon}{password}@{host}"
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, ""))


def prepare_databases(server_url: str, prefix: str = "inkwell") -> dict[str, str]:
    """Create each domain's database and users if missing, apply its migrations as its
    owner, and return the URLs the functions use (as each domain's application user)."""
    server = ConnectionParams.from_url(server_url)
    admin = server.connect("inkwell-setup")
    try:
        existing = {row[0] for row in admin.run("SELECT datname FROM pg_database")}
        names: dict[str, str] = {}
        for domain in wiring.DATABASE_DOMAINS:
            name = names[domain] = f"{prefix}_{domain}"
            if name not in existing:
                admin.run(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    urls: dict[str, str] = {}
    for domain, name in names.items():
        superuser = server.with_database(name).connect("inkwell-setup")
        try:
            db_users.provision(superuser, domain, password=server.password)
        finally:
            superuser.close()
        owner = ConnectionParams.from_url(database_url(server_url, name, env.owner_user(domain)))
        conn = owner.connect(f"inkwell-{domain}-migrations")
        try:
            apply(conn, migrations_dir(domain), grant_to=domain)
        finally:
            conn.close()
        urls[domain] = database_url(server_url, name, env.app_user(domain))
    return urls


def drop_databases(server_url: str, prefix: str) -> None:
    admin: pg8000.native.Connection = ConnectionParams.from_url(server_url).connect()
    try:
        for domain in wiring.DATABASE_DOMAINS:
            admin.run(f'DROP DATABASE IF EXISTS "{prefix}_{domain}" WITH (FORCE)')
    finally:
        admin.close()


def signing_keys(path: Path) -> dict[str, Any]:
    """The JWT signing key set of a data directory, generated on first use and kept, so
    tokens survive a restart (the private key stays in the file, readable by us only)."""
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded
    path.parent.mkdir(parents=True, exist_ok=True)
    key_set = jwk.new_key_set(f"local-{secrets.token_hex(4)}")
    path.touch(mode=0o600)
    path.write_text(json.dumps(key_set))
    return key_set


def token_key_environment(key_set: dict[str, Any]) -> dict[str, str]:
    """The private key set (for login and refresh) and its public half (for verifying)."""
    return {
        env.JWT_PRIVATE_KEYS: json.dumps(key_set),
        env.JWT_PUBLIC_KEYS: jwk.public_key_set(key_set),
    }


LOCAL_BUS_NAME = "inkwell-local"


def events_environment(endpoint: str) -> dict[str, str]:
    """Point the functions' EventBridge client at a local PutEvents endpoint.

    The credentials are placeholders: the local bus does not check signatures, and the
    local platform must never reach a real AWS account.
    """
    return {
        env.EVENT_BUS_NAME: LOCAL_BUS_NAME,
        "AWS_ENDPOINT_URL_EVENTS": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }


def function_environment(
    database_urls: dict[str, str], state_dir: Path, events_endpoint: str | None = None
) -> dict[str, str]:
    """The environment variables the functions read, as CDK sets them on AWS."""
    variables = {
        env.STAGE: "local",
        env.JWT_ISSUER: "inkwell",
        env.JWT_AUDIENCE: "inkwell-api",
        env.CORS_ORIGINS: os.environ.get(env.CORS_ORIGINS, "*"),
        env.POWERTOOLS_METRICS_NAMESPACE: "Inkwell",
        env.POWERTOOLS_METRICS_DISABLED: os.environ.get(env.POWERTOOLS_METRICS_DISABLED, "true"),
    }
    given = os.environ.get(env.JWT_PRIVATE_KEYS)
    key_set = json.loads(given) if given else signing_keys(state_dir / "jwt-signing-keys.json")
    variables.update(token_key_environment(key_set))
    for domain, url in database_urls.items():
        variables[env.db_url(domain)] = url
    if events_endpoint:
        variables.update(events_environment(events_endpoint))
    return variables


class LocalDatabases:
    """PostgreSQL for the local platform: external when configured, else embedded."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.embedded: EmbeddedPostgres | None = None

    def start(self) -> str:
        external = os.environ.get(env.DATABASE_URL)
        if external:
            return external
        self.embedded = EmbeddedPostgres(self.state_dir / "postgres").start()
        return self.embedded.url

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None


def start_environment(
    state_dir: Path | None = None, events_endpoint: str | None = None
) -> tuple[LocalDatabases, dict[str, str]]:
    """Start PostgreSQL, prepare the databases and export the functions' environment."""
    state = state_dir or data_dir()
    databases = LocalDatabases(state)
    server_url = databases.start()
    try:
        urls = prepare_databases(server_url)
    except BaseException:
        databases.stop()  # a failed start must not leave an embedded server running
        raise
    env = function_environment(urls, state, events_endpoint)
    os.environ.update(env)
    return databases, env
