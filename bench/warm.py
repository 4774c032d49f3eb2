"""Warm invocations in process: latency p50/p99, and SQL round trips per request.

Each target runs in one local execution environment (`local.dispatch`: one thread, module
state kept across invocations, as in a warm Lambda environment). Two passes, so that the
counting relay never sits in a timed call:

1. round trips: every domain's database URL points at a `bench.wire` relay; after two
   untimed calls (connect, prepare), each of `count` calls is counted on the wire;
2. latency: the URLs point at PostgreSQL again; after `warmup` untimed calls, `calls` calls
   are timed one by one (time.perf_counter around the handler call only).

Every response is checked; a target with a failed call reports it and no numbers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.results import Results
from bench.targets import Target
from bench.wire import RoundTrips
from bench.world import Event, World
from inkwell import env
from inkwell.db import database
from local.dispatch import ExecutionEnvironment, context_for, load_handler


@dataclass
class Outcome:
    round_trips: list[int] = field(default_factory=list)
    failure: str | None = None

    def round_trips_text(self) -> str:
        """``3``, or ``3..4`` when calls differed."""
        low, high = min(self.round_trips, default=None), max(self.round_trips, default=None)
        return "-" if low is None else str(low) if low == high else f"{low}..{high}"


def _call(target: Target, event: Event) -> str | None:
    """Invoke once; a description of the failure, or None."""
    try:
        result = load_handler(target.function)(event, context_for(target.function))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if target.ok(result) else f"unexpected result: {str(result)[:300]}"


def _reconnect() -> None:
    for domain in ("users", "content", "comments"):
        database(domain).discard_connection()


@contextmanager
def relayed(world: World, environment: ExecutionEnvironment) -> Iterator[list[RoundTrips]]:
    """Every domain's database through a counting relay while inside (reconnecting)."""
    with ExitStack() as stack:
        relays: list[RoundTrips] = []
        for domain, url in world.urls.items():
            relay = RoundTrips.for_url(url)
            stack.callback(relay.close)
            relays.append(relay)
            stack.callback(os.environ.__setitem__, env.db_url(domain), url)
            os.environ[env.db_url(domain)] = relay.url_for(url)
        stack.callback(environment.run, _reconnect)
        environment.run(_reconnect)
        yield relays


def count_round_trips(
    targets: Sequence[Target],
    world: World,
    environment: ExecutionEnvironment,
    count: int,
    outcomes: dict[str, Outcome],
) -> None:
    with relayed(world, environment) as relays:
        for target in targets:
            outcome = outcomes.setdefault(target.name, Outcome())
            events = target.events(world, 2 + count)

            def run(
                events: list[Event] = events, target: Target = target, outcome: Outcome = outcome
            ) -> None:
                for i, event in enumerate(events):
                    before = sum(r.round_trips for r in relays)
                    problem = _call(target, event)
                    if problem:
                        outcome.failure = outcome.failure or problem
                    elif i >= 2:
                        outcome.round_trips.append(sum(r.round_trips for r in relays) - before)

            environment.run(run)


def time_calls(target: Target, events: list[Event], warmup: int) -> tuple[list[float], str | None]:
    handler, context = load_handler(target.function), context_for(target.function)
    seconds: list[float] = []
    clock = time.perf_counter
    for i, event in enumerate(events):
        start = clock()
        try:
            result: Any = handler(event, context)
        except Exception as exc:
            return seconds, f"{type(exc).__name__}: {exc}"
        elapsed = clock() - start
        if not target.ok(result):
            return seconds, f"unexpected result: {str(result)[:300]}"
        if i >= warmup:
            seconds.append(elapsed)
    return seconds, None


def measure(
    targets: Sequence[Target],
    world: World,
    results: Results,
    *,
    calls: int,
    bcrypt_calls: int,
    warmup: int,
    count: int,
    say: Callable[[str], None],
) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    environment = ExecutionEnvironment("inkwell-bench")
    try:
        say(f"warm: round trips of {len(targets)} functions ({count} counted calls each)")
        count_round_trips(targets, world, environment, count, outcomes)
        for target in targets:
            n, w = (bcrypt_calls, 2) if target.bcrypt else (calls, warmup)
            say(f"warm: {target.name} ({n} calls)")
            events = target.events(world, w + n)

            def run(
                target: Target = target, events: list[Event] = events, w: int = w
            ) -> tuple[list[float], str | None]:
                return time_calls(target, events, w)

            seconds, problem = environment.run(run)
            outcome = outcomes[target.name]
            outcome.failure = outcome.failure or problem
            if problem is None:
                results.add(
                    f"warm/{target.name}",
                    seconds,
                    kind=target.kind,
                    round_trips=outcome.round_trips_text(),
                )
    finally:
        environment.close()
    return outcomes
