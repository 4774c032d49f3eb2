"""POST /api/v1/users/register through the gateway, the authorizer and the real handler."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest

from tests.conftest import Api
from tests.integration.support import (
    PASSWORD,
    USER_FIELDS,
    USERS,
    assert_problem,
    error_fields,
    race,
    sql,
    user_count,
    user_row,
)
from users import service
from users.models import RegisterRequest

REGISTER = f"{USERS}/register"


def body(name: str = "alice", **overrides: Any) -> dict[str, Any]:
    return {"username": name, "email": f"{name}@example.com", "password": PASSWORD, **overrides}


def test_register_returns_the_user_and_stores_a_bcrypt_hash(api: Api) -> None:
    response = api.call(
        "POST",
        REGISTER,
        body(firstName="Alice", lastName="Liddell", bio="Curiouser and curiouser."),
    )
    assert response.status == 201
    assert response.headers["content-type"] == "application/json"
    user = response.json()
    assert set(user) == USER_FIELDS
    assert uuid.UUID(user["id"])
    assert (user["username"], user["email"]) == ("alice", "alice@example.com")
    assert (user["firstName"], user["lastName"]) == ("Alice", "Liddell")
    assert user["bio"] == "Curiouser and curiouser."
    assert (user["role"], user["isActive"]) == ("user", True)
    created = datetime.fromisoformat(user["createdAt"])
    assert created.utcoffset() == timedelta(0)  # UTC
    assert datetime.fromisoformat(user["updatedAt"]) >= created
    text = response.body.decode()
    assert PASSWORD not in text and "$2b$" not in text and "assword" not in text
    row = user_row(user["id"])
    assert row["password_hash"].startswith("$2b$04$")
    assert PASSWORD not in row["password_hash"]


def test_register_with_only_required_fields(api: Api) -> None:
    response = api.call("POST", REGISTER, body("bob"))
    assert response.status == 201
    user = response.json()
    assert (user["firstName"], user["lastName"], user["bio"]) == (None, None, "")


@pytest.mark.parametrize(
    "second",
    [
        {"username": "ALICE", "email": "other@example.com"},
        {"username": "Alice", "email": "other@example.com"},
        {"username": "other", "email": "ALICE@EXAMPLE.COM"},
        {"username": "other", "email": "Alice@Example.com"},
    ],
    ids=["username-upper", "username-title", "email-upper", "email-mixed"],
)
def test_duplicates_are_409_case_insensitively(api: Api, second: dict[str, str]) -> None:
    api.register("alice")
    response = api.call("POST", REGISTER, {**second, "password": PASSWORD})
    problem = assert_problem(response, 409)
    field = "username" if second["username"] != "other" else "email"
    assert field in problem["detail"].lower()
    assert user_count() == 1


def _race(requests: list[RegisterRequest]) -> tuple[list[str], list[int]]:
    """service.register for every request at once: the ids created, the statuses refused."""
    outcome = race([partial(service.register, req) for req in requests])
    return [str(user.id) for user in outcome.results], outcome.refused


def test_concurrent_registrations_of_one_username_exactly_one_wins(api: Api) -> None:
    names = ["racer", "RACER", "Racer", "rAcEr", "racer", "RaCeR", "racER", "RACer"]
    requests = [
        RegisterRequest.model_validate(
            {"username": n, "email": f"racer{i}@example.com", "password": PASSWORD}
        )
        for i, n in enumerate(names)
    ]
    created, refused = _race(requests)
    assert len(created) == 1
    assert refused == [409] * 7
    rows = sql("SELECT id, lower(username) AS name FROM users")
    assert [(str(r["id"]), r["name"]) for r in rows] == [(created[0], "racer")]


def test_concurrent_registrations_of_one_email_exactly_one_wins(api: Api) -> None:
    requests = [
        RegisterRequest.model_validate(
            {
                "username": f"racer{i}",
                "password": PASSWORD,
                "email": "Same@Example.com" if i % 2 else "same@example.com",
            }
        )
        for i in range(8)
    ]
    created, refused = _race(requests)
    assert len(created) == 1
    assert refused == [409] * 7
    assert user_count() == 1


def test_registration_through_the_api_after_a_race_sees_the_winner(api: Api) -> None:
    created, _ = _race(
        [
            RegisterRequest.model_validate(
                {"username": "dup", "email": f"d{i}@example.com", "password": PASSWORD}
            )
            for i in range(3)
        ]
    )
    assert len(created) == 1
    assert_problem(api.call("POST", REGISTER, body("DUP")), 409)


# --- malformed and invalid bodies: 400 / 422, never 500, and nothing is written -----------


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"username": "a",}', b"\xff\xfe", b'{"username": "alice"'],
    ids=["garbage", "trailing-comma", "not-utf8", "truncated"],
)
def test_malformed_json_is_400(api: Api, raw: bytes) -> None:
    problem = assert_problem(api.call("POST", REGISTER, raw_body=raw), 400)
    assert "json" in problem["detail"].lower()
    assert user_count() == 0


@pytest.mark.parametrize(
    "raw", [b"[" * 100_000, b'{"a":' * 50_000], ids=["deep-array", "deep-object"]
)
def test_pathologically_nested_json_is_400(api: Api, raw: bytes) -> None:
    assert_problem(api.call("POST", REGISTER, raw_body=raw), 400)


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("text/plain", json.dumps(body()).encode()),
        ("application/x-www-form-urlencoded", b"username=alice&password=x"),
    ],
)
def test_non_json_content_type_is_415_saying_so(api: Api, content_type: str, raw: bytes) -> None:
    response = api.call("POST", REGISTER, raw_body=raw, headers={"Content-Type": content_type})
    problem = assert_problem(response, 415)
    assert "Content-Type: application/json" in problem["detail"]
    assert content_type in problem["detail"]
    assert user_count() == 0


@pytest.mark.parametrize(
    "raw", [b"[]", b'[{"username": "alice"}]', b'"alice"', b"42", b"null", b"true"]
)
def test_json_that_is_not_an_object_is_400(api: Api, raw: bytes) -> None:
    problem = assert_problem(api.call("POST", REGISTER, raw_body=raw), 400)
    assert "object" in problem["detail"].lower()


def test_missing_fields_are_422_listing_them(api: Api) -> None:
    assert error_fields(api.call("POST", REGISTER, {})) == {"username", "email", "password"}
    assert error_fields(api.call("POST", REGISTER, {"username": "alice"})) == {"email", "password"}
    assert user_count() == 0


def test_empty_body_is_a_client_error(api: Api) -> None:
    response = api.call("POST", REGISTER)
    assert response.status in (400, 422)
    assert_problem(response, response.status)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": 42}, "username"),
        ({"username": ["alice"]}, "username"),
        ({"email": 7}, "email"),
        ({"password": 12345678}, "password"),
        ({"password": None}, "password"),
        ({"firstName": {"x": 1}}, "firstName"),
        ({"bio": ["a"]}, "bio"),
        ({"bio": None}, "bio"),
    ],
)
def test_wrong_types_are_422(api: Api, overrides: dict[str, Any], field: str) -> None:
    assert error_fields(api.call("POST", REGISTER, body(**overrides))) == {field}
    assert user_count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "a" * 51}, "username"),
        ({"username": "ab"}, "username"),
        ({"username": "bad name"}, "username"),
        ({"username": "émile"}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a" * 300 + "@example.com"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "a" * 73}, "password"),
        ({"password": "é" * 37}, "password"),  # 37 characters, 74 bytes
        ({"password": "😀" * 19}, "password"),  # 19 characters, 76 bytes
        ({"firstName": "A"}, "firstName"),
        ({"lastName": "L" * 51}, "lastName"),
        ({"bio": "b" * 1001}, "bio"),
        ({"role": "admin"}, "role"),
        ({"isActive": False}, "isActive"),
        ({"id": str(uuid.uuid4())}, "id"),
    ],
)
def test_invalid_values_are_422_naming_the_field(
    api: Api, overrides: dict[str, Any], field: str
) -> None:
    response = api.call("POST", REGISTER, body(**overrides))
    assert error_fields(response) == {field}
    # The input is never echoed back: it may be a password.
    for value in overrides.values():
        if isinstance(value, str) and len(value) > 4:
            assert value not in response.body.decode()
    assert user_count() == 0


def test_several_invalid_fields_are_all_listed(api: Api) -> None:
    response = api.call(
        "POST",
        REGISTER,
        {"username": "x", "email": "nope", "password": "é" * 37, "firstName": "A", "bio": 3},
    )
    assert error_fields(response) == {"username", "email", "password", "firstName", "bio"}


def test_password_of_exactly_72_bytes_is_accepted(api: Api) -> None:
    password = "é" * 36
    api.register("multibyte", password)
    assert api.login("multibyte", password)["user"]["username"] == "multibyte"


def test_nul_character_is_a_client_error_not_500(api: Api) -> None:
    response = api.call("POST", REGISTER, body(bio="before\u0000after"))
    assert 400 <= response.status < 500
    assert_problem(response, response.status)
    assert user_count() == 0


def test_register_with_an_explicit_json_content_type_and_charset(api: Api) -> None:
    response = api.call(
        "POST",
        REGISTER,
        raw_body=json.dumps(body("carol")).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status == 201
