"""The running platform's record: how `make events` and `make invoke` find its data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local import running


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "running.json"
    monkeypatch.setenv(running.RECORD_VARIABLE, str(path))
    monkeypatch.delenv(running.DATA_DIR_VARIABLE, raising=False)
    return path


def test_the_running_platforms_data_dir_is_found(record: Path, tmp_path: Path) -> None:
    default = tmp_path / "default"
    assert running.data_dir(default) == (default, "the default; no platform is running")
    running.record("http://127.0.0.1:9101", tmp_path / "elsewhere")
    found, why = running.data_dir(default)
    assert found == tmp_path / "elsewhere" and "http://127.0.0.1:9101" in why
    running.clear()
    assert not record.exists()


def test_inkwell_data_dir_wins(
    record: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running.record("http://127.0.0.1:9101", tmp_path / "elsewhere")
    monkeypatch.setenv(running.DATA_DIR_VARIABLE, str(tmp_path / "chosen"))
    assert running.data_dir(tmp_path)[0] == (tmp_path / "chosen").resolve()


def test_a_record_of_a_dead_process_is_ignored_and_kept_from_others(
    record: Path, tmp_path: Path
) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(gone.stdout)
    record.write_text(json.dumps({"pid": dead_pid, "url": "http://x", "dataDir": "/nowhere"}))
    assert running.find() is None
    assert running.data_dir(tmp_path)[0] == tmp_path
    # Another process's record (alive: this test's parent) is never removed by clear().
    record.write_text(json.dumps({"pid": os.getppid(), "url": "http://x", "dataDir": "/d"}))
    running.clear()
    assert record.exists()
