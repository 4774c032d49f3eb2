"""Fixtures of the integration tests."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from inkwell.db import ConnectionParams
from inkwell.observability import logger
from local import platform
from local.bus import LocalEventBus
from tests.conftest import Api
from tests.integration.comments_support import open_post
from tests.integration.support import Account, close_inspectors, sign_up


@pytest.fixture(scope="session", autouse=True)
def _close_inspectors() -> Iterator[None]:
    yield
    close_inspectors()


# Each account fixture waits until its user.registered has reached the other domains, so
# that what content and comments show of it (names) does not depend on the race.


def _known(bus: LocalEventBus, account: Account) -> Account:
    assert bus.drain(10), "the local bus did not deliver its events in time"
    return account


@pytest.fixture
def admin(api: Api, event_bus: LocalEventBus) -> Account:
    return _known(event_bus, sign_up(api, "root_admin", role="admin"))


@pytest.fixture
def alice(api: Api, event_bus: LocalEventBus) -> Account:
    return _known(
        event_bus,
        sign_up(api, "alice", firstName="Alice", lastName="Liddell", bio="Down the hole."),
    )


@pytest.fixture
def bob(api: Api, event_bus: LocalEventBus) -> Account:
    return _known(event_bus, sign_up(api, "bob"))


@pytest.fixture
def carol(api: Api, event_bus: LocalEventBus) -> Account:
    return _known(event_bus, sign_up(api, "carol"))


@pytest.fixture
def mod(api: Api, event_bus: LocalEventBus) -> Account:
    return _known(event_bus, sign_up(api, "mod", role="moderator"))


@pytest.fixture
def post(api: Api, alice: Account, event_bus: LocalEventBus) -> dict[str, Any]:
    """Alice's published post, open for comments (the comments domain has heard of it)."""
    return open_post(api, event_bus, alice)


@dataclass
class Logs:
    """Everything logged during a test: Powertools' JSON lines and every logging record."""

    stream: io.StringIO
    caplog: pytest.LogCaptureFixture
    capsys: pytest.CaptureFixture[str]
    printed: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        out, err = self.capsys.readouterr()
        self.printed.extend([out, err])
        records = [f"{r.getMessage()} {r.__dict__}" for r in self.caplog.records]
        return "\n".join([self.stream.getvalue(), *records, self.caplog.text, *self.printed])

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Iterator[Logs]:
    """Capture logs at DEBUG: Powertools writes JSON lines to a stream it bound at import
    (stdout), so its handler's stream is pointed at a buffer for the test; every record
    also reaches caplog, and anything printed reaches capsys."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    old_stream = handler.setStream(buffer)
    old_level = logger.log_level
    logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        yield Logs(buffer, caplog, capsys)
    finally:
        logger.setLevel(old_level)
        handler.setStream(old_stream)


@pytest.fixture
def fresh_database_url(pg_server_url: str) -> Iterator[str]:
    """An empty database of its own (no migrations applied), dropped afterwards."""
    server = ConnectionParams.from_url(pg_server_url)
    name = f"inkwell_fresh_{uuid.uuid4().hex[:12]}"
    admin = server.connect("inkwell-test-fresh")
    try:
        admin.run(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    yield platform.database_url(pg_server_url, name)
    admin = server.connect("inkwell-test-fresh")
    try:
        admin.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


# moto's server, for the tests that talk to AWS APIs over HTTP (one per module: its start
# is the slow part, and its state is per module).
@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
