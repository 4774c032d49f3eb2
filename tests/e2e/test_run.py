"""`python -m local.run` as a developer runs it: start, serve, stop on a signal, restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import wiring
from local import gateway
from local.embedded_pg import EmbeddedPostgres, running_url
from tests.e2e.local_run import ROOT, START_TIMEOUT_S, LocalRun

pytestmark = pytest.mark.e2e

USERS = f"{wiring.API_PREFIX}/users"
ADMIN = {"username": "chief", "email": "chief@example.com", "password": "admin-password-42"}


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "data"
    yield directory
    # Whatever happened, no PostgreSQL is left running on it.
    if (directory / "postgres" / "postmaster.pid").exists():
        EmbeddedPostgres(directory / "postgres").stop()


def login(url: str, username: str, password: str) -> dict[str, Any]:
    response = httpx.post(
        f"{url}{USERS}/login", json={"username": username, "password": password}, timeout=10
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def test_run_serves_stops_cleanly_and_keeps_data(data_dir: Path, tmp_path: Path) -> None:
    first = LocalRun(data_dir, tmp_path / "first.log", admin=ADMIN)
    try:
        first.wait_healthy()
        admin = login(first.url, ADMIN["username"], ADMIN["password"])
        registered = httpx.post(
            f"{first.url}{USERS}/register",
            json={
                "username": "dora",
                "email": "dora@example.com",
                "password": "dora-password-1",
            },
            timeout=10,
        )
        assert registered.status_code == 201, registered.text
        assert first.stop(signal.SIGINT) == 0, first.output()
    finally:
        first.kill()
    output = first.output()
    assert f"admin: {ADMIN['username']} is ready" in output
    assert ADMIN["password"] not in output
    assert f"{first.url}/docs" in output
    assert " POST /api/v1/users/login 200 " in output  # the access log
    assert " POST /api/v1/users/register 201 " in output
    # Every event, the admin bootstrap's included, reached the bus at once (the gateway
    # serves the local bus before the bootstrap publishes).
    assert "events left for the relay" not in output
    assert "Traceback" not in output
    assert not (data_dir / "postgres" / "postmaster.pid").exists(), "PostgreSQL still running"

    second = LocalRun(data_dir, tmp_path / "second.log", admin=ADMIN)
    try:
        second.wait_healthy()
        me = httpx.get(
            f"{second.url}{USERS}/me",
            timeout=10,
            headers={"Authorization": f"Bearer {admin['token']}"},
        )
        assert me.status_code == 200, me.text  # the signing key survived the restart
        assert me.json()["role"] == "admin"
        assert login(second.url, "dora", "dora-password-1")["user"]["username"] == "dora"
        assert second.stop(signal.SIGTERM) == 0, second.output()
    finally:
        second.kill()
    assert not (data_dir / "postgres" / "postmaster.pid").exists(), "PostgreSQL still running"


def test_run_on_a_taken_port_is_one_line_and_exit_1(tmp_path: Path) -> None:
    taken = gateway.serve(0, gateway.Dispatcher(throttling=False))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "local.run"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            env={
                **os.environ,
                "PORT": str(taken.port),
                "INKWELL_DATA_DIR": str(tmp_path),
                "PYTHONPATH": os.pathsep.join(["functions", "layers/shared/python", "."]),
            },
        )
    finally:
        taken.server_close()
    assert done.returncode == 1
    message = f"error: port {taken.port} is already in use; set PORT to another one"
    assert done.stderr.strip() == message
    assert "Traceback" not in done.stdout + done.stderr


def test_a_signal_during_start_up_stops_once_started(data_dir: Path, tmp_path: Path) -> None:
    platform = LocalRun(data_dir, tmp_path / "early.log", admin=ADMIN)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "starting PostgreSQL" not in platform.output():
            assert time.monotonic() < deadline and platform.process.poll() is None, (
                platform.output()
            )
            time.sleep(0.02)
        assert platform.stop(signal.SIGTERM) == 0, platform.output()
    finally:
        platform.kill()
    assert "stopped" in platform.output()
    assert not (data_dir / "postgres" / "postmaster.pid").exists(), "PostgreSQL left running"


def test_run_recovers_from_a_killed_run(data_dir: Path, tmp_path: Path) -> None:
    """kill -9 leaves the embedded PostgreSQL running; the next run stops it and starts."""
    first = LocalRun(data_dir, tmp_path / "first.log")
    try:
        first.wait_healthy()
        registered = httpx.post(
            f"{first.url}{USERS}/register",
            json={
                "username": "dora",
                "email": "dora@example.com",
                "password": "dora-password-1",
            },
            timeout=10,
        )
        assert registered.status_code == 201, registered.text
    finally:
        first.kill()  # SIGKILL: no clean-up at all
    assert running_url(data_dir / "postgres") is not None, "the old PostgreSQL should be left"
    second = LocalRun(data_dir, tmp_path / "second.log")
    try:
        second.wait_healthy()
        assert login(second.url, "dora", "dora-password-1")["user"]["username"] == "dora"
        # While it runs, a third is refused with the command that stops it.
        third = subprocess.run(
            [sys.executable, "-m", "local.run"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**second.env, "PORT": "0"},
        )
        assert third.returncode == 1
        assert f"kill {second.process.pid}" in third.stderr, third.stderr
        assert second.stop(signal.SIGTERM) == 0, second.output()
    finally:
        second.kill()
    assert "stopping the PostgreSQL a stopped platform left running" in second.output()
    assert not (data_dir / "postgres" / "postmaster.pid").exists(), "PostgreSQL still running"
