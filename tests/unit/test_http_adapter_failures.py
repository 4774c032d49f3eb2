"""The failures of the layers below the adapter become problem+json in the adapter alone."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

import wiring
from inkwell.failures import DatabaseUnavailable, InvalidValue
from inkwell.http import FunctionApp
from local import apigw


@dataclass(frozen=True)
class Operation:
    """A route as the adapter needs it, without the wiring (any HttpRoute will do)."""

    name: str = "test-failing"
    method: str = "GET"
    path: str = "/api/v1/failing"
    description: str = "Fails the way the layers below fail."
    tags: tuple[str, ...] = ("test",)


def answer_to(failure: Exception) -> dict[str, object]:
    app = FunctionApp(Operation())

    @app.endpoint()
    def failing() -> None:
        raise failure

    route = wiring.Route(name="test-failing", handler="x.handler", path="/api/v1/failing")
    return app.handler(apigw.request_event(route, route.path), None)


@pytest.mark.parametrize(
    ("failure", "status", "detail"),
    [
        (
            DatabaseUnavailable("The users database is unreachable."),
            503,
            "The users database is unreachable.",
        ),
        (InvalidValue("22P02"), 422, "A value in the request is not valid."),
        (
            RuntimeError("secret detail"),
            500,
            "An unexpected error occurred. It has been logged; quote the request id.",
        ),
    ],
)
def test_a_failure_below_is_answered_as_a_problem(
    failure: Exception, status: int, detail: str
) -> None:
    response = answer_to(failure)
    assert response["statusCode"] == status
    headers = response["headers"]
    assert isinstance(headers, dict)
    assert headers["content-type"] == "application/problem+json"
    body = json.loads(str(response["body"]))
    assert (body["status"], body["detail"]) == (status, detail)
    assert ("retry-after" in headers) == (status == 503)
