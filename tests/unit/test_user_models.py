"""Request-model validation of the users API (the rules of issue 2)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from users.models import (
    ChangePasswordRequest,
    ChangeRoleRequest,
    LoginRequest,
    PublicUser,
    RefreshRequest,
    RegisterRequest,
    UpdateUserRequest,
    User,
)

VALID: dict[str, Any] = {
    "username": "alice_w-1",
    "email": "alice@example.com",
    "password": "correct horse",
    "firstName": "Alice",
    "lastName": "Wonder",
    "bio": "Writes things.",
}


def register(**overrides: Any) -> RegisterRequest:
    body = {**VALID, **overrides}
    return RegisterRequest.model_validate({k: v for k, v in body.items() if v is not ...})


def error_fields(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in exc.errors()}


def test_valid_register_request_maps_camel_case() -> None:
    req = register()
    assert (req.username, req.first_name, req.last_name) == ("alice_w-1", "Alice", "Wonder")
    assert str(req.email) == "alice@example.com"


def test_optional_register_fields() -> None:
    req = register(firstName=..., lastName=..., bio=...)
    assert (req.first_name, req.last_name, req.bio) == (None, None, "")


@pytest.mark.parametrize("username", ["abc", "a" * 50, "A_b-9", "___", "---"])
def test_good_usernames(username: str) -> None:
    assert register(username=username).username == username


@pytest.mark.parametrize(
    "username",
    [
        "ab",
        "a" * 51,
        "",
        "has space",
        "dot.ted",
        "at@sign",
        "ünï",
        "tab\t",
        "semi;colon",
        "slash/",
        "new\nline",
    ],
)
def test_bad_usernames(username: str) -> None:
    with pytest.raises(ValidationError) as raised:
        register(username=username)
    assert error_fields(raised.value) == {"username"}


@pytest.mark.parametrize(
    "email", ["not-an-email", "a@", "@b.com", "a b@c.com", "a@b", "", "x" * 250 + "@example.com"]
)
def test_bad_emails(email: str) -> None:
    with pytest.raises(ValidationError) as raised:
        register(email=email)
    assert error_fields(raised.value) == {"email"}


@pytest.mark.parametrize("name", ["Al", "A" * 50, "Zoë", "  Bo  "])
def test_good_names(name: str) -> None:
    req = register(firstName=name, lastName=name)
    assert req.first_name == name.strip()


@pytest.mark.parametrize("name", ["A", "A" * 51, "", "   A   "])
def test_bad_names(name: str) -> None:
    with pytest.raises(ValidationError) as raised:
        register(firstName=name, lastName=name)
    assert error_fields(raised.value) == {"firstName", "lastName"}


@pytest.mark.parametrize("password", ["12345678", "a" * 72, "é" * 36, "€" * 24, "ab cd ef"])
def test_good_passwords(password: str) -> None:
    assert register(password=password).password == password


@pytest.mark.parametrize(
    "password",
    ["1234567", "", "a" * 73, "é" * 37, "€" * 25, "😀" * 19],
)
def test_bad_passwords(password: str) -> None:
    with pytest.raises(ValidationError) as raised:
        register(password=password)
    assert error_fields(raised.value) == {"password"}


def test_password_byte_limit_message_is_clear() -> None:
    with pytest.raises(ValidationError) as raised:
        register(password="é" * 37)
    (error,) = raised.value.errors()
    assert "72 bytes" in error["msg"]


def test_bio_length() -> None:
    assert register(bio="x" * 1000).bio == "x" * 1000
    with pytest.raises(ValidationError) as raised:
        register(bio="x" * 1001)
    assert error_fields(raised.value) == {"bio"}


@pytest.mark.parametrize(
    "extra", [{"role": "admin"}, {"isActive": False}, {"id": "x"}, {"first_name": "Snake"}]
)
def test_unknown_fields_are_rejected(extra: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as raised:
        register(**extra)
    assert error_fields(raised.value) == set(extra)


def test_missing_fields_are_listed() -> None:
    with pytest.raises(ValidationError) as raised:
        RegisterRequest.model_validate({})
    assert error_fields(raised.value) == {"username", "email", "password"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", 123),
        ("email", ["a@b.co"]),
        ("password", 12345678),
        ("bio", {"x": 1}),
        ("firstName", 42),
    ],
)
def test_wrong_types(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        register(**{field: value})
    assert error_fields(raised.value) == {field}


@pytest.mark.parametrize(
    "body",
    [
        {"role": "admin"},
        {"isActive": True},
        {"id": "3f1c3f0e-2c5e-4b8e-9a53-0c1a8f1b2d3e"},
        {"username": "newname"},
        {"password": "new password"},
    ],
)
def test_update_rejects_fields_it_cannot_change(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as raised:
        UpdateUserRequest.model_validate(body)
    assert error_fields(raised.value) == set(body)


def test_update_keeps_only_what_was_sent() -> None:
    req = UpdateUserRequest.model_validate({"firstName": "  Bob ", "bio": ""})
    assert req.model_dump(exclude_unset=True) == {"first_name": "Bob", "bio": ""}
    assert UpdateUserRequest.model_validate({}).model_dump(exclude_unset=True) == {}


def test_update_validates_like_register() -> None:
    with pytest.raises(ValidationError) as raised:
        UpdateUserRequest.model_validate(
            {"firstName": "A", "lastName": "B" * 51, "email": "nope", "bio": "x" * 1001}
        )
    assert error_fields(raised.value) == {"firstName", "lastName", "email", "bio"}


def test_login_request() -> None:
    req = LoginRequest.model_validate({"username": "a@b.co", "password": "x"})
    assert (req.username, req.password) == ("a@b.co", "x")
    for body in (
        {"username": "", "password": "x"},
        {"username": "a", "password": ""},
        {"username": "a" * 255, "password": "x"},
        {"username": "a"},
    ):
        with pytest.raises(ValidationError):
            LoginRequest.model_validate(body)


def test_refresh_request_uses_camel_case_only() -> None:
    assert RefreshRequest.model_validate({"refreshToken": "t"}).refresh_token == "t"
    with pytest.raises(ValidationError):
        RefreshRequest.model_validate({"refresh_token": "t"})
    with pytest.raises(ValidationError):
        RefreshRequest.model_validate({"refreshToken": ""})


def test_change_password_request() -> None:
    ok = ChangePasswordRequest.model_validate(
        {"currentPassword": "old", "newPassword": "new password"}
    )
    assert ok.new_password == "new password"
    with pytest.raises(ValidationError) as raised:
        ChangePasswordRequest.model_validate({"currentPassword": "old", "newPassword": "é" * 37})
    assert error_fields(raised.value) == {"newPassword"}
    with pytest.raises(ValidationError) as raised:
        ChangePasswordRequest.model_validate({"currentPassword": "", "newPassword": "short"})
    assert error_fields(raised.value) == {"currentPassword", "newPassword"}


@pytest.mark.parametrize("role", ["user", "moderator", "admin"])
def test_change_role_accepts_the_three_roles(role: str) -> None:
    assert ChangeRoleRequest.model_validate({"role": role}).role == role


@pytest.mark.parametrize("role", ["superuser", "Admin", "", None, 1])
def test_change_role_rejects_anything_else(role: Any) -> None:
    with pytest.raises(ValidationError):
        ChangeRoleRequest.model_validate({"role": role})


def test_response_models_write_camel_case_and_public_user_has_no_email() -> None:
    row = {
        "id": "3f1c3f0e-2c5e-4b8e-9a53-0c1a8f1b2d3e",
        "username": "alice",
        "email": "alice@example.com",
        "password_hash": "$2b$04$secret",
        "first_name": "Al",
        "last_name": None,
        "bio": "",
        "role": "user",
        "is_active": True,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    }
    private = User.model_validate(row).model_dump(mode="json")
    assert set(private) == {
        "id",
        "username",
        "email",
        "firstName",
        "lastName",
        "bio",
        "role",
        "isActive",
        "createdAt",
        "updatedAt",
    }
    public = PublicUser.model_validate(row).model_dump(mode="json")
    assert set(public) == set(private) - {"email"}
