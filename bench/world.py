"""The data the scenarios run against, seeded in bulk with plain SQL before any clock starts.

Rows are written the way the functions (and, for read models, the consumers) write them;
tokens come from `inkwell.tokens`, the code the functions use. All seeded users share one
bcrypt hash computed at the production cost.
"""

from __future__ import annotations

import copy
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import pg8000.native

import wiring
from inkwell.db import ConnectionParams, query
from inkwell.identity import Principal
from inkwell.passwords import hash_password
from inkwell.tokens import hash_refresh_token, issue_access_token, new_refresh_token
from local import apigw

Event = dict[str, Any]
T = TypeVar("T")
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "another horse battery staple"
BUS_SAMPLES = Path(__file__).resolve().parents[1] / "events" / "bus"


@dataclass(frozen=True)
class User:
    id: str
    username: str
    role: str

    def identity(self) -> dict[str, str]:
        """The authorizer context API Gateway passes to a function for this caller."""
        return {
            "principalId": self.id,
            "userId": self.id,
            "username": self.username,
            "role": self.role,
        }

    def principal(self) -> Principal:
        return Principal(self.id, self.username, self.role)


class World:
    """Connections to the domains' databases and the seeding helpers the scenarios share."""

    def __init__(self, urls: Mapping[str, str]) -> None:
        self.urls = dict(urls)
        self._conns: dict[str, pg8000.native.Connection] = {}
        self._once: dict[str, Any] = {}
        self.tag = secrets.token_hex(3)
        self._serial = 0

    def sql(self, domain: str, statement: str, **params: Any) -> list[list[Any]]:
        conn = self._conns.get(domain)
        if conn is None:
            p = ConnectionParams.from_url(self.urls[domain])
            # Not the functions' connect(): seeding at scale outlasts their timeouts.
            conn = self._conns[domain] = pg8000.native.Connection(
                p.user,
                password=p.password,
                host=p.host,
                port=p.port,
                database=p.database,
                application_name="inkwell-bench-seed",
            )
        return query(conn, statement, **params)  # one round trip, pooler-safe

    def once(self, key: str, make: Callable[[], T]) -> T:
        """`make()`, computed on first use and shared by every scenario that asks."""
        if key not in self._once:
            self._once[key] = make()
        found: T = self._once[key]
        return found

    def close(self) -> None:
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()

    # --- users --------------------------------------------------------------------------
    @cached_property
    def password_hash(self) -> str:
        return hash_password(PASSWORD)  # the production cost, computed once

    def serials(self, n: int) -> range:
        """`n` numbers never handed out before in this run."""
        start, self._serial = self._serial, self._serial + n
        return range(start, start + n)

    def names(self, kind: str, n: int) -> list[str]:
        return [f"b{self.tag}-{kind}-{i}" for i in self.serials(n)]

    def users(self, kind: str, n: int, role: str = "user") -> list[User]:
        rows = self.sql(
            "users",
            "INSERT INTO users (username, email, password_hash, first_name, last_name, role)"
            " SELECT u, u || '@bench.example.com', :hash, 'Bench', 'User', :role"
            " FROM unnest(CAST(:names AS text[])) WITH ORDINALITY AS t(u, n) ORDER BY n"
            " RETURNING id, username, role",
            hash=self.password_hash,
            role=role,
            names=self.names(kind, n),
        )
        users = [User(str(r[0]), str(r[1]), str(r[2])) for r in rows]
        self._read_models(users)
        return users

    def actor(self, name: str, role: str = "user") -> User:
        """A user shared by the scenarios that ask for it by `name`."""
        return self.once(f"actor:{name}", lambda: self.users(name, 1, role)[0])

    @staticmethod
    def token(user: User) -> str:
        """A new access token (not cached: it expires after the access-token lifetime)."""
        return issue_access_token(user.principal())[0]

    def refresh_tokens(self, user: User, n: int) -> list[str]:
        """Live refresh tokens of `user`, each the start of its own family."""
        tokens = [new_refresh_token() for _ in range(n)]
        self.sql(
            "users",
            "INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at)"
            " SELECT h, CAST(:id AS uuid), gen_random_uuid(), now() + interval '14 days'"
            " FROM unnest(CAST(:hashes AS text[])) AS h",
            id=user.id,
            hashes=[hash_refresh_token(t) for t in tokens],
        )
        return tokens

    def _read_models(self, users: list[User]) -> None:
        """The content and comments read-model rows of `users` (with their role), as their
        consumers write them from user.registered and user.role_changed."""
        for domain, table in (("content", "authors"), ("comments", "commenters")):
            if domain in self.urls:
                self.sql(
                    domain,
                    f"INSERT INTO {table} (user_id, username, first_name, last_name,"
                    " is_active, version, role, role_version)"
                    " SELECT u, n, 'Bench', 'User', true, now(), r, now() FROM unnest("
                    "  CAST(:ids AS uuid[]), CAST(:names AS text[]), CAST(:roles AS text[]))"
                    " AS t(u, n, r) ON CONFLICT (user_id) DO NOTHING",
                    ids=[u.id for u in users],
                    names=[u.username for u in users],
                    roles=[u.role for u in users],
                )


# --- events ------------------------------------------------------------------------------
def http_event(
    route: wiring.Route,
    *,
    target: str | None = None,
    body: Any = None,
    caller: User | None = None,
    token: str | None = None,
    query: Mapping[str, str] | None = None,
    source_ip: str = "127.0.0.1",
) -> Event:
    """The API Gateway proxy event of a call of `route` (`target` fills ``{id}``)."""
    headers = {"content-type": ["application/json"], "user-agent": ["inkwell-bench"]}
    if token is not None:
        headers["authorization"] = [f"Bearer {token}"]
    authorizer: dict[str, Any] | None = None
    if route.auth != "none":
        authorizer = caller.identity() if caller else {"principalId": "anonymous"}
    return apigw.request_event(
        route,
        route.path.replace("{id}", target or ""),
        headers=headers,
        body=None if body is None else json.dumps(body).encode(),
        path_parameters={"id": target} if target else None,
        query={k: [v] for k, v in query.items()} if query else None,
        authorizer=authorizer,
        source_ip=source_ip,
    )


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def consumer_events(consumer: wiring.Consumer, n: int) -> list[Event]:
    """`n` copies of the consumer's sample event (``events/bus/``; user.updated first when
    it takes it), each about a new subject: new ids everywhere, a new username."""
    ordered = sorted(consumer.events, key=lambda t: t != "user.updated")
    detail_type = next(t for t in ordered if (BUS_SAMPLES / f"{t}.json").exists())
    sample = json.loads((BUS_SAMPLES / f"{detail_type}.json").read_text())
    found = []
    for _ in range(n):
        event = copy.deepcopy(sample)
        event["id"] = str(uuid.uuid4())
        detail = event["detail"]
        detail["eventId"], detail["correlationId"] = str(uuid.uuid4()), str(uuid.uuid4())
        data = detail.get("data") or {}
        for key, value in list(data.items()):
            if _is_uuid(value):
                data[key] = str(uuid.uuid4())
        if "username" in data:
            data["username"] = f"bench-{secrets.token_hex(5)}"
        found.append(event)
    return found
