"""Cold starts: each one a fresh `python` process running `local/bench/_child.py`.

The child imports the handler module and invokes it once with a real event (prepared here,
so every run gets fresh valid input), timing import + first invocation with
time.perf_counter inside the child; the wall time of the whole process (interpreter start
to exit) is measured here too. Targets are interleaved run by run, in a shuffled order each
round, so that slow drifts of the machine spread over all of them alike, and one untimed round first
fills a bytecode cache of the bench's own (PYTHONPYCACHEPREFIX) and warms the file system
cache, as a package deployed with its .pyc files has them. A last round runs without .pyc
files outside the standard library (see `bytecode_environments`).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.bench.timing import median

CHILD = Path(__file__).resolve().parent / "_child.py"


@dataclass
class ColdTarget:
    name: str
    handler: str  # module.attribute
    function_name: str
    memory_mb: int
    events: list[dict[str, Any]]  # one per run, warm-up runs first
    check: Callable[[Any], bool]


@dataclass
class ColdRun:
    total_s: float
    cpu_s: float
    import_s: float
    invoke_s: float
    wall_s: float
    modules: int
    ok: bool
    problem: str | None = None
    blocked: tuple[str, ...] = ()  # imports refused because the package is not on AWS


@dataclass
class ColdResult:
    name: str
    runs: list[ColdRun] = field(default_factory=list)

    @property
    def good(self) -> list[ColdRun]:
        return [r for r in self.runs if r.ok]

    @property
    def failures(self) -> int:
        return sum(1 for r in self.runs if not r.ok)

    @property
    def problem(self) -> str | None:
        return next((r.problem for r in self.runs if r.problem), None)

    def median_ms(self, attribute: str) -> float:
        return median([getattr(r, attribute) for r in self.good]) * 1000

    @property
    def blocked_hits(self) -> set[str]:
        return {name for r in self.runs for name in r.blocked}

    @property
    def modules(self) -> int:
        return max((r.modules for r in self.good), default=0)


def run_once(target: ColdTarget, event: dict[str, Any], env: dict[str, str], cwd: Path,
             scratch: Path) -> ColdRun:
    event_file = scratch / f"{target.name}.event.json"
    result_file = scratch / f"{target.name}.result.json"
    event_file.write_text(json.dumps(event))
    result_file.unlink(missing_ok=True)
    module, _, attribute = target.handler.rpartition(".")
    command = [sys.executable, str(CHILD), module, attribute, str(event_file),
               str(result_file), target.function_name, str(target.memory_mb)]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0 or not result_file.exists():
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        return ColdRun(0, 0, 0, 0, wall, 0, ok=False, problem=f"child failed: {tail[0]}")
    report = json.loads(result_file.read_text())
    problem = report["error"]
    ok = problem is None and target.check(report["result"])
    if problem is None and not ok:
        problem = f"unexpected result: {json.dumps(report['result'])[:200]}"
    return ColdRun(report["total_s"], report["cpu_s"], report["import_s"], report["invoke_s"],
                   wall, report["modules"], ok, problem, tuple(report.get("blocked", ())))


def measure(targets: Sequence[ColdTarget], *, runs: int, warmup: int, env: dict[str, str],
            cwd: Path, scratch: Path, first_event: int = 0, label: str = "cold starts",
            progress: Callable[[str], None] = lambda _: None) -> dict[str, ColdResult]:
    """`warmup` untimed rounds then `runs` timed ones, each round over every target."""
    results = {t.name: ColdResult(t.name) for t in targets}
    order = list(targets)
    shuffle = random.Random(20240601).shuffle  # noqa: S311  (fixed seed: same orders each run)
    for round_ in range(warmup + runs):
        progress(f"{label}: round {round_ + 1}/{warmup + runs}"
                 + (" (warm-up, not counted)" if round_ < warmup else ""))
        shuffle(order)  # no target always runs first, or right after the same neighbour
        for target in order:
            event = target.events[first_event + round_]
            run = run_once(target, event, env, cwd, scratch)
            if round_ >= warmup or not run.ok:
                results[target.name].runs.append(run)
    return results


def bytecode_environments(env: dict[str, str], scratch: Path) -> tuple[dict[str, str],
                                                                        dict[str, str]]:
    """Children's environments: with a bytecode cache, and with one for the stdlib only.

    Both use a cache of their own under `scratch` (PYTHONPYCACHEPREFIX), so the checkout is
    not written to and the caller's PYTHONDONTWRITEBYTECODE does not matter. The first is
    filled by the warm-up round (as a package shipped with .pyc files is). The second is made
    by `stdlib_only_cache` after that round: every module outside the standard library is
    compiled from source on each start, as on Lambda when the code and the layer ship
    without .pyc files (their directories are read-only there, so nothing is cached).
    """
    cached = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    source = dict(cached, PYTHONDONTWRITEBYTECODE="1",
                  PYTHONPYCACHEPREFIX=str(scratch / "pycache-stdlib-only"))
    return cached, source


def layer_only_environment(env: dict[str, str], blocked: Sequence[str]) -> dict[str, str]:
    """`env`, for a child that may import only the Lambda layer's third-party packages."""
    return dict(env, INKWELL_BENCH_BLOCK_MODULES=",".join(blocked))


def stdlib_only_cache(scratch: Path, not_stdlib: Sequence[Path]) -> None:
    """Copy the filled cache, leaving out everything under the `not_stdlib` directories."""
    source, target = scratch / "pycache", scratch / "pycache-stdlib-only"
    shutil.rmtree(target, ignore_errors=True)
    skip = {source / p.resolve().relative_to(p.resolve().anchor) for p in not_stdlib}

    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if Path(directory, n) in skip}

    if source.exists():
        shutil.copytree(source, target, ignore=ignore)
