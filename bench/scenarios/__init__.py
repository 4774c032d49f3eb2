"""What each function is benchmarked with, declared as data per domain.

Each domain module maps route names to a `Scenario`: how to build `n` fresh, valid events
(seeding what each call needs, so every timed call takes the success path the route exists
for) and what a successful response looks like. `ALL` joins them; `missing()` names every
route of `wiring.ROUTES` with no scenario, and the bench refuses to run while there is one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import wiring
from bench.world import Event, World


@dataclass(frozen=True)
class Scenario:
    events: Callable[[World, int], list[Event]]  # n fresh events, seeding what they need
    status: int  # the success status the route answers
    trips: int  # SQL round trips per warm call (events left in the outbox); tests assert it
    body: Callable[[Any], bool] = field(default=lambda _: True)  # on the parsed JSON body
    bcrypt: int = 0  # bcrypt hashes per call at the production cost (fewer calls timed)

    def ok(self, result: Any) -> bool:
        if not isinstance(result, dict) or result.get("statusCode") != self.status:
            return False
        raw = result.get("body")
        try:
            return bool(self.body(json.loads(raw) if raw else None))
        except (ValueError, KeyError, TypeError):
            return False


def full_page(body: Any) -> bool:
    return len(body["items"]) == 20 and body["nextCursor"] is not None


def _all() -> dict[str, Scenario]:
    from bench.scenarios import comments, content, users

    found: dict[str, Scenario] = {}
    for module in (users, content, comments):
        found.update(module.SCENARIOS)
    return found


ALL: dict[str, Scenario] = _all()


def missing(
    routes: tuple[wiring.Route, ...] = wiring.ROUTES, scenarios: dict[str, Scenario] = ALL
) -> list[str]:
    """Routes with no scenario, and scenarios of no route (renamed or removed)."""
    names = {r.name for r in routes}
    return sorted(
        (names - scenarios.keys()) | {f"{n} (no such route)" for n in scenarios.keys() - names}
    )
