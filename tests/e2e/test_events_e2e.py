"""End to end through `make run`'s code: `python -m local.run` serves a registration, its
`user.registered` goes through the outbox and the local bus to the users-audit consumer, and
`python -m local.events` (another process, same data directory) shows the delivery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import wiring
from inkwell.db import ConnectionParams
from local import gateway, platform
from local.embedded_pg import EmbeddedPostgres
from local.invoke import running_postgres_url
from local.run import ADMIN_VARIABLES
from tests.e2e.conftest import free_port
from tests.e2e.test_run import START_TIMEOUT_S, STOP_TIMEOUT_S, USERS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "inkwell"  # the databases `make run` creates on the server it is given
WAIT_S = 10


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


class Running:
    """One `python -m local.run` process on a free port, its output going to a file."""

    def __init__(self, data_dir: Path, log: Path, database_url: str) -> None:
        self.url = f"http://{gateway.HOST}:{free_port()}"
        self.log = log
        self.data_dir = data_dir
        env = {name: value for name, value in os.environ.items() if name not in (
            # what the test session set for its own databases and bus
            "INKWELL_USERS_DB_URL", "AWS_ENDPOINT_URL_EVENTS", "INKWELL_EVENT_BUS_NAME",
            "INKWELL_DATABASE_URL", *ADMIN_VARIABLES)}
        env.update({"PORT": self.url.rsplit(":", 1)[1], "INKWELL_DATA_DIR": str(data_dir),
                    "PYTHONPATH": os.pathsep.join(["functions", "layers/shared/python", "."])})
        if database_url:
            env["INKWELL_DATABASE_URL"] = database_url
        with log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "local.run"], cwd=ROOT,
                                            env=env, stdout=out, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"local.run exited:\n{self.output()}"
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        pytest.fail(f"local.run was not healthy within {START_TIMEOUT_S}s:\n{self.output()}")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=STOP_TIMEOUT_S)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)


@pytest.fixture
def running(tmp_path: Path, server_url: str) -> Iterator[Running]:
    data_dir = tmp_path / "data"
    started = Running(data_dir, tmp_path / "run.log", server_url)
    try:
        started.wait_healthy()
        yield started
        assert started.stop() == 0, started.output()
    finally:
        started.kill()
        if (data_dir / "postgres" / "postmaster.pid").exists():
            EmbeddedPostgres(data_dir / "postgres").stop()


def local_events(data_dir: Path, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "local.events", *args], cwd=ROOT, capture_output=True,
        text=True, timeout=30,
        env={**os.environ, "INKWELL_DATA_DIR": str(data_dir),
             "PYTHONPATH": os.pathsep.join(["functions", "layers/shared/python", "."])},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def test_a_registration_is_delivered_to_the_audit_consumer(
    running: Running, server_url: str
) -> None:
    data_dir = running.data_dir
    request_id = f"e2e-{uuid.uuid4()}"
    username = f"e2e_{uuid.uuid4().hex[:8]}"
    response = httpx.post(
        f"{running.url}{USERS}/register", timeout=10, headers={"X-Request-ID": request_id},
        json={"username": username, "email": f"{username}@example.com",
              "password": "e2e-password-1"},
    )
    assert response.status_code == 201, response.text
    user_id = response.json()["id"]

    subscribed = sorted(c.name for c in wiring.consumers_of("user.registered"))
    assert "users-audit" in subscribed
    deadline = time.monotonic() + WAIT_S
    while True:
        rows = [r for r in local_events(data_dir, "--json") if r["correlationId"] == request_id]
        if rows and len(rows[0]["deliveries"]) >= len(subscribed):
            break
        assert time.monotonic() < deadline, (
            f"no delivery of the registration within {WAIT_S}s:\n{running.output()}")
        time.sleep(0.1)
    (row,) = rows
    assert row["detailType"] == "user.registered" and row["source"] == "inkwell.users"
    assert sorted(row["deliveries"], key=lambda d: d["consumer"]) == [
        {"consumer": name, "attempt": 1, "status": "ok"} for name in subscribed]
    assert row["deadLettered"] is False
    assert local_events(data_dir, "--dead", "--json") == []
    (line,) = [t for t in local_events(data_dir).splitlines() if f"corr={request_id} " in t]
    assert "user.registered" in line and "users-audit#1 ok" in line

    server = server_url or running_postgres_url(data_dir / "postgres")
    assert server, "the platform's PostgreSQL is not running"
    conn = ConnectionParams.from_url(
        platform.database_url(server, f"{PREFIX}_users")).connect("inkwell-test-e2e")
    try:
        audit = conn.run("SELECT detail_type, correlation_id FROM audit_log"
                         " WHERE user_id = CAST(:id AS uuid)", id=user_id)
        published = conn.run("SELECT published_at IS NOT NULL FROM outbox"
                             " WHERE detail->'data'->>'id' = :id", id=user_id)
    finally:
        conn.close()
    assert audit == [["user.registered", request_id]]
    assert published == [[True]]
    output = running.output()
    assert "Traceback" not in output
