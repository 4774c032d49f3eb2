"""The measurements, once the environment is up (see `local.bench.runner`)."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform as host
import subprocess
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wiring
from inkwell.db import ConnectionParams, database
from inkwell.passwords import hash_password, verify_password
from inkwell.settings import settings
from local.bench import (
    cold,
    comments_scale,
    comments_scale_report,
    content_scale,
    content_scale_report,
    events_report,
    events_suite,
    layer,
)
from local.bench.report import FunctionResult, render, write_json
from local.bench.scenarios import PASSWORD, Scenario, Seeder, build, http_event, status_is
from local.bench.sql import BareDatabase, Plan, recording
from local.bench.timing import median, time_calls
from local.dispatch import context_for, load_handler

Say = Callable[[str], None]

HELLO = wiring.Route(
    name="hello-world",
    handler="local.bench.baselines.hello_fastapi.handler",
    method="GET",
    path="/hello",
    auth="none",
    description="The FastAPI + Mangum hello-world baseline.",
)
BCRYPT_WARMUP = 2


def _round_trips() -> int:
    return sum(database(domain).round_trips for domain in wiring.DATABASE_DOMAINS)


def _no_round_trips() -> int:
    return 0


def _git_revision(root: Path) -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, check=True,
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, check=True,
                               capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def _child_environment(root: Path) -> dict[str, str]:
    """The functions' environment, with PYTHONPATH made absolute for the children."""
    env = dict(os.environ)
    entries = env.get("PYTHONPATH", "functions:layers/shared/python:.").split(os.pathsep)
    env["PYTHONPATH"] = os.pathsep.join(str((root / e).resolve()) for e in entries if e)
    return env


def _hello_events(n: int) -> list[dict[str, Any]]:
    return [http_event(HELLO, HELLO.path) for _ in range(n)]


def _hello_check(result: Any) -> bool:
    return status_is(200)(result) and '"hello":"world"' in str(result.get("body"))


def measure_warm(scenario: Scenario, options: argparse.Namespace, result: FunctionResult,
                 say: Say) -> None:
    """Warm latency and round trips of the function, then of its bare twin."""
    bcrypt = scenario.bcrypt_ops > 0
    calls = options.bcrypt_calls if bcrypt else options.warm_calls
    warmup = BCRYPT_WARMUP if bcrypt else options.warmup
    function = scenario.function
    say(f"warm: {scenario.name} ({warmup} warm-up + 1 recorded + {calls} timed calls)")
    handler = load_handler(function)
    events = scenario.events(warmup + 1 + calls)
    inputs = [(event, context_for(function)) for event in events]

    first = time_calls(handler, inputs[:warmup], scenario.check, _round_trips)
    if first.failures:
        result.errors.append(f"warm-up call failed: {first.first_failure}")
    with recording() as steps:
        recorded = time_calls(handler, inputs[warmup:warmup + 1], scenario.check, _round_trips)
    if recorded.failures:
        result.errors.append(f"recorded call failed: {recorded.first_failure}")
    plan = Plan(tuple(steps))
    result.capture_round_trips = recorded.round_trips[0]
    result.statements = plan.statements
    result.transactional = plan.transactional
    result.sql = plan.summary()
    result.warm = time_calls(handler, inputs[warmup + 1:], scenario.check, _round_trips)

    if scenario.bare is None or not plan.statements:
        return
    missing = scenario.bare_overrides - plan.param_names()
    if missing:
        result.errors.append(
            f"the bare twin no longer matches the function's SQL: no parameter named"
            f" {sorted(missing)} in [{plan.summary()}]; update local/bench/scenarios.py"
        )
        return
    bare_handler = scenario.bare
    say(f"bare: {scenario.name} ({warmup} warm-up + {calls} timed calls)")
    bare_db = BareDatabase(ConnectionParams.for_domain(function.domain))
    try:
        bare_inputs = [(event, None) for event in scenario.events(warmup + calls)]

        def bare(event: dict[str, Any], _: Any) -> Any:
            return bare_handler(bare_db, plan, event)

        def accepted(outcome: Any) -> bool:
            return isinstance(outcome, dict)

        warmed = time_calls(bare, bare_inputs[:warmup], accepted, lambda: bare_db.round_trips)
        if warmed.failures:
            result.errors.append(f"bare warm-up failed: {warmed.first_failure}")
        result.bare = time_calls(bare, bare_inputs[warmup:], accepted,
                                 lambda: bare_db.round_trips)
    finally:
        bare_db.close()


