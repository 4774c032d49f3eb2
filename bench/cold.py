"""Cold starts: each sample a fresh `python` process running `bench/child.py`.

Targets are interleaved round by round, in a shuffled order each round (fixed seed), so
slow drifts of a shared machine spread over all of them alike; untimed warm-up rounds first
fill a bytecode cache of the bench's own (PYTHONPYCACHEPREFIX, as a package deployed with
its .pyc files has them) and the file system cache. Each sample gets a fresh event, built
(and its data seeded) just before the child starts.
"""

from __future__ import annotations

import json
import random
import re
import statistics
import subprocess
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bench.results import BUILD, ROOT, Results
from bench.targets import Target
from bench.world import World

CHILD = Path(__file__).resolve().parent / "child.py"
# Provided by the AWS Lambda Python runtime, importable by every function.
LAMBDA_RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"}


def _dist_name(requirement: str) -> str:
    return re.sub(
        r"[-_.]+", "-", re.split(r"[\[<>=!~;( ]", requirement.strip(), maxsplit=1)[0]
    ).lower()


def _top_levels(dist: metadata.Distribution) -> set[str]:
    listed = dist.read_text("top_level.txt")
    if listed:
        return set(listed.split())
    return {
        str(f).split("/", 1)[0].split(".", 1)[0]
        for f in dist.files or ()
        if not str(f).split("/", 1)[0].endswith((".dist-info", ".data"))
    }


def absent_packages() -> list[str]:
    """Installed top-level packages that neither the layer (the closure of
    ``[project].dependencies``) nor the Lambda runtime provides: dev-only packages that
    runtime ones would import when present (moto and boto3 pull in many, for example)."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        wanted = [_dist_name(r) for r in tomllib.load(f)["project"]["dependencies"]]
    allowed, seen = set(LAMBDA_RUNTIME), set()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        allowed |= _top_levels(dist)
        wanted.extend(_dist_name(r) for r in dist.requires or () if "extra ==" not in r)
    installed = set().union(*(_top_levels(d) for d in metadata.distributions()))
    return sorted(
        n
        for n in installed - allowed - set(sys.stdlib_module_names)
        if n.isidentifier() and n not in ("bench", "_distutils_hack")
    )


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


@dataclass
class ColdOutcome:
    totals: list[float] = field(default_factory=list)
    imports: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    modules: int = 0
    failure: str | None = None


def run_once(
    target: Target, event: dict[str, object], env: dict[str, str], scratch: Path
) -> tuple[dict[str, object] | None, str | None]:
    event_file, result_file = scratch / "event.json", scratch / "result.json"
    event_file.write_text(json.dumps(event))
    result_file.unlink(missing_ok=True)
    module, _, attribute = target.function.handler.rpartition(".")
    command = [
        sys.executable,
        str(CHILD),
        module,
        attribute,
        str(event_file),
        str(result_file),
        target.name,
        str(target.function.memory_mb),
    ]
    done = subprocess.run(
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0 or not result_file.exists():
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        return None, f"child failed: {tail[0]}"
    report = json.loads(result_file.read_text())
    if report["error"]:
        return None, str(report["error"])
    if not target.ok(report["result"]):
        return None, f"unexpected result: {json.dumps(report['result'])[:300]}"
    return report, None


def measure(
    targets: Sequence[Target],
    world: World,
    env: dict[str, str],
    results: Results,
    *,
    label: str,
    runs: int,
    warmup: int,
    say: Callable[[str], None],
) -> dict[str, ColdOutcome]:
    """`warmup` untimed rounds, then `runs` timed ones, each over every target."""
    env = dict(
        env,
        PYTHONPYCACHEPREFIX=str(BUILD / "bench" / "pycache"),
        INKWELL_BENCH_ABSENT=",".join(absent_packages()),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    scratch = BUILD / "bench" / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    outcomes = {t.name: ColdOutcome() for t in targets}
    order = list(targets)
    shuffle = random.Random(20240601).shuffle
    for round_ in range(warmup + runs):
        say(
            f"{label}: round {round_ + 1}/{warmup + runs}"
            + (" (warm-up, not counted)" if round_ < warmup else "")
        )
        shuffle(order)
        for target in order:
            outcome = outcomes[target.name]
            if outcome.failure:
                continue
            event = target.events(world, 1)[0]  # fresh: its token must not expire meanwhile
            report, problem = run_once(target, event, env, scratch)
            if report is None:
                outcome.failure = problem
            elif round_ >= warmup:
                outcome.totals.append(float(report["total_s"]))  # type: ignore[arg-type]
                outcome.imports.append(float(report["import_s"]))  # type: ignore[arg-type]
                outcome.cpus.append(float(report["cpu_s"]))  # type: ignore[arg-type]
                outcome.modules = int(report["modules"])  # type: ignore[call-overload]
    for target in targets:
        outcome = outcomes[target.name]
        if outcome.totals and not outcome.failure:
            results.add(
                f"{label}/{target.name}",
                outcome.totals,
                kind=target.kind,
                modules=outcome.modules,
                import_ms=_median_ms(outcome.imports),
                cpu_ms=_median_ms(outcome.cpus),
            )
    return outcomes
