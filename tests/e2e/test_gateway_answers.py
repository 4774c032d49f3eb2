"""What the local gateway answers to anything a client may send, over real HTTP: odd and
unknown methods, unparsable request lines, trailing slashes, HEAD, a body without its
Content-Type, NUL in a query, expired tokens, and the headers every response carries."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

import wiring
from inkwell.errors import PROBLEM_CONTENT_TYPE
from inkwell.tokens import Principal, issue_access_token
from local import gateway

pytestmark = pytest.mark.e2e

USERS = f"{wiring.API_PREFIX}/users"
POSTS = f"{wiring.API_PREFIX}/posts"
ORIGIN = "https://app.example.com"  # INKWELL_CORS_ORIGINS in tests/conftest.py


def _raw(server: gateway.GatewayServer, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    return status, headers, body


def _assert_gateway_problem(
    status: int, headers: dict[str, str], body: bytes, expected: int
) -> dict[str, object]:
    assert status == expected, body
    assert headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert headers["x-request-id"]
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["x-content-type-options"] == "nosniff"
    problem = json.loads(body)
    assert problem["status"] == expected and problem["detail"]
    return dict(problem)


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "BREW", "PROPFIND"])
def test_any_method_gets_a_problem_with_request_id_and_cors(
    server: gateway.GatewayServer, method: str
) -> None:
    target = "127.0.0.1:443" if method == "CONNECT" else POSTS
    status, headers, body = _raw(
        server,
        f"{method} {target} HTTP/1.1\r\nHost: x\r\nOrigin: {ORIGIN}\r\n"
        "Connection: close\r\n\r\n".encode(),
    )
    problem = _assert_gateway_problem(status, headers, body, 405 if method != "CONNECT" else 404)
    assert b"<html" not in body.lower()
    assert method in str(problem["detail"])


def test_an_unparsable_request_line_gets_a_problem(server: gateway.GatewayServer) -> None:
    status, headers, body = _raw(server, b"GARBAGE\r\n\r\n")
    _assert_gateway_problem(status, headers, body, 400)


def test_a_trailing_slash_is_the_same_route_without_a_redirect(client: httpx.Client) -> None:
    with_slash = client.get(f"{POSTS}/", follow_redirects=False)
    assert with_slash.status_code == 200, with_slash.text
    assert with_slash.json() == client.get(POSTS).json()
    registered = client.post(
        f"{USERS}/register/",
        json={"username": "slash", "email": "slash@example.com", "password": "long enough pw"},
    )
    assert registered.status_code == 201, registered.text


def test_head_on_a_get_route_answers_like_get_without_a_body(client: httpx.Client) -> None:
    head = client.head(POSTS)
    get = client.get(POSTS)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == get.headers["content-length"]
    assert client.head(f"{USERS}/register").status_code == 405


def test_a_json_body_without_its_content_type_is_told_so(client: httpx.Client) -> None:
    response = client.post(
        f"{USERS}/login",
        content=b'{"username": "alice", "password": "secret pw"}',
        headers={"content-type": "text/plain"},
    )
    assert response.status_code == 415, response.text
    assert "Content-Type: application/json" in response.json()["detail"]
    assert "text/plain" in response.json()["detail"]


def test_a_nul_in_a_query_is_a_422_naming_the_parameter(client: httpx.Client) -> None:
    response = client.get(f"{POSTS}?q=%00")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "q", "message": "must not contain NUL characters"}
    ]


def test_an_expired_token_is_told_apart_from_a_bad_one(client: httpx.Client) -> None:
    principal = Principal("3f1c3f0e-2c5e-4b8e-9a53-0c1a8f1b2d3e", "alice", "user")
    expired = issue_access_token(principal, now=time.time() - 3600)[0]
    for path in (f"{USERS}/me", f"{USERS}/{principal.user_id}"):  # required and optional
        response = client.get(path, headers={"Authorization": f"Bearer {expired}"})
        assert response.status_code == 401
        assert "expired" in response.json()["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")
    garbage = client.get(f"{USERS}/me", headers={"Authorization": "Bearer not.a.token"})
    assert garbage.status_code == 401 and "expired" not in garbage.json()["detail"]


def test_gateway_and_function_problems_are_written_alike(client: httpx.Client) -> None:
    from_gateway = client.get(f"{wiring.API_PREFIX}/nowhere")
    from_function = client.get(f"{POSTS}?limit=0")
    assert from_gateway.status_code == 404 and from_function.status_code == 422
    for response in (from_gateway, from_function):
        assert (
            response.content
            == json.dumps(response.json(), ensure_ascii=False, separators=(",", ":")).encode()
        )


def test_security_headers_on_every_response_and_no_store_on_tokens(client: httpx.Client) -> None:
    registered = client.post(
        f"{USERS}/register",
        json={"username": "hdr", "email": "hdr@example.com", "password": "long enough pw"},
    )
    login = client.post(f"{USERS}/login", json={"username": "hdr", "password": "long enough pw"})
    answers = [
        registered,
        login,
        client.get(POSTS),
        client.get(f"{wiring.API_PREFIX}/x"),
        client.get(gateway.OPENAPI_PATH),
        client.get(gateway.DOCS_PATH),
        client.options(POSTS, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}),
    ]
    for response in answers:
        for name, value in wiring.SECURITY_HEADERS.items():
            if name == "Content-Security-Policy" and response.url.path == gateway.DOCS_PATH:
                continue  # the docs page runs Swagger UI: its own policy
            assert response.headers[name] == value, (response.url, name)
        assert response.headers["x-request-id"]
    assert login.headers["cache-control"] == "no-store"
    refreshed = client.post(f"{USERS}/refresh", json={"refreshToken": login.json()["refreshToken"]})
    assert refreshed.headers["cache-control"] == "no-store"
    assert "no-store" not in client.get(POSTS).headers.get("cache-control", "")
