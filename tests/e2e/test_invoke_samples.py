"""The sample events are invocable: `local.invoke` runs them against the test databases."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from local import invoke, sample_events

pytestmark = pytest.mark.e2e


def run_sample(function: str, sample: str | None = None) -> tuple[int, str]:
    out = io.StringIO()
    path = sample_events.EVENTS_DIR / f"{sample or function}.json"
    code = invoke.run(function, path, out)
    return code, out.getvalue()


def run_route_sample(name: str) -> dict[str, Any]:
    code, out = run_sample(name)
    assert code == 0, out
    result: dict[str, Any] = json.loads(out)
    return result


def test_register_then_login_samples(clean_databases: dict[str, str]) -> None:
    registered = run_route_sample("users-register")
    assert registered["statusCode"] == 201, registered["body"]
    assert json.loads(registered["body"])["username"] == "alice"
    assert registered["headers"]["x-request-id"] == sample_events.request_id("users-register")
    logged_in = run_route_sample("users-login")
    assert logged_in["statusCode"] == 200, logged_in["body"]
    assert json.loads(logged_in["body"])["token"]
    # Again: the username is taken now.
    assert run_route_sample("users-register")["statusCode"] == 409


def test_route_samples_answer_as_documented(clean_databases: dict[str, str]) -> None:
    assert run_route_sample("health")["statusCode"] == 200
    # The sample ids name nobody in an empty database.
    assert run_route_sample("users-get-user")["statusCode"] == 404
    assert run_route_sample("users-refresh")["statusCode"] == 401
    assert run_route_sample("users-logout")["statusCode"] == 204


def test_authorizer_samples(clean_databases: dict[str, str]) -> None:
    code, out = run_sample("authorizer", "authorizer-token")
    assert (code, out.strip()) == (1, "Unauthorized")  # the sample token is expired
    code, out = run_sample("authorizer", "authorizer-request")
    assert code == 0
    assert json.loads(out)["principalId"] == "anonymous"


def test_maintenance_sample(clean_databases: dict[str, str]) -> None:
    code, out = run_sample("users-maintenance")
    assert code == 0
    assert json.loads(out) == {"applied": []}  # the test databases are migrated already


def test_unknown_function_and_missing_event_are_usage_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert invoke.main(["no-such-function", "events/health.json"]) == 2
    assert "no function named 'no-such-function'" in capsys.readouterr().err
    assert invoke.main(["health", "events/does-not-exist.json"]) == 2
    assert "cannot read events/does-not-exist.json" in capsys.readouterr().err
