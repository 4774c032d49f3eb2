"""Events: publishing to moto's EventBridge over HTTP, the relay's and consumers' throughput.

1. A write that publishes its event (users-update-user) with the bus on moto's server,
   against the same write leaving the event in the outbox (the warm section's number).
2. The users outbox relay (its scheduled handler) publishing `--relay-events` rows, left
   in the outbox by as many real update-user calls with no bus configured, to moto.
3. Each consumer processing `--consumer-events` fresh sample events in process.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import wiring
from bench import aws
from bench.results import Results
from bench.scenarios import ALL
from bench.world import World, consumer_events
from inkwell import env
from inkwell.events import client
from local.dispatch import ExecutionEnvironment, context_for, load_handler

Say = Callable[[str], None]
Out = Callable[..., None]  # lines of the report


def _bus(endpoint: str | None) -> None:
    """Point EventBridge at `endpoint` (moto) with the bench's bus, or unset the bus."""
    for name in (env.EVENT_BUS_NAME, "AWS_ENDPOINT_URL_EVENTS", "INKWELL_OUTBOX_GRACE_SECONDS"):
        os.environ.pop(name, None)
    if endpoint:
        os.environ.update(
            {
                env.EVENT_BUS_NAME: aws.BUS,
                "AWS_ENDPOINT_URL_EVENTS": endpoint,
                "INKWELL_OUTBOX_GRACE_SECONDS": "0",
                "AWS_REGION": aws.REGION,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
            }
        )
    client.cache_clear()


def _update_user(w: World, n: int, environment: ExecutionEnvironment) -> list[float]:
    route = wiring.route_by_name("users-update-user")
    scenario = ALL[route.name]
    events = scenario.events(w, n)

    def run() -> list[float]:
        handler, seconds = load_handler(route), []
        for event in events:
            start = time.perf_counter()
            result = handler(event, context_for(route))
            seconds.append(time.perf_counter() - start)
            if not scenario.ok(result):
                raise RuntimeError(f"users-update-user: {str(result)[:300]}")
        return seconds

    return environment.run(run)


def _consume(consumer: wiring.Consumer, events: list[dict[str, Any]]) -> float:
    handler = load_handler(consumer)
    start = time.perf_counter()
    for event in events:
        result = handler(event, context_for(consumer))
        if result.get("status") != "processed":
            raise RuntimeError(f"{consumer.name}: {result}")
    return time.perf_counter() - start


def run(
    w: World, results: Results, opts: argparse.Namespace, out: Out, say: Say, moto_port: int
) -> list[str]:
    environment = ExecutionEnvironment("bench-events")
    moto = aws.MotoServer(moto_port)
    rows: list[str] = []
    try:
        moto.client("events").create_event_bus(Name=aws.BUS)
        say("events: update-user publishing to moto")
        _bus(moto.endpoint)
        _update_user(w, 10, environment)
        results.add("events/update-user, published to moto", _update_user(w, 100, environment))
        _bus(None)
        results.add("events/update-user, left in the outbox", _update_user(w, 100, environment))
        rows += [
            f"| users-update-user, {label} | {results.ms(f'events/update-user, {label}'):.2f}"
            " ms p50 |"
            for label in ("left in the outbox", "published to moto")
        ]

        say(f"events: {opts.relay_events} outbox rows for the relay")
        _update_user(w, opts.relay_events, environment)
        relay = next(f for f in wiring.RELAYS if f.name == "users-outbox-relay")
        _bus(moto.endpoint)
        start = time.perf_counter()
        outcome = environment.run(lambda: load_handler(relay)({}, context_for(relay)))
        seconds = time.perf_counter() - start
        published = int(outcome["published"])
        if published < opts.relay_events or outcome["failed"]:
            raise RuntimeError(f"relay: {outcome}, {opts.relay_events} rows waiting")
        results.add("events/users-outbox-relay", [seconds], published=published)
        rows.append(
            f"| users-outbox-relay to moto's server | {published / seconds:.0f} events/s"
            f" ({published} events) |"
        )
        _bus(None)

        for consumer in wiring.CONSUMERS:
            say(f"events: {consumer.name}")
            events = consumer_events(consumer, 20 + opts.consumer_events)
            environment.run(partial(_consume, consumer, events[:20]))
            total = environment.run(partial(_consume, consumer, events[20:]))
            results.add(f"events/{consumer.name}", [total / opts.consumer_events])
            rows.append(
                f"| {consumer.name}, {events[0]['detail-type']} samples | "
                f"{opts.consumer_events / total:.0f} events/s |"
            )
    except Exception as exc:
        return [f"events: {type(exc).__name__}: {exc}"]
    finally:
        _bus(None)
        moto.stop()
        environment.close()
    out("", "### Events", "", "| what | measured |", "|---|---|", *rows)
    return []
