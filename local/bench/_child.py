"""One cold start, in a fresh interpreter: import a handler module, invoke it once.

Run as a script by `local.bench.cold` (never imported by the bench itself):

    python local/bench/_child.py MODULE ATTRIBUTE EVENT_JSON RESULT_JSON FUNCTION MEMORY_MB

Only the standard library is loaded before the clock starts, so nothing of the project is
imported ahead of the measured import. The clock (time.perf_counter) runs from just before
`import MODULE` to just after the first invocation returns; the import and the first call
are also reported separately, and the CPU time of the process over the same span
(time.process_time: less disturbed by other load on the machine). The Lambda context is a
stand-in with the attributes Lambda's has (the real one is built by the runtime before the
handler is imported, too).
"""

from __future__ import annotations

import sys

# Run as a script, Python puts local/bench first on sys.path: drop it, so that the
# module under test resolves exactly as on Lambda (PYTHONPATH only).
if sys.path and sys.path[0].rstrip("/").endswith("bench"):
    sys.path.pop(0)

import importlib
import json
import os
import time
import uuid
from typing import Any


class _Absent:
    """Makes the packages that would not be importable on AWS absent (local/bench/layer.py)."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.hits: set[str] = set()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        top = name.partition(".")[0]
        if top in self.names:
            self.hits.add(top)
            raise ModuleNotFoundError(f"No module named {name!r} (not in the Lambda layer)")


_absent = _Absent(set(filter(None, os.environ.get("INKWELL_BENCH_BLOCK_MODULES", "").split(","))))
if _absent.names:
    sys.meta_path.insert(0, _absent)


class _Context:
    def __init__(self, function_name: str, memory_mb: int, timeout_s: int = 30) -> None:
        self.function_name = function_name
        self.memory_limit_in_mb = memory_mb
        self.function_version = "$LATEST"
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        )
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main(argv: list[str]) -> int:
    module_name, attribute, event_path, result_path, function_name, memory = argv
    with open(event_path, encoding="utf-8") as f:
        event = json.load(f)
    context = _Context(function_name, int(memory))

    c0 = time.process_time()
    t0 = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), attribute)
    t1 = time.perf_counter()
    error: str | None = None
    result: Any = None
    try:
        result = handler(event, context)
    except Exception as exc:  # reported, e.g. the authorizer's "Unauthorized"
        error = f"{type(exc).__name__}: {exc}"
    t2 = time.perf_counter()
    c2 = time.process_time()

    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(
            {
                "import_s": t1 - t0,
                "invoke_s": t2 - t1,
                "total_s": t2 - t0,
                "cpu_s": c2 - c0,
                "modules": len(sys.modules),
                "blocked": sorted(_absent.hits),
                "error": error,
                "result": result,
            },
            f,
            default=str,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
