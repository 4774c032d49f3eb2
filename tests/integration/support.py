"""Helpers shared by the integration tests (plain functions; fixtures are in conftest.py)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import jwt
import pg8000.native

import wiring
from inkwell import db_users, env, jwk
from inkwell.db import ConnectionParams, _databases
from inkwell.errors import PROBLEM_CONTENT_TYPE
from inkwell.http import problem_for
from inkwell.settings import settings
from inkwell.tokens import signing_key
from local import platform
from local.dispatch import Response
from tests.conftest import Api, admin_url

USERS = f"{wiring.API_PREFIX}/users"
PASSWORD = "correct horse battery"
USER_FIELDS = {
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


@dataclass
class Account:
    """A registered, signed-in user."""

    id: str
    username: str
    password: str
    token: str
    refresh_token: str


def sign_up(
    api: Api, username: str, *, role: str = "user", password: str = PASSWORD, **extra: Any
) -> Account:
    """Register through the API, set the role directly in the database, then log in."""
    user = api.register(username, password, **extra)
    if role != "user":
        sql(f"UPDATE users SET role = '{role}' WHERE id = CAST(:id AS uuid)", id=user["id"])
        know_role(user["id"], username, role)
    tokens = api.login(username, password)
    assert tokens["user"]["role"] == role
    return Account(user["id"], username, password, tokens["token"], tokens["refreshToken"])


def know_role(user_id: str, username: str, role: str) -> None:
    """The role in content's and comments' read models, as their consumers keep it from
    user.role_changed (whichever of that and user.registered arrives first)."""
    for domain, table in (("content", "authors"), ("comments", "commenters")):
        inspector(os.environ[f"INKWELL_{domain.upper()}_DB_URL"]).run(
            f"INSERT INTO {table} (user_id, username, version, role, role_version)"
            " VALUES (CAST(:id AS uuid), :username, '-infinity', :role, now())"
            " ON CONFLICT (user_id) DO UPDATE SET role = EXCLUDED.role,"
            "  role_version = EXCLUDED.role_version",
            id=user_id,
            username=username,
            role=role,
        )


_inspectors: dict[str, pg8000.native.Connection] = {}


def inspector(url: str) -> pg8000.native.Connection:
    """A connection of the tests' own (not the functions'), kept for the session: opening
    one costs tens of milliseconds."""
    conn = _inspectors.get(url)
    if conn is None:
        conn = _inspectors[url] = ConnectionParams.from_url(admin_url(url)).connect(
            "inkwell-test-inspect"
        )
    return conn


def close_inspectors() -> None:
    for conn in _inspectors.values():
        with contextlib.suppress(Exception):
            conn.close()
    _inspectors.clear()


def sql(query: str, **params: Any) -> list[dict[str, Any]]:
    """Run one statement on the users database, outside the code under test."""
    conn = inspector(os.environ["INKWELL_USERS_DB_URL"])
    rows = conn.run(query, **params) or []
    names = [c["name"] for c in conn.columns or ()]
    return [dict(zip(names, r, strict=True)) for r in rows]


def user_row(user_id: str) -> dict[str, Any]:
    (row,) = sql("SELECT * FROM users WHERE id = CAST(:id AS uuid)", id=user_id)
    return row


def user_count() -> int:
    return int(sql("SELECT count(*) AS n FROM users")[0]["n"])


def assert_problem(response: Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status; returns its body."""
    assert response.status == status, (response.status, response.body)
    assert response.headers["content-type"].startswith(PROBLEM_CONTENT_TYPE), response.headers
    body = response.json()
    assert isinstance(body, dict)
    assert {"type", "title", "status", "detail"} <= set(body), body
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    text = response.body.decode()
    assert "Traceback" not in text and "$2b$" not in text
    return body


def error_fields(response: Response) -> set[str]:
    body = assert_problem(response, 422)
    return {e["field"] for e in body.get("errors", [])}


def token_claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def sign(
    claims: dict[str, Any], key: Any = None, kid: str | None = None, algorithm: str = "ES256"
) -> str:
    """`claims` signed with the functions' current key (or `key`), as login signs them."""
    current_kid, current_key = signing_key()
    return jwt.encode(
        claims,
        current_key if key is None else key,
        algorithm=algorithm,
        headers={"kid": current_kid if kid is None else kid},
    )


def bad_tokens(user_id: str, username: str = "mallory") -> dict[str, str]:
    """Tokens the API must refuse, each claiming to be an admin `user_id`."""
    config = settings()
    now = int(time.time())
    claims = {
        "iss": config.jwt_issuer,
        "aud": config.jwt_audience,
        "sub": user_id,
        "username": username,
        "role": "admin",
        "iat": now,
        "exp": now + 600,
    }
    attacker = jwt.PyJWK(jwk.new_private_jwk("attacker")).key
    kid = signing_key()[0]
    return {
        "expired": sign({**claims, "iat": now - 7200, "exp": now - 3600}),
        "forged-signature": sign(claims, attacker),
        "unknown-kid": sign(claims, attacker, kid="attacker"),
        "hs256-with-known-kid": sign(
            claims, "an-attacker-key-0123456789-0123456789", kid=kid, algorithm="HS256"
        ),
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}.",
        "other-audience": sign({**claims, "aud": "another-api"}),
        "other-issuer": sign({**claims, "iss": "someone-else"}),
        "bad-role": sign({**claims, "role": "root"}),
        "garbage": "this.is.garbage",
    }


T = TypeVar("T")


@dataclass
class Race(Generic[T]):
    """What calls run at once returned (`results`) and the statuses of the problems they
    raised (`refused`), in completion order."""

    results: list[T]
    refused: list[int]


def race(calls: Sequence[Callable[[], T]], timeout_s: float = 60) -> Race[T]:
    """Run every call at the same moment, one thread each, and wait for all of them.

    Each thread has its own database connections (inkwell.db keeps one per thread) and
    closes them when done. A problem (as the HTTP adapter answers it) is a refusal; any
    other exception fails the test.
    """
    barrier = threading.Barrier(len(calls))
    lock = threading.Lock()
    outcome: Race[T] = Race([], [])
    unexpected: list[BaseException] = []

    def attempt(call: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=30)
            result = call()
            with lock:
                outcome.results.append(result)
        except BaseException as exc:
            problem = problem_for(exc)  # as the HTTP adapter would answer it
            with lock:
                if problem is not None:
                    outcome.refused.append(problem.status)
                else:
                    unexpected.append(exc)
        finally:
            for db in list(_databases.values()):
                db.discard_connection()

    threads = [threading.Thread(target=attempt, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout_s)
    assert not any(thread.is_alive() for thread in threads), "a racing call hung"
    assert unexpected == []
    return outcome


def provisioned(superuser_url: str, domain: str) -> str:
    """Provision `domain`'s users on the database of `superuser_url` (as the local platform
    does) and return its URL as the domain's application user."""
    params = ConnectionParams.from_url(superuser_url)
    conn = params.connect("inkwell-test-provision")
    try:
        db_users.provision(conn, domain)
    finally:
        conn.close()
    return platform.database_url(superuser_url, params.database, env.app_user(domain))
