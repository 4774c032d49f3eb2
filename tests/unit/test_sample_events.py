"""The sample events under events/: one per function, current, and routed like the real ones."""

from __future__ import annotations

import importlib
import json

import pytest

import wiring
from local import apigw, sample_events

GENERATED = sample_events.generate()


def test_every_function_has_a_sample() -> None:
    for function in wiring.all_functions():
        stems = sample_events.events_for(function)
        assert stems, function.name
        for stem in stems:
            assert (sample_events.EVENTS_DIR / f"{stem}.json").is_file(), stem


def test_the_authorizer_has_a_token_and_a_request_sample() -> None:
    token = json.loads((sample_events.EVENTS_DIR / "authorizer-token.json").read_text())
    request = json.loads((sample_events.EVENTS_DIR / "authorizer-request.json").read_text())
    assert token["type"] == "TOKEN" and token["authorizationToken"].startswith("Bearer ")
    assert request["type"] == "REQUEST" and request["methodArn"].startswith("arn:aws:execute-api")


def test_committed_samples_equal_the_generator_output() -> None:
    # Regenerate with: python -m local.sample_events
    assert sample_events.stale() == []


def test_generation_is_deterministic() -> None:
    assert sample_events.generate() == GENERATED


@pytest.mark.parametrize("route", wiring.ROUTES, ids=lambda r: r.name)
def test_route_sample_is_routed_to_its_route(route: wiring.Route) -> None:
    event = json.loads((sample_events.EVENTS_DIR / f"{route.name}.json").read_text())
    found = apigw.match(event["httpMethod"], event["path"])
    assert found.route == route
    assert (event["pathParameters"] or {}) == found.path_parameters
    assert event["resource"] == route.path
    if sample_events.takes_body(route):
        assert isinstance(json.loads(event["body"]), dict)
    else:
        assert event["body"] is None


@pytest.mark.parametrize("route", wiring.ROUTES, ids=lambda r: r.name)
def test_route_sample_carries_the_authorizer_context(route: wiring.Route) -> None:
    context = json.loads((sample_events.EVENTS_DIR / f"{route.name}.json").read_text())[
        "requestContext"
    ]["authorizer"]
    if route.auth == "none":
        assert context is None
    elif route.auth == "required":
        assert set(context) == {"principalId", "userId", "username", "role"}
        assert context["role"] in ("user", "moderator", "admin")
    else:
        assert context["principalId"]


def test_maintenance_sample_migrates() -> None:
    for function in wiring.MAINTENANCE:
        sample = json.loads((sample_events.EVENTS_DIR / f"{function.name}.json").read_text())
        assert sample == {"action": "migrate"}


def test_a_new_route_with_a_body_needs_a_sample_body() -> None:
    route = wiring.Route(
        name="demo-create", handler="demo.create.handler", method="POST", path="/api/v1/demo"
    )
    with pytest.raises(KeyError, match="BODIES"):
        sample_events.route_event(route)


@pytest.mark.parametrize("route", wiring.ROUTES, ids=lambda r: r.name)
def test_routes_declared_without_a_body_take_none(route: wiring.Route) -> None:
    """WITHOUT_BODY agrees with the handlers: exactly the operations with a request body
    are the POST/PUT/PATCH routes not named there."""
    operation = importlib.import_module(route.module).api.openapi()["paths"][route.path][
        route.method.lower()
    ]
    assert ("requestBody" in operation) == sample_events.takes_body(route)
