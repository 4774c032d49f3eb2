"""Login, refresh-token rotation and reuse detection, logout, the failed-login brake."""

from __future__ import annotations

import pytest

from inkwell.settings import settings
from inkwell.tokens import hash_refresh_token, verify_access_token
from local.dispatch import Response
from tests.conftest import Api
from tests.integration.support import (
    PASSWORD,
    USER_FIELDS,
    USERS,
    Account,
    assert_problem,
    error_fields,
    sign_up,
    sql,
    token_claims,
)

LOGIN, REFRESH, LOGOUT, ME = (
    f"{USERS}/login",
    f"{USERS}/refresh",
    f"{USERS}/logout",
    f"{USERS}/me",
)


def login(api: Api, username: str, password: str = PASSWORD) -> Response:
    return api.call("POST", LOGIN, {"username": username, "password": password})


def refresh(api: Api, refresh_token: str) -> Response:
    return api.call("POST", REFRESH, {"refreshToken": refresh_token})


# --- login --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alice", "ALICE", "alice@example.com", "Alice@Example.COM"])
def test_login_by_username_or_email_any_case(api: Api, alice: Account, name: str) -> None:
    response = login(api, name)
    assert response.status == 200
    body = response.json()
    assert set(body) == {"token", "refreshToken", "expiresIn", "tokenType", "user"}
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] == settings().access_token_ttl_s
    assert set(body["user"]) == USER_FIELDS
    assert body["user"]["id"] == alice.id
    claims = token_claims(body["token"])
    assert claims["sub"] == alice.id
    assert (claims["username"], claims["role"]) == ("alice", "user")
    assert claims["exp"] - claims["iat"] == body["expiresIn"]
    assert verify_access_token(body["token"]).user_id == alice.id
    assert body["refreshToken"] and body["refreshToken"] != body["token"]
    assert PASSWORD not in response.body.decode() and "$2b$" not in response.body.decode()


def test_refresh_tokens_are_stored_hashed(api: Api, alice: Account) -> None:
    hashes = {r["token_hash"] for r in sql("SELECT token_hash FROM refresh_tokens")}
    assert hash_refresh_token(alice.refresh_token) in hashes
    assert alice.refresh_token not in hashes


def test_wrong_password_and_unknown_user_are_the_same_401(api: Api, alice: Account) -> None:
    wrong = login(api, "alice", "wrong password")
    unknown = login(api, "nobody-here", "wrong password")
    unknown_email = login(api, "nobody@example.com", PASSWORD)
    bodies = [assert_problem(r, 401) for r in (wrong, unknown, unknown_email)]
    assert bodies[0] == bodies[1] == bodies[2]
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]
    assert "token" not in wrong.json()


def test_overlong_password_at_login_is_401_not_500(api: Api, alice: Account) -> None:
    assert_problem(login(api, "alice", "é" * 37), 401)
    assert_problem(login(api, "alice", "x" * 1000), 401)


def test_login_validation(api: Api) -> None:
    assert error_fields(api.call("POST", LOGIN, {})) == {"username", "password"}
    assert error_fields(api.call("POST", LOGIN, {"username": "a", "password": ""})) == {"password"}
    assert error_fields(api.call("POST", LOGIN, {"username": "a", "password": 5})) == {"password"}
    assert_problem(api.call("POST", LOGIN, raw_body=b"{"), 400)
    assert_problem(api.call("POST", LOGIN, raw_body=b'["alice", "pw"]'), 400)


def test_repeated_failures_lock_the_account_with_retry_after(
    api: Api, alice: Account, bob: Account
) -> None:
    config = settings()
    for _ in range(config.login_max_failures):
        assert_problem(login(api, "alice", "wrong password"), 401)
    locked = login(api, "alice", "wrong password")
    problem = assert_problem(locked, 429)
    retry_after = int(locked.headers["retry-after"])
    assert 1 <= retry_after <= config.login_failure_window_s
    assert "try again" in problem["detail"].lower()
    # The right password does not get through while the name is locked, in any case ...
    assert_problem(login(api, "alice", PASSWORD), 429)
    assert_problem(login(api, "ALICE", PASSWORD), 429)
    # ... and the lock is per login name: another name (even of the same account) is free.
    assert login(api, "bob").status == 200
    assert login(api, "alice@example.com").status == 200


def test_a_successful_login_resets_the_failure_count(api: Api, alice: Account) -> None:
    below = settings().login_max_failures - 1
    for _ in range(below):
        assert_problem(login(api, "alice", "wrong password"), 401)
    assert login(api, "alice").status == 200
    for _ in range(below):
        assert_problem(login(api, "alice", "wrong password"), 401)
    assert login(api, "alice").status == 200


def test_failures_after_the_window_start_a_new_count(api: Api, alice: Account) -> None:
    for _ in range(settings().login_max_failures):
        assert_problem(login(api, "alice", "wrong password"), 401)
    assert_problem(login(api, "alice"), 429)
    # Move the window into the past, as if it had run out.
    sql("UPDATE login_failures SET window_started_at = now() - interval '1 day'")
    assert_problem(login(api, "alice", "wrong password"), 401)
    assert sql("SELECT failures FROM login_failures") == [{"failures": 1}]
    assert login(api, "alice").status == 200


def _lockout_story(api: Api, name: str) -> list[tuple[int, str, str | None]]:
    """(status, detail, Retry-After) of max_failures + 2 wrong passwords, then the right
    one of alice's account, all for `name`."""
    answers = []
    for password in ["wrong password"] * (settings().login_max_failures + 2) + [PASSWORD]:
        response = login(api, name, password)
        body = assert_problem(response, response.status)
        retry = response.headers.get("retry-after")
        answers.append((response.status, body["detail"], retry and "set"))
    return answers


