"""End-to-end fixtures: the local gateway over real HTTP, on a free port, per test module."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from local import gateway
from local.dispatch import Dispatcher


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
