"""The local platform's environment: PostgreSQL, one database per domain, settings.

Used by `make run`, by `local.invoke`, by the benchmark and by the tests, so that all of
them run the functions wired exactly the same way.

- ``INKWELL_DATABASE_URL``: an external PostgreSQL server (a role allowed to create
  databases), e.g. ``postgresql://me:secret@127.0.0.1:5432/postgres``. When it is not set,
  an embedded server is started with its data under ``INKWELL_DATA_DIR``.
- ``INKWELL_DATA_DIR``: where local state lives (default: ``.inkwell/`` in the checkout).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pg8000.native

import wiring
from inkwell.db import ConnectionParams
from inkwell.migrations import apply
from local.embedded_pg import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"


def data_dir() -> Path:
    return Path(os.environ.get("INKWELL_DATA_DIR") or ROOT / ".inkwell").resolve()


def migrations_dir(domain: str) -> Path:
    return FUNCTIONS / domain / "migrations"


def database_url(server_url: str, database: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


def prepare_databases(server_url: str, prefix: str = "inkwell") -> dict[str, str]:
    """Create each domain's database if missing, apply its migrations, return the URLs."""
    admin = ConnectionParams.from_url(server_url).connect("inkwell-setup")
    try:
        existing = {row[0] for row in admin.run("SELECT datname FROM pg_database")}
        urls: dict[str, str] = {}
        for domain in wiring.DATABASE_DOMAINS:
            name = f"{prefix}_{domain}"
            if name not in existing:
                admin.run(f'CREATE DATABASE "{name}"')
            urls[domain] = database_url(server_url, name)
    finally:
        admin.close()
    for domain, url in urls.items():
        conn = ConnectionParams.from_url(url).connect(f"inkwell-{domain}-migrations")
        try:
            apply(conn, migrations_dir(domain))
        finally:
            conn.close()
    return urls


def drop_databases(server_url: str, prefix: str) -> None:
    admin: pg8000.native.Connection = ConnectionParams.from_url(server_url).connect()
    try:
        for domain in wiring.DATABASE_DOMAINS:
            admin.run(f'DROP DATABASE IF EXISTS "{prefix}_{domain}" WITH (FORCE)')
    finally:
        admin.close()


def _persistent_secret(path: Path) -> str:
    """A signing key generated once per data directory, so tokens survive a restart."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


LOCAL_BUS_NAME = "inkwell-local"


def events_environment(endpoint: str) -> dict[str, str]:
    """Point the functions' EventBridge client at a local PutEvents endpoint.

    The credentials are placeholders: the local bus does not check signatures, and the
    local platform must never reach a real AWS account.
    """
    return {
        "INKWELL_EVENT_BUS_NAME": LOCAL_BUS_NAME,
        "AWS_ENDPOINT_URL_EVENTS": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }


def function_environment(
    database_urls: dict[str, str], state_dir: Path, events_endpoint: str | None = None
) -> dict[str, str]:
    """The environment variables the functions read, as CDK sets them on AWS."""
    env = {
        "INKWELL_STAGE": "local",
        "INKWELL_JWT_ISSUER": "inkwell",
        "INKWELL_JWT_AUDIENCE": "inkwell-api",
        "INKWELL_JWT_SECRET": os.environ.get("INKWELL_JWT_SECRET")
        or _persistent_secret(state_dir / "jwt-signing-key"),
        "INKWELL_CORS_ORIGINS": os.environ.get("INKWELL_CORS_ORIGINS", "*"),
        "POWERTOOLS_METRICS_NAMESPACE": "Inkwell",
        "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
    }
    for domain, url in database_urls.items():
        env[f"INKWELL_{domain.upper()}_DB_URL"] = url
    if events_endpoint:
        env.update(events_environment(events_endpoint))
    return env


class LocalDatabases:
    """PostgreSQL for the local platform: external when configured, else embedded."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.embedded: EmbeddedPostgres | None = None

    def start(self) -> str:
        external = os.environ.get("INKWELL_DATABASE_URL")
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