def test_lockout_is_the_same_for_existing_and_unknown_accounts(api: Api, alice: Account) -> None:
    existing = _lockout_story(api, "alice")
    unknown = _lockout_story(api, "ghost")
    assert existing == unknown
    limit = settings().login_max_failures
    assert [status for status, _, _ in existing] == [401] * limit + [429] * 3
    assert sql("SELECT login, failures FROM login_failures ORDER BY login") == [
        {"login": "alice", "failures": limit},
        {"login": "ghost", "failures": limit},
    ]


def test_a_deactivated_account_fails_like_a_wrong_password(api: Api, alice: Account) -> None:
    sql("UPDATE users SET is_active = false WHERE id = CAST(:id AS uuid)", id=alice.id)
    right = assert_problem(login(api, "alice", PASSWORD), 401)
    wrong = assert_problem(login(api, "ghost", PASSWORD), 401)
    assert right == wrong
    assert sql("SELECT failures FROM login_failures WHERE login = 'alice'") == [{"failures": 1}]


# --- refresh ------------------------------------------------------------------------------


def test_refresh_rotates_and_the_old_token_is_then_rejected(api: Api, alice: Account) -> None:
    first = refresh(api, alice.refresh_token)
    assert first.status == 200
    body = first.json()
    assert set(body) == {"token", "refreshToken", "expiresIn", "tokenType", "user"}
    assert body["refreshToken"] != alice.refresh_token
    assert body["user"]["id"] == alice.id
    assert api.call("GET", ME, token=body["token"]).status == 200
    # The rotated-away token no longer works; the new one does (once).
    assert_problem(refresh(api, alice.refresh_token), 401)


def test_reusing_a_used_refresh_token_revokes_the_whole_family(api: Api, alice: Account) -> None:
    other_device = login(api, "alice").json()["refreshToken"]
    second = refresh(api, alice.refresh_token).json()["refreshToken"]
    third = refresh(api, second).json()["refreshToken"]
    # Someone replays the first token: refused, and the family is revoked ...
    assert_problem(refresh(api, alice.refresh_token), 401)
    # ... so even the newest token of that family stops working ...
    assert_problem(refresh(api, third), 401)
    # ... while another login's family is untouched.
    assert refresh(api, other_device).status == 200


def test_refresh_with_an_unknown_token_is_401(api: Api, alice: Account) -> None:
    assert_problem(refresh(api, "not-a-refresh-token"), 401)
    assert refresh(api, alice.refresh_token).status == 200  # nothing else was revoked


def test_refresh_validation(api: Api) -> None:
    assert error_fields(api.call("POST", REFRESH, {})) == {"refreshToken"}
    assert error_fields(api.call("POST", REFRESH, {"refresh_token": "x"})) == {
        "refreshToken",
        "refresh_token",
    }
    assert error_fields(api.call("POST", REFRESH, {"refreshToken": "x" * 257})) == {"refreshToken"}
    assert_problem(api.call("POST", REFRESH, raw_body=b"nope"), 400)


def test_expired_refresh_token_is_401(api: Api, alice: Account) -> None:
    sql("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'")
    assert_problem(refresh(api, alice.refresh_token), 401)


# --- logout -------------------------------------------------------------------------------


def test_logout_revokes_that_refresh_token(api: Api, alice: Account) -> None:
    response = api.call("POST", LOGOUT, {"refreshToken": alice.refresh_token})
    assert response.status == 204
    assert response.body == b""
    assert_problem(refresh(api, alice.refresh_token), 401)


def test_logout_after_rotation_revokes_the_current_token(api: Api, alice: Account) -> None:
    current = refresh(api, alice.refresh_token).json()["refreshToken"]
    assert api.call("POST", LOGOUT, {"refreshToken": current}).status == 204
    assert_problem(refresh(api, current), 401)


def test_logout_leaves_other_sessions_alone(api: Api, alice: Account) -> None:
    other = login(api, "alice").json()["refreshToken"]
    assert api.call("POST", LOGOUT, {"refreshToken": alice.refresh_token}).status == 204
    assert refresh(api, other).status == 200


def test_logout_with_an_unknown_token_is_still_204(api: Api) -> None:
    # No oracle for which refresh tokens exist.
    assert api.call("POST", LOGOUT, {"refreshToken": "unknown"}).status == 204


def test_logout_validation(api: Api) -> None:
    assert error_fields(api.call("POST", LOGOUT, {})) == {"refreshToken"}


# --- deactivated accounts -------------------------------------------------------------------


def test_deactivated_user_cannot_log_in_or_refresh(api: Api, alice: Account) -> None:
    live = refresh(api, alice.refresh_token).json()["refreshToken"]
    assert api.call("DELETE", f"{USERS}/{alice.id}", token=alice.token).status == 204
    wrong = assert_problem(login(api, "alice", "wrong password"), 401)
    right = assert_problem(login(api, "alice"), 401)
    assert right == wrong  # no hint that the password was right
    assert_problem(refresh(api, live), 401)
    # The still-unexpired access token no longer reaches the account either.
    assert_problem(api.call("GET", ME, token=alice.token), 401)


def test_user_deactivated_directly_cannot_refresh_even_with_live_tokens(
    api: Api, alice: Account
) -> None:
    # Deactivation by any path (not only DELETE, which also revokes) stops refresh at once.
    sql("UPDATE users SET is_active = false")
    assert_problem(refresh(api, alice.refresh_token), 401)


def test_sign_up_helper_roles(api: Api) -> None:
    moderator = sign_up(api, "mod", role="moderator")
    assert token_claims(moderator.token)["role"] == "moderator"
