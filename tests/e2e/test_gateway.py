"""The platform over real HTTP: gateway routing, auth, errors, CORS and throttling."""

from __future__ import annotations

import http.client
import json
from typing import Any

import httpx
import jwt
import pytest
from jsonschema import Draft202012Validator

import wiring
from inkwell.errors import PROBLEM_CONTENT_TYPE
from local import gateway
from local.dispatch import Dispatcher, Response

pytestmark = pytest.mark.e2e

USERS = f"{wiring.API_PREFIX}/users"
PASSWORD = "correct horse battery"
ORIGIN = "https://app.example.com"  # INKWELL_CORS_ORIGINS in tests/conftest.py


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.headers["x-request-id"]
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


def assert_matches_schema(document: dict[str, Any], name: str, instance: Any) -> None:
    # The document is the schema root, so "#/components/schemas/..." refs resolve.
    schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    Draft202012Validator(schema).validate(instance)


def register(client: httpx.Client, username: str) -> dict[str, Any]:
    response = client.post(
        f"{USERS}/register",
        json={
            "username": username,
            "email": f"{username}@example.com",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_register_login_me_refresh_logout(client: httpx.Client) -> None:
    document = client.get(gateway.OPENAPI_PATH).json()
    user = register(client, "alice")
    assert_matches_schema(document, "User", user)

    login = client.post(f"{USERS}/login", json={"username": "alice", "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()
    assert_matches_schema(document, "TokenResponse", tokens)

    me = client.get(f"{USERS}/me", headers={"Authorization": f"Bearer {tokens['token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user["id"]
    assert me.headers["x-request-id"]

    refreshed = client.post(f"{USERS}/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 200, refreshed.text
    rotated = refreshed.json()["refreshToken"]
    assert rotated != tokens["refreshToken"]

    logout = client.post(f"{USERS}/logout", json={"refreshToken": rotated})
    assert logout.status_code == 204, logout.text
    assert logout.content == b""
    assert_problem(client.post(f"{USERS}/refresh", json={"refreshToken": rotated}), 401)


def test_query_string_reaches_the_function(client: httpx.Client) -> None:
    from users import service

    service.ensure_admin("root", "root@example.com", PASSWORD)
    for name in ("carol", "dave"):
        register(client, name)
    login = client.post(f"{USERS}/login", json={"username": "root", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    first = client.get(USERS, params={"limit": "2"}, headers=headers)
    assert first.status_code == 200, first.text
    assert len(first.json()["items"]) == 2 and first.json()["nextCursor"]
    rest = client.get(
        USERS, params={"limit": "2", "cursor": first.json()["nextCursor"]}, headers=headers
    )
    assert rest.status_code == 200, rest.text
    assert len(rest.json()["items"]) == 1 and rest.json()["nextCursor"] is None


def test_docs_and_openapi(client: httpx.Client) -> None:
    docs = client.get(gateway.DOCS_PATH)
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in docs.text and gateway.OPENAPI_PATH in docs.text

    document = client.get(gateway.OPENAPI_PATH)
    assert document.status_code == 200
    paths = document.json()["paths"]
    for route in wiring.ROUTES:
        assert paths[route.path][route.method.lower()]["operationId"] == route.name


def test_no_token_on_protected_route_is_401(client: httpx.Client) -> None:
    response = client.get(f"{USERS}/me")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_forged_token_on_optional_route_is_401(client: httpx.Client) -> None:
    user = register(client, "bob")
    forged = jwt.encode(
        {
            "iss": "inkwell",
            "aud": "inkwell-api",
            "sub": user["id"],
            "username": "bob",
            "role": "admin",
            "iat": 1_700_000_000,
            "exp": 4_000_000_000,
        },
        "not-the-signing-key-" + "y" * 40,
        algorithm="HS256",
    )
    headers = {"Authorization": f"Bearer {forged}"}
    assert_problem(client.get(f"{USERS}/{user['id']}", headers=headers), 401)
    # Anonymous callers may read the public profile.
    assert client.get(f"{USERS}/{user['id']}").status_code == 200


def test_unknown_path_is_404_and_wrong_method_405(client: httpx.Client) -> None:
    assert_problem(client.get("/api/v1/nothing-here"), 404)
    wrong = client.put("/health")
    assert_problem(wrong, 405)
    assert wrong.headers["allow"] == "GET"


def test_invalid_json_is_400(client: httpx.Client) -> None:
    response = client.post(
        f"{USERS}/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)


def test_cors_preflight(client: httpx.Client) -> None:
    response = client.options(
        f"{USERS}/00000000-0000-0000-0000-000000000000",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "PATCH" in response.headers["access-control-allow-methods"].split(",")
    allowed_headers = response.headers["access-control-allow-headers"].lower().split(",")
    assert {"authorization", "content-type", "x-request-id"} <= set(allowed_headers)
    assert int(response.headers["access-control-max-age"]) > 0
    assert response.headers["x-request-id"]
    # Not a route: no preflight either.
    assert_problem(client.options("/api/v1/nothing-here", headers={"Origin": ORIGIN}), 404)
    # The actual request then carries the origin back, from the function.
    health = client.get("/health", headers={"Origin": ORIGIN})
    assert health.headers["access-control-allow-origin"] == ORIGIN


def test_every_response_carries_a_request_id(client: httpx.Client) -> None:
    responses = [
        client.get("/health"),
        client.get(gateway.OPENAPI_PATH),
        client.get(gateway.DOCS_PATH),
        client.get("/nope"),
        client.delete("/health"),
        client.get(f"{USERS}/me"),
        client.post(f"{USERS}/register", json={"username": "x"}),
        client.options(f"{USERS}/login", headers={"Origin": ORIGIN}),
    ]
    for response in responses:
        assert response.headers.get("x-request-id"), (response.request.url, response.status_code)


def test_request_id_is_taken_from_the_caller_and_logged(
    client: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    response = client.get("/health", headers={"X-Request-ID": "e2e-request-0001"})
    assert response.headers["x-request-id"] == "e2e-request-0001"
    lines = [line for line in capsys.readouterr().out.splitlines() if "e2e-request-0001" in line]
    assert any(" GET /health 200 " in line and "ms " in line for line in lines), lines


def test_body_over_10_mb_is_413(server: gateway.GatewayServer) -> None:
    # Only the header is sent: the gateway must refuse without reading 10 MB.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("POST", f"{USERS}/register")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(gateway.MAX_BODY_BYTES + 1))
        conn.endheaders()
        response = conn.getresponse()
        body = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 413
    assert response.getheader("content-type") == PROBLEM_CONTENT_TYPE
    assert response.getheader("x-request-id")
    assert body["status"] == 413


class _Broken(Dispatcher):
    def handle(self, method: str, path: str, **kwargs: Any) -> Response:
        raise RuntimeError("secret internals: password=hunter2")


def test_gateway_failure_is_a_500_problem_without_details() -> None:
    server, thread = gateway.start_in_thread(0, _Broken(throttling=False))
    try:
        response = httpx.get(f"{server.url}/health", timeout=10)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert_problem(response, 500)
    assert "hunter2" not in response.text and "RuntimeError" not in response.text


def test_throttling_answers_429_with_retry_after(clean_databases: dict[str, str]) -> None:
    route = wiring.route_by_name("users-logout")
    server, thread = gateway.start_in_thread(0, Dispatcher(throttling=True))
    statuses: list[int] = []
    throttled: httpx.Response | None = None
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            # An empty body is refused by the function (422) quickly, but it still costs a
            # token: throttling happens before the function runs.
            for _ in range(route.throttle.burst * 5):
                response = client.post(route.path, json={})
                statuses.append(response.status_code)
                if response.status_code == 429:
                    throttled = response
                    break
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert throttled is not None, statuses
    assert statuses.count(422) >= route.throttle.burst
    assert_problem(throttled, 429)
    assert int(throttled.headers["retry-after"]) >= 1
