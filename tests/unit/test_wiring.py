"""The wiring declaration is consistent, and every handler serves exactly its route."""

from __future__ import annotations

import importlib
from collections import Counter

import pytest
from fastapi.routing import APIRoute

import wiring
from inkwell.http import FunctionApp

ROUTE_IDS = [route.name for route in wiring.ROUTES]


def test_function_names_are_unique() -> None:
    names = [f.name for f in wiring.all_functions()]
    assert [n for n, c in Counter(names).items() if c > 1] == []


def test_handlers_are_unique() -> None:
    handlers = [f.handler for f in wiring.all_functions()]
    assert [h for h, c in Counter(handlers).items() if c > 1] == []


def test_method_and_path_pairs_are_unique() -> None:
    pairs = [(r.method, r.path) for r in wiring.ROUTES]
    assert [p for p, c in Counter(pairs).items() if c > 1] == []


@pytest.mark.parametrize("route", wiring.ROUTES, ids=ROUTE_IDS)
def test_route_path_is_under_the_api_prefix_or_health(route: wiring.Route) -> None:
    assert route.path == "/health" or route.path.startswith(wiring.API_PREFIX + "/")
    assert route.path.startswith("/") and not route.path.endswith("/")


def test_only_health_runs_without_the_authorizer() -> None:
    assert [r.name for r in wiring.ROUTES if r.auth == "none"] == ["health"]


def test_credential_routes_are_throttled_harder() -> None:
    for name in (
        "users-register",
        "users-login",
        "users-refresh",
        "users-logout",
        "users-request-password-reset",
        "users-confirm-password-reset",
    ):
        assert wiring.route_by_name(name).throttle == wiring.CREDENTIALS_THROTTLE
    assert wiring.CREDENTIALS_THROTTLE.rate < wiring.DEFAULT_THROTTLE.rate


def test_signing_key_access_only_where_tokens_are_issued_or_verified() -> None:
    with_key = {f.name for f in wiring.all_functions() if wiring.Access.SIGNING_KEY in f.access}
    assert with_key == {"users-login", "users-refresh"}
    verifies = {f.name for f in wiring.all_functions() if wiring.Access.VERIFY_KEY in f.access}
    assert verifies == {"authorizer"}
    admin = {f.name for f in wiring.all_functions() if wiring.Access.SIGNING_KEY_ADMIN in f.access}
    assert admin == {wiring.SIGNING_KEYS.name}


def test_lookup_helpers() -> None:
    assert wiring.route_by_name("users-login").module == "users.routes.login"
    assert wiring.route_for_module("users.routes.login").name == "users-login"
    with pytest.raises(KeyError):
        wiring.route_by_name("nope")
    with pytest.raises(KeyError):
        wiring.route_for_module("users.nope")


@pytest.mark.parametrize("route", wiring.ROUTES, ids=ROUTE_IDS)
def test_handler_module_serves_its_wiring_route(route: wiring.Route) -> None:
    module = importlib.import_module(route.module)
    app = module.api
    assert isinstance(app, FunctionApp)
    assert app.route == route
    attribute = route.handler.rsplit(".", 1)[1]
    assert getattr(module, attribute) == app.handler


@pytest.mark.parametrize("route", wiring.ROUTES, ids=ROUTE_IDS)
def test_each_app_has_exactly_its_one_operation(route: wiring.Route) -> None:
    app = importlib.import_module(route.module).api.api
    api_routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert len(api_routes) == 1
    (only,) = api_routes
    assert only.path == route.path
    assert only.methods == {route.method}
    assert only.operation_id == route.name


@pytest.mark.parametrize("function", [wiring.AUTHORIZER, *wiring.MAINTENANCE], ids=lambda f: f.name)
def test_non_http_functions_import(function: wiring.Function) -> None:
    module = importlib.import_module(function.module)
    assert callable(getattr(module, function.handler.rsplit(".", 1)[1]))


def test_every_database_domain_has_migrations() -> None:
    from local.platform import migrations_dir

    for domain in wiring.DATABASE_DOMAINS:
        assert sorted(migrations_dir(domain).glob("*.sql")), domain
