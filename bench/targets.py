"""Every function the bench measures, with its events and its success check.

The routes come from `bench.scenarios` (one per route of `wiring.ROUTES`), the authorizer
gets the TOKEN event of a protected route with a valid token, and each consumer its sample
event under ``events/bus/`` with fresh ids. The reference is a bare FastAPI + Mangum hello
world (`bench.hello`), measured the same way in the same run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import wiring
from bench import scenarios
from bench.world import Event, World, consumer_events, http_event
from local import apigw

HELLO = wiring.Function(name="hello-world", handler="bench.hello.handler", memory_mb=512)


@dataclass(frozen=True)
class Target:
    function: wiring.Function
    kind: str  # "http", "authorizer", "consumer" or "reference"
    events: Callable[[World, int], list[Event]]
    ok: Callable[[Any], bool]
    bcrypt: int = 0

    @property
    def name(self) -> str:
        return self.function.name


def _authorizer_events(w: World, n: int) -> list[Event]:
    route = wiring.route_by_name("users-get-me")
    token = w.token(w.actor("member"))
    return [apigw.authorizer_event(route, http_event(route, token=token)) for _ in range(n)]


def _allowed(result: Any) -> bool:
    try:
        return bool(result["policyDocument"]["Statement"][0]["Effect"] == "Allow")
    except (KeyError, IndexError, TypeError):
        return False


def _hello_events(w: World, n: int) -> list[Event]:
    route = wiring.Route(name="hello-world", handler=HELLO.handler, path="/hello", auth="none")
    return [http_event(route) for _ in range(n)]


def _hello_ok(result: Any) -> bool:
    return isinstance(result, dict) and json.loads(result["body"]) == {"hello": "world"}


def _processed(result: Any) -> bool:
    return isinstance(result, dict) and result.get("status") == "processed"


def _consumer(consumer: wiring.Consumer) -> Target:
    return Target(consumer, "consumer", lambda _, n: consumer_events(consumer, n), _processed)


def all_targets() -> list[Target]:
    """The hello world, every route, the authorizer and every consumer, in that order.

    Raises LookupError naming the routes that have no scenario (or scenarios of no route).
    """
    missing = scenarios.missing()
    if missing:
        raise LookupError("routes without a scenario in bench/scenarios/: " + ", ".join(missing))
    found = [Target(HELLO, "reference", _hello_events, _hello_ok)]
    for route in wiring.ROUTES:
        s = scenarios.ALL[route.name]
        found.append(Target(route, "http", s.events, s.ok, s.bcrypt))
    found.append(Target(wiring.AUTHORIZER, "authorizer", _authorizer_events, _allowed))
    found.extend(_consumer(c) for c in wiring.CONSUMERS)
    return found
