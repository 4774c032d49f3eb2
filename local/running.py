"""Which local platform is running, so that the other commands find its data.

`make run` records its process id, URL and data directory in ``.inkwell/running.json`` (at
the repository's root, wherever ``INKWELL_DATA_DIR`` puts the data) and removes the record
when it stops. `make events` and `make invoke` use the data directory of the platform that
is running, unless ``INKWELL_DATA_DIR`` names one. A record whose process is gone (the
platform was killed) is stale: the next `make run` stops the PostgreSQL it left behind and
starts afresh.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from inkwell import env

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_VARIABLE = env.DATA_DIR
# Where the record is kept; the tests point it elsewhere, away from a developer's.
RECORD_VARIABLE = env.RUN_RECORD


def record_file() -> Path:
    return Path(os.environ.get(RECORD_VARIABLE) or ROOT / ".inkwell" / "running.json")


@dataclass(frozen=True)
class Running:
    pid: int
    url: str
    data_dir: Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    return True


def record(url: str, data_dir: Path) -> None:
    path = record_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "url": url, "dataDir": str(data_dir)}) + "\n")


def clear() -> None:
    """Forget this process's record (never another live platform's)."""
    found = read()
    if found is None or found.pid == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            record_file().unlink()


def read() -> Running | None:
    """The recorded platform, alive or not; None without a readable record."""
    try:
        data = json.loads(record_file().read_text())
        return Running(int(data["pid"]), str(data["url"]), Path(data["dataDir"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def find() -> Running | None:
    """The platform that is running now, or None (no record, or its process is gone)."""
    found = read()
    return found if found is not None and _alive(found.pid) else None


def data_dir(default: Path) -> tuple[Path, str]:
    """The data directory to use and why: INKWELL_DATA_DIR when set, else the running
    platform's, else `default`."""
    explicit = os.environ.get(DATA_DIR_VARIABLE)
    if explicit:
        return Path(explicit).resolve(), f"{DATA_DIR_VARIABLE}"
    found = find()
    if found is not None:
        return found.data_dir, f"the platform running at {found.url} (pid {found.pid})"
    return default, "the default; no platform is running"
