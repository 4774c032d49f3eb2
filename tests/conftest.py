"""Test fixtures: a real PostgreSQL with one database per domain, the local event bus, and
the dispatcher.

PostgreSQL is embedded (started once per test worker in a temporary directory) unless
``INKWELL_TEST_DATABASE_URL`` names a server to use instead (a role that may create
databases); each pytest-xdist worker gets its own databases either way. Functions publish
their events, with their real EventBridge client, to a local event bus on a free port,
which delivers them to the real consumers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.token_keys import PRIVATE_KEYS, PUBLIC_KEYS

# Settings every function reads, fixed before any of them is imported. bcrypt runs at its
# minimum cost in tests (the benchmark measures the production cost).
os.environ.update(
    {
        "INKWELL_BCRYPT_ROUNDS": "4",
        "INKWELL_JWT_PRIVATE_KEYS": PRIVATE_KEYS,
        "INKWELL_JWT_PUBLIC_KEYS": PUBLIC_KEYS,
        "INKWELL_CORS_ORIGINS": "https://app.example.com",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        # jsii (the CDK tests) writes a multi-line banner on each start under Node.js 20,
        # which reached end of life on 2026-04-30 (the README names the supported
        # versions); through jsii's Python runtime it lands in the test output as byte
        # strings. Said once in the README, not in every test's output.
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
)

import wiring
from bench.wire import RoundTrips
from inkwell import env
from inkwell.db import ConnectionParams
from local import pgbouncer, platform
from local.bus import LocalEventBus, serve
from local.dispatch import Dispatcher, Response
from local.embedded_pg import EmbeddedPostgres
from local.pgbouncer import PgBouncer

_server: dict[str, str] = {}


def admin_url(url: str) -> str:
    """`url` (a domain database, as its application user) as the server's superuser: the
    tests' own connections inspect and clean up beyond what the functions may do."""
    server = urlsplit(_server["url"])
    return urlunsplit((server.scheme, server.netloc, urlsplit(url).path, "", ""))


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    external = os.environ.get("INKWELL_TEST_DATABASE_URL")
    if external:
        _server["url"] = external
        yield external
        return
    directory = Path(tempfile.mkdtemp(prefix="inkwell-test-pg-"))
    server = EmbeddedPostgres(directory / "data").start()
    _server["url"] = server.url
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def pooler(pg_server_url: str) -> Iterator[PgBouncer | None]:
    """PgBouncer in transaction mode in front of the server when INKWELL_TEST_PGBOUNCER=1
    (make test's second pass): the functions then reach their databases through it."""
    if os.environ.get("INKWELL_TEST_PGBOUNCER") != "1":
        yield None
        return
    if pgbouncer.binary() is None:
        pytest.fail(
            "INKWELL_TEST_PGBOUNCER=1 but pgbouncer is not installed (apt-get install pgbouncer)"
        )
    server = urlsplit(pg_server_url)
    users = [
        name
        for domain in wiring.DATABASE_DOMAINS
        for name in (env.app_user(domain), env.owner_user(domain))
    ]
    directory = Path(tempfile.mkdtemp(prefix="inkwell-test-pgbouncer-"))
    bouncer = PgBouncer(
        directory,
        server.hostname or "127.0.0.1",
        server.port or 5432,
        [*users, server.username or "postgres"],
    ).start()
    try:
        yield bouncer
    finally:
        bouncer.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def event_bus() -> Iterator[LocalEventBus]:
    directory = Path(tempfile.mkdtemp(prefix="inkwell-test-bus-"))
    bus = LocalEventBus(directory, bus_name=platform.LOCAL_BUS_NAME, retry_delay_s=0.05)
    server = serve(bus)
    os.environ.update(platform.events_environment(f"http://127.0.0.1:{server.server_port}/"))
    try:
        yield bus
    finally:
        server.shutdown()
        server.server_close()
        bus.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def database_urls(
    pg_server_url: str, event_bus: LocalEventBus, pooler: PgBouncer | None
) -> Iterator[dict[str, str]]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    prefix = f"inkwell_test_{worker}"
    platform.drop_databases(pg_server_url, prefix)
    urls = platform.prepare_databases(pg_server_url, prefix)
    if pooler is not None:
        urls = {domain: pooler.url(url) for domain, url in urls.items()}
    for domain, url in urls.items():
        os.environ[f"INKWELL_{domain.upper()}_DB_URL"] = url
    yield urls
    from inkwell.db import _databases

    for db in _databases.values():
        db.discard_connection()
    for conn in _cleaners.values():
        conn.close()
    _cleaners.clear()
    platform.drop_databases(pg_server_url, prefix)


