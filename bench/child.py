"""One cold start in a fresh interpreter: import a handler module, invoke it once.

Run as a script by `bench.cold` (never imported):

    python bench/child.py MODULE ATTRIBUTE EVENT_JSON RESULT_JSON FUNCTION MEMORY_MB

Only the standard library is loaded before the clock starts. The clock (time.perf_counter)
runs from just before `import MODULE` to just after the first invocation returns (the
process's CPU time over the same span is reported too: less disturbed by other load), so it
covers everything the function does before its first response: configuration, any secret
or key it fetches, signing, connecting. Packages the Lambda layer does not ship
(``INKWELL_BENCH_ABSENT``, computed by `bench.cold.absent_packages`) cannot be imported, as
on AWS. The Lambda context is a stand-in with the attributes of the real one.
"""

from __future__ import annotations

import sys

if sys.path and sys.path[0].rstrip("/").endswith("bench"):
    sys.path.pop(0)  # resolve the module exactly as on Lambda: PYTHONPATH only

import importlib
import json
import os
import time
import uuid
from typing import Any


class _Absent:
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the Lambda layer)")


class _Context:
    def __init__(self, function_name: str, memory_mb: int) -> None:
        self.function_name = function_name
        self.memory_limit_in_mb = memory_mb
        self.function_version = "$LATEST"
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        )
        self._deadline = time.monotonic() + 30

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main(argv: list[str]) -> int:
    module_name, attribute, event_path, result_path, function_name, memory = argv
    absent = set(filter(None, os.environ.get("INKWELL_BENCH_ABSENT", "").split(",")))
    if absent:
        sys.meta_path.insert(0, _Absent(absent))
    with open(event_path, encoding="utf-8") as f:
        event = json.load(f)
    context = _Context(function_name, int(memory))
    c0, t0 = time.process_time(), time.perf_counter()
    handler = getattr(importlib.import_module(module_name), attribute)
    t1 = time.perf_counter()
    error, result = None, None
    try:
        result = handler(event, context)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    t2, c2 = time.perf_counter(), time.process_time()
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(
            {
                "import_s": t1 - t0,
                "total_s": t2 - t0,
                "cpu_s": c2 - c0,
                "error": error,
                "result": result,
                "modules": len(sys.modules),
            },
            f,
            default=str,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
