"""The signed-in operations: /me, profiles, updates, password, role, deactivation (the admin
list of users: test_users_list)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import Api
from tests.integration.support import (
    PASSWORD,
    USER_FIELDS,
    USERS,
    Account,
    assert_problem,
    bad_tokens,
    error_fields,
    sign_up,
    sql,
    token_claims,
    user_row,
)

ME = f"{USERS}/me"
PUBLIC_FIELDS = USER_FIELDS - {"email"}


def profile(user_id: str) -> str:
    return f"{USERS}/{user_id}"


def snapshot(user_id: str) -> dict[str, Any]:
    row = user_row(user_id)
    return {
        k: row[k]
        for k in (
            "username",
            "email",
            "first_name",
            "last_name",
            "bio",
            "role",
            "is_active",
            "password_hash",
            "updated_at",
        )
    }


# --- GET /me and GET /users/{id} ----------------------------------------------------------


def test_me_returns_own_user_with_email(api: Api, alice: Account) -> None:
    response = api.call("GET", ME, token=alice.token)
    assert response.status == 200
    me = response.json()
    assert set(me) == USER_FIELDS
    assert (me["id"], me["email"], me["firstName"]) == (alice.id, "alice@example.com", "Alice")


def test_me_needs_a_token(api: Api) -> None:
    response = api.call("GET", ME)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_public_profile_has_no_email_for_anonymous_or_other_users(
    api: Api, alice: Account, bob: Account
) -> None:
    for token in (None, bob.token):
        response = api.call("GET", profile(alice.id), token=token)
        assert response.status == 200
        body = response.json()
        assert set(body) == PUBLIC_FIELDS
        assert body["id"] == alice.id and body["bio"] == "Down the hole."
        assert "alice@example.com" not in response.body.decode()


def test_profile_shows_email_to_self_and_admin(api: Api, alice: Account, admin: Account) -> None:
    for token in (alice.token, admin.token):
        body = api.call("GET", profile(alice.id), token=token).json()
        assert set(body) == USER_FIELDS
        assert body["email"] == "alice@example.com"


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "me2", "%27%20OR%201=1", "null"])
def test_non_uuid_id_is_404(api: Api, alice: Account, bad_id: str) -> None:
    assert_problem(api.call("GET", profile(bad_id)), 404)
    assert_problem(api.call("GET", profile(bad_id), token=alice.token), 404)


def test_unknown_uuid_is_404(api: Api) -> None:
    assert_problem(api.call("GET", profile(str(uuid.uuid4()))), 404)


def test_uppercase_uuid_finds_the_user(api: Api, alice: Account) -> None:
    assert api.call("GET", profile(alice.id.upper())).json()["id"] == alice.id


def test_deactivated_profile_is_hidden_except_from_admins(
    api: Api, alice: Account, bob: Account, admin: Account
) -> None:
    assert api.call("DELETE", profile(alice.id), token=alice.token).status == 204
    assert_problem(api.call("GET", profile(alice.id)), 404)
    assert_problem(api.call("GET", profile(alice.id), token=bob.token), 404)
    seen = api.call("GET", profile(alice.id), token=admin.token).json()
    assert seen["isActive"] is False


# --- PATCH /users/{id} --------------------------------------------------------------------


def test_patch_self(api: Api, alice: Account) -> None:
    before = api.call("GET", ME, token=alice.token).json()
    response = api.call(
        "PATCH",
        profile(alice.id),
        {
            "firstName": "Alicia",
            "lastName": "  Pleasance ",
            "email": "alicia@example.com",
            "bio": "Through the looking glass.",
        },
        token=alice.token,
    )
    assert response.status == 200
    after = response.json()
    assert set(after) == USER_FIELDS
    assert (after["firstName"], after["lastName"]) == ("Alicia", "Pleasance")
    assert (after["email"], after["bio"]) == ("alicia@example.com", "Through the looking glass.")
    assert (after["username"], after["role"], after["createdAt"]) == (
        before["username"],
        before["role"],
        before["createdAt"],
    )
    assert datetime.fromisoformat(after["updatedAt"]) >= datetime.fromisoformat(before["updatedAt"])
    assert api.call("GET", ME, token=alice.token).json() == after
    # The new email is a login name now.
    assert api.login("alicia@example.com")["user"]["id"] == alice.id


def test_patch_only_changes_what_was_sent(api: Api, alice: Account) -> None:
    after = api.call("PATCH", profile(alice.id), {"bio": ""}, token=alice.token).json()
    assert (after["bio"], after["firstName"], after["lastName"]) == ("", "Alice", "Liddell")
    cleared = api.call("PATCH", profile(alice.id), {"firstName": None}, token=alice.token)
    assert cleared.json()["firstName"] is None


def test_empty_patch_returns_the_user_unchanged(api: Api, alice: Account) -> None:
    before = snapshot(alice.id)
    response = api.call("PATCH", profile(alice.id), {}, token=alice.token)
    assert response.status == 200 and response.json()["id"] == alice.id
    assert snapshot(alice.id) == before


def test_patch_another_user_is_403_and_changes_nothing(
    api: Api, alice: Account, bob: Account
) -> None:
    before = snapshot(alice.id)
    assert_problem(api.call("PATCH", profile(alice.id), {"bio": "pwned"}, token=bob.token), 403)
    assert snapshot(alice.id) == before


def test_moderator_cannot_patch_others(api: Api, alice: Account) -> None:
    moderator = sign_up(api, "mod", role="moderator")
    assert_problem(api.call("PATCH", profile(alice.id), {"bio": "x"}, token=moderator.token), 403)


def test_admin_can_patch_anyone(api: Api, alice: Account, admin: Account) -> None:
    response = api.call("PATCH", profile(alice.id), {"bio": "edited by admin"}, token=admin.token)
    assert response.status == 200
    assert user_row(alice.id)["bio"] == "edited by admin"


@pytest.mark.parametrize(
    "body",
    [
        {"role": "admin"},
        {"isActive": False},
        {"id": str(uuid.uuid4())},
        {"role": "admin", "bio": "sneaky"},
        {"username": "renamed"},
        {"password": "new password"},
        {"passwordHash": "$2b$04$x"},
        {"is_active": False},
    ],
)
def test_patch_cannot_touch_protected_fields(
    api: Api, alice: Account, body: dict[str, Any]
) -> None:
    before = snapshot(alice.id)
    response = api.call("PATCH", profile(alice.id), body, token=alice.token)
    assert error_fields(response) >= set(body) - {"bio"}
    assert snapshot(alice.id) == before
    assert token_claims(api.login("alice")["token"])["role"] == "user"


def test_patch_email_taken_is_409_and_nothing_changes(
    api: Api, alice: Account, bob: Account
) -> None:
    before = snapshot(alice.id)
    response = api.call(
        "PATCH",
        profile(alice.id),
        {"firstName": "Changed", "email": "BOB@example.com"},
        token=alice.token,
    )
    assert_problem(response, 409)
    assert snapshot(alice.id) == before  # firstName was not written either


def test_patch_own_email_in_another_case_is_allowed(api: Api, alice: Account) -> None:
    response = api.call(
        "PATCH", profile(alice.id), {"email": "Alice@Example.com"}, token=alice.token
    )
    assert response.status == 200


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": None}, {"email"}),
        ({"bio": None}, {"bio"}),
        ({"email": "nope"}, {"email"}),
        ({"firstName": "A"}, {"firstName"}),
        ({"lastName": "L" * 51}, {"lastName"}),
        ({"bio": "b" * 1001}, {"bio"}),
        ({"firstName": 3, "bio": []}, {"firstName", "bio"}),
    ],
)
def test_invalid_patch_is_422_and_nothing_changes(
    api: Api, alice: Account, body: dict[str, Any], fields: set[str]
) -> None:
    before = snapshot(alice.id)
    assert error_fields(api.call("PATCH", profile(alice.id), body, token=alice.token)) == fields
    assert snapshot(alice.id) == before


def test_patch_body_must_be_a_json_object(api: Api, alice: Account) -> None:
    assert_problem(api.call("PATCH", profile(alice.id), raw_body=b"[]", token=alice.token), 400)
    assert_problem(api.call("PATCH", profile(alice.id), raw_body=b"{", token=alice.token), 400)


def test_patch_unknown_or_bad_id(api: Api, admin: Account, alice: Account) -> None:
    assert_problem(
        api.call("PATCH", profile(str(uuid.uuid4())), {"bio": "x"}, token=admin.token), 404
    )
    assert_problem(api.call("PATCH", profile("nope"), {"bio": "x"}, token=alice.token), 404)


def test_patch_needs_a_token(api: Api, alice: Account) -> None:
    assert_problem(api.call("PATCH", profile(alice.id), {"bio": "x"}), 401)


def test_patch_deactivated_user_is_404(api: Api, alice: Account, admin: Account) -> None:
    assert api.call("DELETE", profile(alice.id), token=admin.token).status == 204
    assert_problem(api.call("PATCH", profile(alice.id), {"bio": "x"}, token=admin.token), 404)


# --- PUT /users/{id}/password -------------------------------------------------------------


def password_path(user_id: str) -> str:
    return f"{USERS}/{user_id}/password"


def test_change_password(api: Api, alice: Account) -> None:
    other_session = api.login("alice")["refreshToken"]
    response = api.call(
        "PUT",
        password_path(alice.id),
        {"currentPassword": PASSWORD, "newPassword": "brand new secret"},
        token=alice.token,
    )
    assert response.status == 204 and response.body == b""
    # Every refresh token is revoked ...
    for token in (alice.refresh_token, other_session):
        assert_problem(api.call("POST", f"{USERS}/refresh", {"refreshToken": token}), 401)
    # ... the new password works and the old one does not.
    assert api.login("alice", "brand new secret")["user"]["id"] == alice.id
    assert_problem(
        api.call("POST", f"{USERS}/login", {"username": "alice", "password": PASSWORD}), 401
    )


def test_change_password_with_wrong_current_password_is_422(api: Api, alice: Account) -> None:
    before = snapshot(alice.id)
    response = api.call(
        "PUT",
        password_path(alice.id),
        {"currentPassword": "not my password", "newPassword": "brand new secret"},
        token=alice.token,
    )
    assert error_fields(response) == {"currentPassword"}
    assert snapshot(alice.id) == before
    assert api.call("POST", f"{USERS}/refresh", {"refreshToken": alice.refresh_token}).status == 200


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"newPassword": "brand new secret"}, {"currentPassword"}),
        ({"currentPassword": PASSWORD}, {"newPassword"}),
        ({"currentPassword": PASSWORD, "newPassword": "short"}, {"newPassword"}),
        ({"currentPassword": PASSWORD, "newPassword": "é" * 37}, {"newPassword"}),
        ({"currentPassword": PASSWORD, "newPassword": 12345678}, {"newPassword"}),
    ],
)
def test_change_password_validation(
    api: Api, alice: Account, body: dict[str, Any], fields: set[str]
) -> None:
    before = snapshot(alice.id)
    assert error_fields(api.call("PUT", password_path(alice.id), body, token=alice.token)) == (
        fields
    )
    assert snapshot(alice.id) == before


def test_change_password_of_someone_else_is_403_even_for_admins(
    api: Api, alice: Account, bob: Account, admin: Account
) -> None:
    before = snapshot(alice.id)
    for caller in (bob, admin):
        response = api.call(
            "PUT",
            password_path(alice.id),
            {"currentPassword": caller.password, "newPassword": "brand new secret"},
            token=caller.token,
        )
        assert_problem(response, 403)
    assert snapshot(alice.id) == before


def test_change_password_needs_a_token(api: Api, alice: Account) -> None:
    assert_problem(
        api.call(
            "PUT",
            password_path(alice.id),
            {"currentPassword": PASSWORD, "newPassword": "brand new secret"},
        ),
        401,
    )


# --- PUT /users/{id}/role -----------------------------------------------------------------


def role_path(user_id: str) -> str:
    return f"{USERS}/{user_id}/role"


def test_admin_changes_a_role_and_refresh_carries_it(
    api: Api, alice: Account, admin: Account
) -> None:
    response = api.call("PUT", role_path(alice.id), {"role": "moderator"}, token=admin.token)
    assert response.status == 200
    body = response.json()
    assert set(body) == USER_FIELDS and body["role"] == "moderator"
    assert user_row(alice.id)["role"] == "moderator"
    # The access token issued before keeps its role until it expires ...
    assert token_claims(alice.token)["role"] == "user"
    # ... a refresh picks up the new role at once.
    refreshed = api.call("POST", f"{USERS}/refresh", {"refreshToken": alice.refresh_token})
    assert refreshed.status == 200
    assert refreshed.json()["user"]["role"] == "moderator"
    assert token_claims(refreshed.json()["token"])["role"] == "moderator"


def test_non_admins_cannot_change_roles_even_their_own(
    api: Api, alice: Account, bob: Account
) -> None:
    moderator = sign_up(api, "mod", role="moderator")
    for caller, target in (
        (alice, alice),
        (alice, bob),
        (moderator, moderator),
        (moderator, alice),
    ):
        response = api.call("PUT", role_path(target.id), {"role": "admin"}, token=caller.token)
        assert_problem(response, 403)
    assert {r["role"] for r in sql("SELECT role FROM users")} == {"user", "moderator"}


def test_forged_admin_token_cannot_change_roles(api: Api, alice: Account) -> None:
    for kind, token in bad_tokens(alice.id, "alice").items():
        response = api.call("PUT", role_path(alice.id), {"role": "admin"}, token=token)
        assert response.status == 401, kind
        assert_problem(response, 401)
    assert user_row(alice.id)["role"] == "user"


@pytest.mark.parametrize("role", ["superuser", "ADMIN", "", None, 1])
def test_invalid_role_is_422(api: Api, alice: Account, admin: Account, role: Any) -> None:
    response = api.call("PUT", role_path(alice.id), {"role": role}, token=admin.token)
    assert error_fields(response) == {"role"}
    assert user_row(alice.id)["role"] == "user"


def test_role_of_unknown_user_is_404(api: Api, admin: Account) -> None:
    assert_problem(
        api.call("PUT", role_path(str(uuid.uuid4())), {"role": "user"}, token=admin.token), 404
    )
    assert_problem(api.call("PUT", role_path("nope"), {"role": "user"}, token=admin.token), 404)


def test_admin_cannot_demote_themselves(api: Api, admin: Account) -> None:
    assert_problem(api.call("PUT", role_path(admin.id), {"role": "user"}, token=admin.token), 409)
    assert user_row(admin.id)["role"] == "admin"


# --- DELETE /users/{id} -------------------------------------------------------------------


def test_delete_self(api: Api, alice: Account) -> None:
    response = api.call("DELETE", profile(alice.id), token=alice.token)
    assert response.status == 204 and response.body == b""
    row = user_row(alice.id)
    assert row["is_active"] is False
    assert sql("SELECT count(*) AS n FROM refresh_tokens WHERE revoked_at IS NULL") == [{"n": 0}]


def test_admin_deletes_another_user(api: Api, alice: Account, admin: Account) -> None:
    assert api.call("DELETE", profile(alice.id), token=admin.token).status == 204
    assert user_row(alice.id)["is_active"] is False
    assert_problem(
        api.call("POST", f"{USERS}/login", {"username": "alice", "password": PASSWORD}), 401
    )
    assert_problem(api.call("POST", f"{USERS}/refresh", {"refreshToken": alice.refresh_token}), 401)


def test_delete_another_user_is_403(api: Api, alice: Account, bob: Account) -> None:
    assert_problem(api.call("DELETE", profile(alice.id), token=bob.token), 403)
    assert user_row(alice.id)["is_active"] is True
    assert api.login("alice")["user"]["isActive"] is True


def test_delete_unknown_or_anonymous(api: Api, alice: Account, admin: Account) -> None:
    assert_problem(api.call("DELETE", profile(str(uuid.uuid4())), token=admin.token), 404)
    assert_problem(api.call("DELETE", profile("nope"), token=admin.token), 404)
    assert_problem(api.call("DELETE", profile(alice.id)), 401)
    assert user_row(alice.id)["is_active"] is True
