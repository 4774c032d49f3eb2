"""What every request gets from the gateway and the HTTP adapter: token checks by the real
authorizer, the request id, CORS, routing errors, and the problem+json contract."""

from __future__ import annotations

import uuid

import pytest

import wiring
from local import sample_events
from tests.conftest import Api
from tests.integration.support import USERS, Account, assert_problem, bad_tokens, user_count

BAD_TOKEN_KINDS = sorted(bad_tokens(str(uuid.uuid4())))
ORIGIN = "https://app.example.com"


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
def test_bad_token_on_a_protected_route_is_401(api: Api, alice: Account, kind: str) -> None:
    token = bad_tokens(alice.id, "alice")[kind]
    response = api.call("GET", f"{USERS}/me", token=token)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
def test_bad_token_on_an_optional_route_is_401_not_anonymous(
    api: Api, alice: Account, kind: str
) -> None:
    token = bad_tokens(alice.id, "alice")[kind]
    # Without a token this profile is public (200); a bad token must not fall back to that.
    assert api.call("GET", f"{USERS}/{alice.id}").status == 200
    assert_problem(api.call("GET", f"{USERS}/{alice.id}", token=token), 401)
    response = api.call(
        "POST",
        f"{USERS}/register",
        {"username": "eve", "email": "eve@example.com", "password": "password123"},
        token=token,
    )
    assert_problem(response, 401)
    assert user_count() == 1


@pytest.mark.parametrize(
    "authorization", ["Basic YWxpY2U6cGFzc3dvcmQ=", "Bearer", "Token abc", "Bearer a b"]
)
def test_malformed_authorization_header_is_401_everywhere(
    api: Api, alice: Account, authorization: str
) -> None:
    for method, path in (("GET", f"{USERS}/me"), ("GET", f"{USERS}/{alice.id}")):
        response = api.call(method, path, headers={"Authorization": authorization})
        assert_problem(response, 401)


def test_valid_token_reaches_the_function_with_the_identity(api: Api, alice: Account) -> None:
    response = api.call("GET", f"{USERS}/{alice.id}", token=alice.token)
    assert response.json()["email"] == "alice@example.com"  # the function saw who called


def test_token_of_a_user_that_no_longer_exists_is_401_on_me(api: Api, alice: Account) -> None:
    from tests.integration.support import sql

    sql("DELETE FROM users")
    assert_problem(api.call("GET", f"{USERS}/me", token=alice.token), 401)


def test_health_needs_no_token_and_ignores_one(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer garbage"}):
        response = api.call("GET", "/health", headers=headers)
        assert response.status == 200
        assert response.json() == {"status": "healthy"}


# --- request id ---------------------------------------------------------------------------


def test_every_response_carries_a_request_id(api: Api, alice: Account) -> None:
    responses = [
        api.call("GET", "/health"),
        api.call("GET", f"{USERS}/me", token=alice.token),  # 200
        api.call("GET", f"{USERS}/me"),  # 401 from the gateway
        api.call("GET", f"{USERS}/me", token="garbage"),  # 401 from the authorizer
        api.call("GET", f"{USERS}/{uuid.uuid4()}"),  # 404 from the function
        api.call("POST", f"{USERS}/register", {}),  # 422
        api.call("POST", f"{USERS}/register", raw_body=b"{"),  # 400
        api.call("GET", "/api/v1/nothing-here"),  # 404 from the gateway
        api.call("POST", "/health"),  # 405 from the gateway
        api.call("DELETE", f"{USERS}/{alice.id}", token=alice.token),  # 204
    ]
    ids = [r.headers.get("x-request-id") for r in responses]
    assert all(ids), ids
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "request_id", ["client-req-0001", "a1b2c3d4", "trace:abc.DEF_123-x", "r" * 128]
)
def test_a_sane_client_request_id_is_echoed(api: Api, alice: Account, request_id: str) -> None:
    for response in (
        api.call("GET", "/health", headers={"X-Request-ID": request_id}),
        api.call("GET", f"{USERS}/me", token=alice.token, headers={"X-Request-ID": request_id}),
        api.call(
            "POST",
            f"{USERS}/login",
            {"username": "alice", "password": "wrong password"},
            headers={"x-request-id": request_id},
        ),
    ):
        assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize(
    "request_id",
    ["short", "has space in it", "new\nline-12345", "r" * 129, "<script>alert</script>"],
)
def test_an_unsafe_client_request_id_is_replaced(api: Api, request_id: str) -> None:
    response = api.call("GET", "/health", headers={"X-Request-ID": request_id})
    assert response.headers["x-request-id"]
    assert response.headers["x-request-id"] != request_id


# --- CORS ---------------------------------------------------------------------------------


def test_cors_header_for_the_allowed_origin(api: Api, alice: Account) -> None:
    for response in (
        api.call("GET", "/health", headers={"Origin": ORIGIN}),
        api.call("GET", f"{USERS}/me", token=alice.token, headers={"Origin": ORIGIN}),
        api.call("POST", f"{USERS}/register", {}, headers={"Origin": ORIGIN}),  # errors too
    ):
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert "origin" in response.headers["vary"].lower()


@pytest.mark.parametrize("origin", ["https://evil.example.com", "http://app.example.com", None])
def test_no_cors_header_for_other_origins(api: Api, origin: str | None) -> None:
    headers = {"Origin": origin} if origin else {}
    response = api.call("GET", "/health", headers=headers)
    assert response.status == 200
    assert "access-control-allow-origin" not in response.headers


# --- routing and the error contract -------------------------------------------------------


def test_unknown_path_is_404_problem(api: Api) -> None:
    assert_problem(api.call("GET", "/api/v1/no-such-resource"), 404)
    assert_problem(api.call("GET", f"{USERS}/a/b/c"), 404)


def test_wrong_method_is_405_with_allow(api: Api) -> None:
    response = api.call("DELETE", f"{USERS}/login")
    assert_problem(response, 405)
    assert response.headers["allow"] == "POST"


def test_static_segment_beats_the_id_parameter(api: Api, alice: Account) -> None:
    # GET /users/me is get_me, not get_user with id "me".
    assert api.call("GET", f"{USERS}/me", token=alice.token).json()["id"] == alice.id


@pytest.mark.parametrize(
    "route", [r for r in wiring.ROUTES if r.auth == "required"], ids=lambda r: r.name
)
def test_every_protected_route_refuses_anonymous_callers(
    api: Api, alice: Account, route: wiring.Route
) -> None:
    path = route.path.replace("{id}", alice.id)
    response = api.call(route.method, path, {})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "route", [r for r in wiring.ROUTES if sample_events.takes_body(r)], ids=lambda r: r.name
)
def test_every_body_route_answers_malformed_json_with_400(
    api: Api, admin: Account, alice: Account, route: wiring.Route
) -> None:
    path = route.path.replace("{id}", alice.id)
    token = admin.token if route.name == "users-change-role" else alice.token
    for raw in (b"{oops", b"[1, 2]", b'"text"'):
        assert_problem(api.call(route.method, path, raw_body=raw, token=token), 400)
