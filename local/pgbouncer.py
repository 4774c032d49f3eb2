"""PgBouncer in transaction pooling mode in front of a PostgreSQL server, for the tests.

Every request of the functions must work through a transaction pooler (RDS Proxy on AWS):
the tests run the integration and end-to-end suites through this one, with a small server
pool, to prove it. The binary is Debian's ``pgbouncer`` package (``make test`` installs it
when it runs as root; see docs/testing.md otherwise). PgBouncer refuses to run as root, so
then it runs as ``nobody``, like the embedded PostgreSQL. It listens on 127.0.0.1 only and
trusts the users it lists (the embedded server trusts them too).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BINARY_CANDIDATES = ("pgbouncer", "/usr/sbin/pgbouncer")


def binary() -> str | None:
    for candidate in BINARY_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgBouncer:
    directory: Path
    server_host: str
    server_port: int
    users: list[str]
    pool_size: int = 5  # server connections per (database, user)
    max_server_connections: int = 20  # across every pool
    max_clients: int = 2000
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def _config(self) -> str:
        return "\n".join(
            [
                "[databases]",
                f"* = host={self.server_host} port={self.server_port}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {self.port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {self.directory / 'userlist.txt'}",
                "pool_mode = transaction",
                f"default_pool_size = {self.pool_size}",
                "min_pool_size = 0",
                "reserve_pool_size = 0",
                f"max_db_connections = {self.max_server_connections}",
                f"max_client_conn = {self.max_clients}",
                "server_check_delay = 0",
                "ignore_startup_parameters = extra_float_digits",
                f"logfile = {self.directory / 'pgbouncer.log'}",
                "log_connections = 0",
                "log_disconnections = 0",
                "admin_users = pgbouncer",
                "",
            ]
        )

    def start(self, timeout_s: float = 20) -> PgBouncer:
        executable = binary()
        if executable is None:
            raise RuntimeError("pgbouncer is not installed (apt-get install pgbouncer)")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = self.port or _free_port()
        (self.directory / "userlist.txt").write_text(
            "".join(f'"{user}" ""\n' for user in [*self.users, "pgbouncer"])
        )
        config = self.directory / "pgbouncer.ini"
        config.write_text(self._config())
        entry = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
        if entry is not None:
            for path in (self.directory, *self.directory.iterdir()):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            for parent in self.directory.resolve().parents:
                mode = parent.stat().st_mode
                if mode & 0o001 == 0:
                    parent.chmod(mode | 0o001)
        self.process = subprocess.Popen(
            [executable, str(config)],
            user=entry.pw_uid if entry else None,
            group=entry.pw_gid if entry else None,
            extra_groups=[] if entry else None,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited at start:\n{self.log()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"pgbouncer did not listen in time:\n{self.log()}")

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def url(self, url: str) -> str:
        """`url` (a database on the server behind) through the pooler."""
        parts = urlsplit(url)
        credentials, _, _ = parts.netloc.rpartition("@")
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
