"""The problem+json contract (RFC 9457)."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from inkwell import errors
from inkwell.errors import PROBLEM_CONTENT_TYPE, FieldProblem, Problem


def test_problem_dict_shape() -> None:
    body = Problem(404, "User was not found.").to_dict()
    assert body == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "User was not found.",
    }
    json.dumps(body)  # serialisable as it is


def test_validation_problem_lists_fields() -> None:
    problem = errors.unprocessable(
        "The request has invalid fields.",
        [FieldProblem("username", "too short"), FieldProblem("email", "not an email")],
    )
    body = problem.to_dict(instance="/api/v1/users/register")
    assert body["status"] == 422
    assert body["title"] == HTTPStatus(422).phrase
    assert body["instance"] == "/api/v1/users/register"
    assert body["errors"] == [
        {"field": "username", "message": "too short"},
        {"field": "email", "message": "not an email"},
    ]


def test_errors_key_is_absent_without_field_problems() -> None:
    assert "errors" not in errors.unprocessable("bad").to_dict()
    assert "instance" not in errors.bad_request("bad").to_dict()


@pytest.mark.parametrize(
    ("problem", "status", "title"),
    [
        (errors.bad_request("x"), 400, "Bad Request"),
        (errors.unauthorized(), 401, "Unauthorized"),
        (errors.forbidden(), 403, "Forbidden"),
        (errors.not_found("Post"), 404, "Not Found"),
        (errors.conflict("x"), 409, "Conflict"),
        (errors.unprocessable("x"), 422, HTTPStatus(422).phrase),
        (errors.too_many_requests("x", 30), 429, "Too Many Requests"),
        (errors.service_unavailable("x"), 503, "Service Unavailable"),
        (errors.internal_error(), 500, "Internal Server Error"),
    ],
)
def test_helpers(problem: Problem, status: int, title: str) -> None:
    body = problem.to_dict()
    assert set(body) == {"type", "title", "status", "detail"}
    assert (body["status"], body["title"]) == (status, title)
    assert isinstance(body["detail"], str) and body["detail"]
    assert str(problem) == problem.detail


def test_headers_of_helpers() -> None:
    assert errors.unauthorized().headers["WWW-Authenticate"].startswith("Bearer")
    assert errors.too_many_requests("x", 30).headers == {"Retry-After": "30"}
    assert errors.too_many_requests("x", 0).headers == {"Retry-After": "1"}
    assert errors.service_unavailable("x").headers["Retry-After"] == "1"
    assert errors.not_found("User").detail == "User was not found."


def test_explicit_title_is_kept() -> None:
    assert Problem(400, "x", title="Bad cursor").to_dict()["title"] == "Bad cursor"


def test_problem_is_an_exception() -> None:
    with pytest.raises(Problem) as raised:
        raise errors.conflict("taken")
    assert raised.value.status == 409


def test_content_type() -> None:
    assert PROBLEM_CONTENT_TYPE == "application/problem+json"
