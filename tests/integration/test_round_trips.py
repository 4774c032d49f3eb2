"""Every route makes the SQL round trips its benchmark scenario declares, on every call.

The scenarios (bench/scenarios/) give each call fresh, valid input; the round trips are
counted on the wire by a relay in front of PostgreSQL (bench.wire), so the functions run
unchanged. With no event bus configured, a write's events stay in the outbox: the count is
the function's own SQL; publishing them adds one round trip (marking them published).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import wiring
from bench.scenarios import ALL
from bench.wire import RoundTrips
from bench.world import World
from inkwell import env
from inkwell.db import database
from local.bus import LocalEventBus
from local.dispatch import ExecutionEnvironment, context_for, load_handler


def test_every_route_makes_the_round_trips_its_scenario_declares(
    clean_databases: dict[str, str],
    wire: Callable[[str], RoundTrips],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(env.EVENT_BUS_NAME, raising=False)
    relays = [wire(domain) for domain in clean_databases]
    world = World(clean_databases)
    environment = ExecutionEnvironment("round-trips")
    found: dict[str, list[int | str]] = {}
    try:
        for domain in clean_databases:
            environment.run(database(domain).discard_connection)
        for name, scenario in ALL.items():
            route = wiring.route_by_name(name)
            events = scenario.events(world, 3)

            def run(
                events: list[dict[str, object]] = events, route: wiring.Route = route
            ) -> list[int | str]:
                counts: list[int | str] = []
                for event in events:
                    before = sum(r.round_trips for r in relays)
                    result = load_handler(route)(event, context_for(route))
                    if not ALL[route.name].ok(result):
                        return [f"failed: {str(result)[:300]}"]
                    counts.append(sum(r.round_trips for r in relays) - before)
                return counts[1:]  # the first call prepares its statements

            found[name] = environment.run(run)
    finally:
        environment.close()
        world.close()
    wanted = {name: [s.trips, s.trips] for name, s in ALL.items()}
    assert found == wanted


def test_publishing_a_writes_events_adds_one_round_trip(
    clean_databases: dict[str, str],
    wire: Callable[[str], RoundTrips],
    event_bus: LocalEventBus,
) -> None:
    """With the (local) bus configured, the write also marks its events published. (The
    bus delivers user.updated to users-audit, whose connection is counted apart.)"""
    relay = wire("users")
    world = World(clean_databases)
    environment = ExecutionEnvironment("round-trips-published")
    route = wiring.route_by_name("users-update-user")
    events = ALL[route.name].events(world, 3)

    def run() -> list[int]:
        database("users").discard_connection()
        counts = []
        for event in events:
            before = relay.of_connection(0) if relay.connections else 0
            assert ALL[route.name].ok(load_handler(route)(event, context_for(route)))
            counts.append(relay.of_connection(0) - before)
        return counts[1:]

    try:
        assert environment.run(run) == [ALL[route.name].trips + 1] * 2
    finally:
        environment.close()
        world.close()
        event_bus.drain(60)  # the next test starts with nothing in flight
