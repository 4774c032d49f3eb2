"""`make bench`: the entry point. Prepares the environment, then runs `local.bench.suite`.

What it measures, for every function in `wiring.ROUTES` plus the authorizer:

- cold start: a fresh `python` process imports the handler module and invokes it once with
  a real API Gateway event (median of --cold-runs), beside a bare FastAPI + Mangum
  hello-world measured the same way;
- warm latency p50/p99 over --warm-calls in-process invocations (--bcrypt-calls for the
  routes that run bcrypt at the production cost), beside a bare pg8000 handler replaying
  the SQL the function sent (recorded during one of its own invocations);
- SQL round trips per request (`Database.round_trips` delta), checked on every call;
- events (`local.bench.events_suite`): a write that publishes an event to moto's EventBridge
  against the same write without one, the outbox relay's throughput, and the consumers'
  cold starts and warm processing.
- content at scale (`local.bench.content_scale`): 100,000 posts by 1,000 authors in a
  database of its own, then p50/p99, SQL round trips and the query plan of each public read
  (list page 1 and page 1000, a tag's first and deep page, an author, searches, a post by
  slug, the feed, the tags list) through the real handlers.
- comments at scale (`local.bench.comments_scale`): a post with 10,000 comments in a
  database of its own, then p50/p99, SQL round trips and the query plans of its page 1 and
  page 100, creating a comment (approved and held), the moderation queue and the
  notifications through the real handlers, and the comments consumers' throughput.

The environment is the one `make run` uses (`local.platform`): an embedded PostgreSQL in a
temporary directory (or the server of ``INKWELL_DATABASE_URL``, in databases of their own
that are dropped afterwards), migrations applied, the functions' environment variables, with
the production bcrypt cost (``INKWELL_BCRYPT_ROUNDS`` is unset), Powertools logging at its
default level (INFO; log lines are written, to /dev/null) and metrics disabled.
It prints its tables and writes build/bench.json. The exit status is 0 even when a budget
fails: the last line of the report lists the failures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parents[2]
DATABASE_PREFIX = "inkwell_bench"
SCALE_PREFIX = "inkwell_bench_scale"  # the content-scale section's database


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold-runs", type=int, default=7, help="timed cold starts per target")
    parser.add_argument("--cold-warmup", type=int, default=1,
                        help="untimed cold rounds first (bytecode and file caches)")
    parser.add_argument("--nopyc-runs", type=int, default=1,
                        help="cold starts per target with no .pyc outside the stdlib"
                        " (the cost of shipping sources only); 0 to skip")
    parser.add_argument("--layer-runs", type=int, default=3,
                        help="cold starts per target importing only the Lambda layer's"
                        " third-party packages; 0 to skip")
    parser.add_argument("--warm-calls", type=int, default=200, help="timed warm calls")
    parser.add_argument("--bcrypt-calls", type=int, default=15,
                        help="timed warm calls of routes that run bcrypt")
    parser.add_argument("--warmup", type=int, default=20,
                        help="untimed warm calls first (2 for bcrypt routes)")
    parser.add_argument("--event-calls", type=int, default=200,
                        help="timed calls per variant of the writes that publish an event")
    parser.add_argument("--relay-events", type=int, default=5000,
                        help="outbox rows the relay publishes to moto's bus without targets;"
                        " 0 to skip")
    parser.add_argument("--relay-routed-events", type=int, default=200,
                        help="outbox rows the relay publishes to moto's bus with SQS targets;"
                        " 0 to skip")
    parser.add_argument("--relay-budget", type=float, default=120,
                        help="seconds the relay may run (its budget_s)")
    parser.add_argument("--scale-posts", type=int, default=100_000,
                        help="posts the content-scale section seeds")
    parser.add_argument("--scale-authors", type=int, default=1_000,
                        help="authors the content-scale section's posts are spread over")
    parser.add_argument("--scale-calls", type=int, default=200,
                        help="timed calls of each read in the content-scale section")
    parser.add_argument("--comments-scale-comments", type=int, default=10_000,
                        help="comments on the post the comments-scale section measures")
    parser.add_argument("--comments-scale-calls", type=int, default=200,
                        help="timed calls of each request in the comments-scale section")
    parser.add_argument("--only", action="append", default=[],
                        help="benchmark only this function (repeatable); 'events' for the"
                        " whole events section, 'events-publish', 'events-relay' or a"
                        " consumer's name for a part of it; 'content-scale' for the"
                        " content data-scale section, 'comments-scale' for the comments one;"
                        " 'comments' for the comments routes, consumers and data-scale"
                        " section")
    parser.add_argument("--json", type=Path, default=ROOT / "build" / "bench.json")
    return parser.parse_args(argv)


COMMENTS = "comments"  # --only comments: everything of the comments domain


def _expand(only: list[str]) -> list[str]:
    """`--only comments` stands for the comments routes, consumers and data-scale section.

    Imports the functions' code: call it once the environment and sys.stdout are settled."""
    if COMMENTS not in only:
        return only
    import wiring
    from local.bench.comments_scale import SECTION

    names = [f.name for f in (*wiring.ROUTES, *wiring.CONSUMERS)
             if f.name.startswith(f"{COMMENTS}-")]
    return [*(o for o in only if o != COMMENTS), *names, SECTION]


def _progress(stream: TextIO, started: float) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(f"[bench {time.perf_counter() - started:6.1f}s] {message}", file=stream,
              flush=True)

    return say


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    options = _options(argv)
    out = sys.stdout
    # The functions log every request with Powertools, to the sys.stdout of the moment they
    # are imported. Keep that cost (it is part of a real invocation), but not the output.
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (closed at exit)
    say = _progress(sys.stderr, started)

    # Production settings, whatever the caller's shell has.
    for name in ("INKWELL_BCRYPT_ROUNDS", "POWERTOOLS_LOG_LEVEL"):
        os.environ.pop(name, None)
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"

    from local import platform  # after the environment is settled

    options.only = _expand(options.only)

    scratch = Path(tempfile.mkdtemp(prefix="inkwell-bench-"))
    databases = platform.LocalDatabases(scratch)
    external = bool(os.environ.get("INKWELL_DATABASE_URL"))
    try:
        say("starting PostgreSQL" + (" (INKWELL_DATABASE_URL)" if external else " (embedded)"))
        server_url = databases.start()
        if external:
            platform.drop_databases(server_url, DATABASE_PREFIX)
            platform.drop_databases(server_url, SCALE_PREFIX)
        urls = platform.prepare_databases(server_url, DATABASE_PREFIX)
        os.environ.update(platform.function_environment(urls, scratch))

        from local.bench import suite

        description = (
            "external (INKWELL_DATABASE_URL)" if external
            else f"embedded, temporary ({scratch})"
        )
        lines = suite.run(options, urls, description, scratch, say, started, server_url)
        print("\n".join(lines), file=out, flush=True)
        return 0
    finally:
        from inkwell.db import _databases

        for db in _databases.values():
            db.discard_connection()
        if external:
            platform.drop_databases(os.environ["INKWELL_DATABASE_URL"], DATABASE_PREFIX)
            platform.drop_databases(os.environ["INKWELL_DATABASE_URL"], SCALE_PREFIX)
        databases.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        sys.stdout.close()
        sys.stdout = out
