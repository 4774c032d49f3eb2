"""Test fixtures: a real PostgreSQL with one database per domain, and the dispatcher.

PostgreSQL is embedded (started once per test worker in a temporary directory) unless
``INKWELL_TEST_DATABASE_URL`` names a server to use instead (a role that may create
databases); each pytest-xdist worker gets its own databases either way.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Settings every function reads, fixed before any of them is imported. bcrypt runs at its
# minimum cost in tests (the benchmark measures the production cost).
os.environ.update(
    {
        "INKWELL_BCRYPT_ROUNDS": "4",
        "INKWELL_JWT_SECRET": "test-signing-key-" + "x" * 40,
        "INKWELL_CORS_ORIGINS": "https://app.example.com",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
)

import wiring
from inkwell.db import ConnectionParams
from local import platform
from local.dispatch import Dispatcher, Response
from local.embedded_pg import EmbeddedPostgres


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    external = os.environ.get("INKWELL_TEST_DATABASE_URL")
    if external:
        yield external
        return
    directory = Path(tempfile.mkdtemp(prefix="inkwell-test-pg-"))
    server = EmbeddedPostgres(directory / "data").start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def database_urls(pg_server_url: str) -> Iterator[dict[str, str]]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    prefix = f"inkwell_test_{worker}"
    platform.drop_databases(pg_server_url, prefix)
    urls = platform.prepare_databases(pg_server_url, prefix)
    for domain, url in urls.items():
        os.environ[f"INKWELL_{domain.upper()}_DB_URL"] = url
    yield urls
    from inkwell.db import _databases

    for db in _databases.values():
        db.discard_connection()
    platform.drop_databases(pg_server_url, prefix)


def truncate_all(urls: dict[str, str]) -> None:
    for url in urls.values():
        conn = ConnectionParams.from_url(url).connect("inkwell-test-cleanup")
        try:
            tables = [
                row[0]
                for row in conn.run(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> 'schema_migrations'"
                )
            ]
            if tables:
                conn.run("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
        finally:
            conn.close()


@pytest.fixture
def clean_databases(database_urls: dict[str, str]) -> dict[str, str]:
    """Every domain database, emptied (schema kept) before the test."""
    truncate_all(database_urls)
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
        data = raw_body if raw_body is not None else (
            None if body is None else __import__("json").dumps(body).encode()
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
            {"username": username, "email": f"{username}@example.com", "password": password,
             **extra},
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
