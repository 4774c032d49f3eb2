"""`make bench`: cold starts, warm latency, round trips, reads at scale, event throughput.

Sections (all by default; pick some with --only):

  cold      cold starts of every function on the local platform's environment, beside
            the FastAPI + Mangum hello world measured in the same rounds
  aws       cold starts with the environment shaped as on AWS (in-process IAM
            authentication, ES256 keys), AWS APIs served by moto's server over
            HTTP on loopback; budgets: HTTP functions <= 1.2x the hello world, the
            authorizer <= 0.3x, consumers <= 0.5x
  warm      warm latency p50/p99 of every function in process, and SQL round trips per
            request counted on the wire (bench.wire)
  content   content at scale: 100,000 posts, the public reads through the real handlers
  comments  comments at scale: a post with 10,000 comments, its reads and writes
  events    the outbox relay's throughput to moto's EventBridge, consumers' throughput

The environment is the local platform's (`local.platform`): an embedded PostgreSQL in a
temporary directory (or INKWELL_DATABASE_URL's server, in databases of their own, dropped
afterwards), migrations applied, bcrypt at its production cost. Timings are pyperf
benchmarks (build/bench/<path>.json; `python -m pyperf compare_to` compares two runs);
build/bench.json has every number. The run fails (exit 1) when a route has no scenario or a
call fails; a budget over its limit is reported, not failed on (numbers on a shared
machine are noisy).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

SECTIONS = ("cold", "aws", "warm", "content", "comments", "events")
DATABASE_PREFIX = "inkwell_bench"


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        metavar="SECTION",
        help=f"sections to run: {', '.join(SECTIONS)}",
    )
    parser.add_argument(
        "--functions",
        nargs="+",
        metavar="NAME",
        help="only these functions (cold, aws, warm); the hello world always",
    )
    parser.add_argument("--moto-port", type=int, default=9250, help="moto's server port")
    parser.add_argument("--cold-runs", type=int, default=7, help="timed cold starts each")
    parser.add_argument("--cold-warmup", type=int, default=1, help="untimed cold rounds first")
    parser.add_argument("--warm-calls", type=int, default=200, help="timed warm calls each")
    parser.add_argument(
        "--bcrypt-calls",
        type=int,
        default=15,
        help="timed warm calls of the functions that run bcrypt",
    )
    parser.add_argument("--warmup", type=int, default=20, help="untimed warm calls first")
    parser.add_argument(
        "--count-calls",
        type=int,
        default=3,
        help="calls whose round trips are counted, per function",
    )
    parser.add_argument("--scale-posts", type=int, default=100_000)
    parser.add_argument("--scale-comments", type=int, default=10_000)
    parser.add_argument("--scale-calls", type=int, default=100, help="timed calls per read")
    parser.add_argument("--relay-events", type=int, default=5_000)
    parser.add_argument("--consumer-events", type=int, default=500)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    opts = options(argv)
    # Handlers log to stdout (INFO, as deployed): keep those lines out of the report.
    sys.stdout.flush()
    out: TextIO = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)

    def say(line: str) -> None:
        print(line, file=out)

    os.environ.pop("INKWELL_BCRYPT_ROUNDS", None)  # the production cost
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    # Imported after the environment is settled: modules read settings at import.
    from bench.report import Report
    from bench.targets import all_targets

    try:
        targets = all_targets()
    except LookupError as exc:
        say(f"make bench: {exc}")
        return 1
    if opts.functions:
        unknown = set(opts.functions) - {t.name for t in targets}
        if unknown:
            say(f"make bench: no such function: {', '.join(sorted(unknown))}")
            return 1
        targets = [t for t in targets if t.kind == "reference" or t.name in opts.functions]
    report = Report(opts, say)
    with_platform(opts, say, lambda urls, base: report.run(targets, urls, base))
    say(report.finish())
    return 1 if report.failures else 0


def with_platform(
    opts: argparse.Namespace,
    say: Callable[[str], None],
    body: Callable[[dict[str, str], dict[str, str]], None],
) -> None:
    """Start PostgreSQL and the databases, export the functions' environment, run `body`."""
    from local import platform

    state = Path(tempfile.mkdtemp(prefix="inkwell-bench-"))
    databases = platform.LocalDatabases(state)
    try:
        say("starting PostgreSQL and applying migrations")
        server = databases.start()
        platform.drop_databases(server, DATABASE_PREFIX)
        urls = platform.prepare_databases(server, DATABASE_PREFIX)
        base = platform.function_environment(urls, state)
        os.environ.update(base)
        os.environ["INKWELL_BENCH_SERVER_URL"] = server
        try:
            body(urls, dict(os.environ))
        finally:
            from inkwell.db import database

            for domain in urls:
                database(domain).discard_connection()
            platform.drop_databases(server, DATABASE_PREFIX)
    finally:
        databases.stop()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