def _bcrypt_timing(runs: int = 3) -> tuple[float, float]:
    """Milliseconds of one hash and one check at the configured (production) cost."""
    hashes, checks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        hashed = hash_password(PASSWORD)
        hashes.append(time.perf_counter() - start)
        start = time.perf_counter()
        assert verify_password(PASSWORD, hashed)
        checks.append(time.perf_counter() - start)
    return median(hashes) * 1000, median(checks) * 1000


def run(options: argparse.Namespace, urls: dict[str, str], database_description: str,
        scratch: Path, say: Say, started: float, server_url: str) -> list[str]:
    root = Path(__file__).resolve().parents[2]
    load_before = os.getloadavg()[0]
    rounds = settings().bcrypt_rounds
    say(f"seeding (bcrypt cost {rounds})")
    seeder = Seeder(urls["users"], urls.get("content"), urls.get("comments"))
    try:
        scenarios = build(seeder)
        functions: list[wiring.Function] = [*wiring.ROUTES, wiring.AUTHORIZER]
        if options.only:
            functions = [f for f in functions if f.name in options.only]
        results = [
            FunctionResult(f.name, "authorizer" if f is wiring.AUTHORIZER else "http")
            for f in functions
        ]
        hello = FunctionResult("hello-world (FastAPI+Mangum)", "baseline")
        benched = [(f, r, scenarios.get(f.name)) for f, r in zip(functions, results,
                                                                  strict=True)]
        for f, r, s in benched:
            if s is None:
                r.errors.append(f"no benchmark scenario for {f.name} (add one to"
                                " local/bench/scenarios.py)")
        selection = events_suite.select(options.only, wiring.CONSUMERS)
        scale_selected = not options.only or content_scale.SECTION in options.only
        comments_selected = not options.only or comments_scale.SECTION in options.only

        # --- cold starts (first, while this process is idle between children)
        rounds_total = (options.cold_warmup + options.cold_runs + options.layer_runs
                        + options.nopyc_runs)
        targets = [cold.ColdTarget(hello.name, HELLO.handler, HELLO.name, HELLO.memory_mb,
                                   _hello_events(rounds_total), _hello_check)]
        for f, _r, s in benched:
            if s is not None:
                targets.append(cold.ColdTarget(f.name, f.handler, f.name, f.memory_mb,
                                               s.events(rounds_total), s.check))
        # The consumers' cold starts run interleaved with the others (main rounds only).
        consumer_targets = []
        for c in selection.consumers:
            try:
                _, make_events = events_suite.consumer_events(c)
            except LookupError:
                continue  # reported by the events section
            consumer_targets.append(cold.ColdTarget(
                c.name, c.handler, c.name, c.memory_mb,
                make_events(options.cold_warmup + options.cold_runs),
                events_suite.processed))
        with_pyc, without_pyc = cold.bytecode_environments(_child_environment(root), scratch)
        colds = cold.measure([*targets, *consumer_targets], runs=options.cold_runs,
                             warmup=options.cold_warmup, env=with_pyc, cwd=root,
                             scratch=scratch, progress=say)
        hello.cold = colds[hello.name]
        for r in results:
            r.cold = colds.get(r.name)
        blocked = layer.blocked_top_levels(root / "pyproject.toml")
        if options.layer_runs:
            layered = cold.measure(targets, runs=options.layer_runs, warmup=0,
                                   env=cold.layer_only_environment(with_pyc, blocked),
                                   cwd=root, scratch=scratch,
                                   first_event=options.cold_warmup + options.cold_runs,
                                   label="cold starts, Lambda layer packages only",
                                   progress=say)
            hello.cold_layer = layered[hello.name]
            for r in results:
                r.cold_layer = layered.get(r.name)
        if options.nopyc_runs:
            paths = sysconfig.get_paths()
            cold.stdlib_only_cache(scratch, [root, Path(paths["purelib"]),
                                             Path(paths["platlib"])])
            sources = cold.measure(targets, runs=options.nopyc_runs, warmup=0,
                                   env=without_pyc, cwd=root, scratch=scratch,
                                   first_event=(options.cold_warmup + options.cold_runs
                                                + options.layer_runs),
                                   label="cold starts without .pyc", progress=say)
            hello.cold_source = sources[hello.name]
            for r in results:
                r.cold_source = sources.get(r.name)

        # --- warm, in process
        say("warm: hello-world")
        hello_handler = load_handler(HELLO)
        hello_inputs = [(e, context_for(HELLO)) for e in _hello_events(options.warmup
                                                                          + options.warm_calls)]
        time_calls(hello_handler, hello_inputs[:options.warmup], _hello_check, _no_round_trips)
        hello.warm = time_calls(hello_handler, hello_inputs[options.warmup:], _hello_check,
                                _no_round_trips)
        for _f, r, s in benched:
            if s is None:
                continue
            try:
                measure_warm(s, options, r, say)
            except Exception as exc:  # one broken function must not hide the others
                r.errors.append(f"benchmark failed: {type(exc).__name__}: {exc}")

        # --- events: publishing, the relay, the consumers
        section = events_suite.EventsSection()
        if selection.any:
            try:
                section = events_suite.run(selection, options, seeder, colds, _round_trips,
                                           say)
            except Exception as exc:
                section.errors.append(f"events section failed: {type(exc).__name__}: {exc}")

        # --- content at scale: a database of its own, 100,000 posts
        scale: content_scale.ScaleSection | None = None
        if scale_selected:
            try:
                scale = content_scale.run(options, server_url, say)
            except Exception as exc:
                scale = content_scale.ScaleSection()
                scale.errors.append(f"section failed: {type(exc).__name__}: {exc}")

        # --- comments at scale: a database of its own, a post with 10,000 comments
        comments: comments_scale.CommentsSection | None = None
        if comments_selected:
            try:
                comments = comments_scale.run(options, server_url, say)
            except Exception as exc:
                comments = comments_scale.CommentsSection()
                comments.errors.append(f"section failed: {type(exc).__name__}: {exc}")

        say("bcrypt: one hash and one check at the production cost")
        hash_ms, check_ms = _bcrypt_timing()
        for f, r, s in benched:
            if s is not None and s.bcrypt_ops:
                r.bcrypt_ms = s.bcrypt_ops * hash_ms
                r.notes.append(f"bcrypt cost {rounds}, x{s.bcrypt_ops} per call;"
                               f" one hash {hash_ms:.0f} ms")
            if f is not wiring.AUTHORIZER and s is not None and not r.statements:
                r.notes.append("no SQL: warm budget n/a")
    finally:
        seeder.close()

    used_blocked = sorted(
        {name for r in [hello, *results] if r.cold_layer for name in r.cold_layer.blocked_hits}
    ) if options.layer_runs else []
    meta: dict[str, Any] = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        "git": _git_revision(root),
        "python": host.python_version(),
        "cpus": os.cpu_count(),
        "database": database_description,
        "bcrypt_rounds": rounds,
        "bcrypt_hash_ms": hash_ms,
        "bcrypt_check_ms": check_ms,
        "cold_runs": options.cold_runs,
        "nopyc_runs": options.nopyc_runs,
        "layer_runs": options.layer_runs,
        "warm_calls": options.warm_calls,
        "bcrypt_calls": options.bcrypt_calls,
        "command": "make bench  (python -m local.bench)",
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "hello_wall_per_cpu": round(
            median([r.total_s / r.cpu_s for r in hello.cold.good if r.cpu_s > 0])
            if hello.cold and hello.cold.good else math.nan, 3),
        "event_bus": section.bus or None,
        "event_calls": options.event_calls,
        "blocked_in_layer_runs": used_blocked,
    }
    meta["runtime_s"] = round(time.perf_counter() - started, 1)
    events_lines = events_report.render(section, hello, meta) if selection.any else []
    events_json = events_report.to_json(section, hello) if selection.any else None
    scale_lines: list[str] = []
    scale_json = None
    if scale is not None:
        scale.cold = content_scale_report.cold_summary(results, hello)
        scale_lines = content_scale_report.render(scale)
        scale_json = content_scale_report.to_json(scale)
    comments_lines: list[str] = []
    comments_json = None
    if comments is not None:
        comments.cold, comments.warm = comments_scale_report.route_summary(results, hello)
        comments_lines = comments_scale_report.render(comments)
        comments_json = comments_scale_report.to_json(comments)
    lines = render(results, hello, meta, [*events_lines, *scale_lines, *comments_lines],
                   [*(events_json["failures"] if events_json else ()),
                    *(scale_json["failures"] if scale_json else ()),
                    *(comments_json["failures"] if comments_json else ())])
    lines.append(f"Total bench runtime {meta['runtime_s']:.0f} s; JSON: {options.json}")
    write_json(options.json, results, hello, meta, events_json, scale_json, comments_json)
    return lines

