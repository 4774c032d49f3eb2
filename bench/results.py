"""Results: pyperf benchmarks (values, statistics, JSON), a few helpers around them.

Every timing is a `pyperf.Benchmark` named ``<section>/<target>`` (``cold/users-login``,
``warm/users-login``, ``scale-content/list page 1000``) with one run of the measured values
(seconds) and its metadata: the machine's load average, and for cold starts what they measured.
The suite is written to ``build/bench/<label>.json``; ``python -m pyperf stats FILE`` and
``python -m pyperf compare_to OLD.json NEW.json --table`` read it (two revisions, for
example). Counts (round trips, events) go to ``build/bench.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyperf

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"


def git_revision() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


class Results:
    """What one `make bench` run measured."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.benchmarks: dict[str, pyperf.Benchmark] = {}
        self.facts: dict[str, Any] = {
            "revision": git_revision(),
            "cpus": os.cpu_count(),
            "load_average_start": os.getloadavg()[0],
        }

    def add(self, name: str, seconds: Sequence[float], **metadata: Any) -> pyperf.Benchmark:
        values = [max(v, 1e-9) for v in seconds]  # pyperf wants positive values
        meta = {
            "name": name,
            "loops": 1,
            "unit": "second",
            "load_avg_1min": round(os.getloadavg()[0], 2),
            **metadata,
        }
        bench = pyperf.Benchmark([pyperf.Run(values, metadata=meta, collect_metadata=False)])
        self.benchmarks[name] = bench
        return bench

    def get(self, name: str) -> pyperf.Benchmark | None:
        return self.benchmarks.get(name)

    def ms(self, name: str, q: float = 50) -> float | None:
        bench = self.get(name)
        return None if bench is None else bench.percentile(q) * 1000

    def write(self) -> Path:
        BUILD.mkdir(exist_ok=True)
        (BUILD / "bench").mkdir(exist_ok=True)
        suite_path = BUILD / "bench" / f"{self.label}.json"
        if self.benchmarks:
            pyperf.BenchmarkSuite(list(self.benchmarks.values())).dump(
                str(suite_path), replace=True
            )
        self.facts["load_average_end"] = os.getloadavg()[0]
        summary = {
            "facts": self.facts,
            "pyperf_suite": str(suite_path.relative_to(ROOT)),
            "timings": {
                name: {
                    "n": b.get_nvalue(),
                    "p50_ms": b.percentile(50) * 1000,
                    "p99_ms": b.percentile(99) * 1000,
                    **{
                        k: v
                        for k, v in b.get_metadata().items()
                        if k not in ("name", "loops", "unit")
                    },
                }
                for name, b in self.benchmarks.items()
            },
        }
        path = BUILD / "bench.json"
        path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
        return path
