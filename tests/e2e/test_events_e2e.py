"""End to end through `make run`'s code: `python -m local.run` serves a registration, its
`user.registered` goes through the outbox and the local bus to the users-audit consumer, and
`python -m local.events` (another process, same data directory) shows the delivery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

import wiring
from inkwell.db import ConnectionParams
from local import platform
from local.embedded_pg import running_url
from tests.e2e.conftest import PREFIX
from tests.e2e.local_run import LocalRun
from tests.e2e.test_run import USERS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 10


def local_events(data_dir: Path, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "local.events", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={
            **os.environ,
            "INKWELL_DATA_DIR": str(data_dir),
            "PYTHONPATH": os.pathsep.join(["functions", "layers/shared/python", "."]),
        },
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def test_a_registration_is_delivered_to_the_audit_consumer(
    running: LocalRun, server_url: str
) -> None:
    data_dir = running.data_dir
    request_id = f"e2e-{uuid.uuid4()}"
    username = f"e2e_{uuid.uuid4().hex[:8]}"
    response = httpx.post(
        f"{running.url}{USERS}/register",
        timeout=10,
        headers={"X-Request-ID": request_id},
        json={
            "username": username,
            "email": f"{username}@example.com",
            "password": "e2e-password-1",
        },
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
            f"no delivery of the registration within {WAIT_S}s:\n{running.output()}"
        )
        time.sleep(0.1)
    (row,) = rows
    assert row["detailType"] == "user.registered" and row["source"] == "inkwell.users"
    assert sorted(row["deliveries"], key=lambda d: d["consumer"]) == [
        {"consumer": name, "attempt": 1, "status": "ok"} for name in subscribed
    ]
    assert row["deadLettered"] is False
    assert local_events(data_dir, "--dead", "--json") == []
    (line,) = [t for t in local_events(data_dir).splitlines() if f"corr={request_id} " in t]
    assert "user.registered" in line and "users-audit#1 ok" in line

    server = server_url or running_url(data_dir / "postgres")
    assert server, "the platform's PostgreSQL is not running"
    conn = ConnectionParams.from_url(platform.database_url(server, f"{PREFIX}_users")).connect(
        "inkwell-test-e2e"
    )
    try:
        audit = conn.run(
            "SELECT detail_type, correlation_id FROM audit_log WHERE user_id = CAST(:id AS uuid)",
            id=user_id,
        )
        published = conn.run(
            "SELECT published_at IS NOT NULL FROM outbox WHERE detail->'data'->>'id' = :id",
            id=user_id,
        )
    finally:
        conn.close()
    assert audit == [["user.registered", request_id]]
    assert published == [[True]]
    output = running.output()
    assert "Traceback" not in output