_delete_order: dict[str, list[str]] = {}
_cleaners: dict[str, Any] = {}


def _tables_children_first(conn: Any) -> list[str]:
    """The tables of the public schema, each after every table that references it."""
    tables = {
        r[0]
        for r in conn.run(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'schema_migrations'"
        )
    }
    references = conn.run(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
        " WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
    )
    ordered: list[str] = []
    while tables:
        ready = sorted(
            t
            for t in tables
            if not any(
                child in tables and child != t and parent == t for child, parent in references
            )
        )
        assert ready, f"cyclic foreign keys among {tables}"
        ordered.extend(ready)
        tables -= set(ready)
    return ordered


def empty_databases(urls: dict[str, str]) -> None:
    """Delete every row (schema kept), children first, on a connection kept for the
    session: a new connection plus TRUNCATE costs ~50 ms a test."""
    for url in urls.values():
        conn = _cleaners.get(url)
        if conn is None:
            conn = _cleaners[url] = ConnectionParams.from_url(admin_url(url)).connect(
                "inkwell-test-cleanup"
            )
        order = _delete_order.get(url)
        if order is None:
            order = _delete_order[url] = _tables_children_first(conn)
        conn.run("".join(f'DELETE FROM "{t}";' for t in order))


@pytest.fixture
def clean_databases(database_urls: dict[str, str], event_bus: LocalEventBus) -> dict[str, str]:
    """Every domain database emptied before the test, with no event still in flight."""
    assert event_bus.drain(10), "events of an earlier test are still being delivered"
    empty_databases(database_urls)
    return database_urls


class Api:
    """Calls the platform as an HTTP client would, through the in-process gateway."""

    def __init__(self) -> None:
        self.dispatcher = Dispatcher(throttling=False)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        raw_body: bytes | None = None,
    ) -> Response:
        all_headers = {"content-type": ["application/json"]}
        if token is not None:
            all_headers["authorization"] = [f"Bearer {token}"]
        for name, value in (headers or {}).items():
            all_headers[name.lower()] = [value]
        data = (
            raw_body
            if raw_body is not None
            else (None if body is None else __import__("json").dumps(body).encode())
        )
        return self.dispatcher.handle(
            method,
            path,
            headers=all_headers,
            query={k: [v] for k, v in (query or {}).items()},
            body=data,
        )

    def register(self, username: str, password: str = "correct horse battery", **extra: Any) -> Any:
        response = self.call(
            "POST",
            f"{wiring.API_PREFIX}/users/register",
            {
                "username": username,
                "email": f"{username}@example.com",
                "password": password,
                **extra,
            },
        )
        assert response.status == 201, response.body
        return response.json()

    def login(self, username: str, password: str = "correct horse battery") -> Any:
        response = self.call(
            "POST", f"{wiring.API_PREFIX}/users/login", {"username": username, "password": password}
        )
        assert response.status == 200, response.body
        return response.json()


@pytest.fixture
def api(clean_databases: dict[str, str]) -> Api:
    return Api()


@pytest.fixture
def wire(
    database_urls: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], RoundTrips]]:
    """``wire("content")``: the content database's URL points at a relay that counts SQL
    round trips on the wire (bench.wire); connections opened from then on go through it
    (discard the domain's warm connection to move it over)."""
    relays: list[RoundTrips] = []

    def through_relay(domain: str) -> RoundTrips:
        relay = RoundTrips.for_url(database_urls[domain])
        relays.append(relay)
        monkeypatch.setenv(env.db_url(domain), relay.url_for(database_urls[domain]))
        return relay

    yield through_relay
    for relay in relays:
        relay.close()


@pytest.fixture
def email_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No email settings (the log transport) and the standard SES endpoint; the port's
    caches forgotten before and after."""
    from inkwell import email

    for name in (
        "INKWELL_EMAIL_TRANSPORT",
        "INKWELL_EMAIL_SENDER",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SESV2",
    ):
        monkeypatch.delenv(name, raising=False)
    email.reset()
    yield monkeypatch
    email.reset()


@pytest.fixture
def ses(email_env: pytest.MonkeyPatch) -> Iterator[Any]:
    """The ses transport from SENDER, against moto's SES (the sender verified there)."""
    import boto3
    from moto import mock_aws

    from tests.email_support import REGION, SENDER

    email_env.setenv("INKWELL_EMAIL_TRANSPORT", "ses")
    email_env.setenv("INKWELL_EMAIL_SENDER", f"Inkwell <{SENDER}>")
    with mock_aws():
        client = boto3.client("sesv2", region_name=REGION)
        client.create_email_identity(EmailIdentity=SENDER)
        yield client
