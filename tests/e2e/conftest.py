"""End-to-end fixtures: the local gateway over real HTTP on a free port, per test module, and
`python -m local.run` as a process of its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local import gateway, platform
from local.dispatch import Dispatcher
from local.embedded_pg import EmbeddedPostgres
from tests.e2e.local_run import LocalRun

PREFIX = "inkwell"  # the databases `make run` creates on the server it is given


@pytest.fixture(scope="module")
def server(database_urls: dict[str, str]) -> Iterator[gateway.GatewayServer]:
    """The gateway without throttling (the test that wants throttling starts its own)."""
    started, thread = gateway.start_in_thread(0, Dispatcher(throttling=False))
    yield started
    started.shutdown()
    started.server_close()
    thread.join(timeout=5)


@pytest.fixture
def client(
    server: gateway.GatewayServer, clean_databases: dict[str, str]
) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


@pytest.fixture
def server_url(pg_server_url: str) -> Iterator[str]:
    """The PostgreSQL server `local.run` uses: the tests' own embedded one (fast). A server
    named by INKWELL_TEST_DATABASE_URL may be a developer's, holding a real `inkwell_users`:
    then the platform starts its own embedded server, as `make run` does by default."""
    if os.environ.get("INKWELL_TEST_DATABASE_URL"):
        yield ""
        return
    platform.drop_databases(pg_server_url, PREFIX)
    yield pg_server_url
    platform.drop_databases(pg_server_url, PREFIX)


@pytest.fixture
def running(tmp_path: Path, server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalRun]:
    """`python -m local.run` logging at INFO, as `make run` does (the tests' own
    environment logs warnings only)."""
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    data_dir = tmp_path / "data"
    started = LocalRun(data_dir, tmp_path / "run.log", database_url=server_url)
    try:
        started.wait_healthy()
        yield started
        assert started.stop() == 0, started.output()
    finally:
        started.kill()
        if (data_dir / "postgres" / "postmaster.pid").exists():
            EmbeddedPostgres(data_dir / "postgres").stop()
