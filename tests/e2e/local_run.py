"""`python -m local.run` as a process of its own, as a developer starts it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from local import gateway
from local.run import ADMIN_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 20

# What the test session set up for its own functions: the process must find its own.
_SESSION_VARIABLES = (
    "INKWELL_DATABASE_URL",
    "INKWELL_JWT_PRIVATE_KEYS",
    "AWS_ENDPOINT_URL_EVENTS",
    "INKWELL_EVENT_BUS_NAME",
    *ADMIN_VARIABLES,
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRun:
    """One `python -m local.run` on a free port, its output going to `log`."""

    def __init__(
        self,
        data_dir: Path,
        log: Path,
        *,
        database_url: str = "",
        admin: Mapping[str, str] | None = None,
    ) -> None:
        port = free_port()
        self.url = f"http://{gateway.HOST}:{port}"
        self.data_dir = data_dir
        self.log = log
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in _SESSION_VARIABLES and not name.endswith("_DB_URL")
        }
        env.update(
            {
                "PORT": str(port),
                "INKWELL_DATA_DIR": str(data_dir),
                "INKWELL_RUN_RECORD": str(data_dir.parent / "running.json"),
                "PYTHONPATH": os.pathsep.join(["functions", "layers/shared/python", "."]),
            }
        )
        if database_url:  # else its own embedded PostgreSQL under the data dir
            env["INKWELL_DATABASE_URL"] = database_url
        if admin:
            env.update(
                {
                    "INKWELL_ADMIN_USERNAME": admin["username"],
                    "INKWELL_ADMIN_EMAIL": admin["email"],
                    "INKWELL_ADMIN_PASSWORD": admin["password"],
                }
            )
        self.env = env
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "local.run"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"local.run exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        pytest.fail(f"local.run was not healthy within {START_TIMEOUT_S}s:\n{self.output()}")

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=STOP_TIMEOUT_S)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)
