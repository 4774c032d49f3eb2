"""What each function is benchmarked with: seeded data, fresh events, the bare twin.

Every invocation gets its own valid input, prepared before any clock starts: register a new
username, refresh and logout a refresh token never used before, change_password and
deactivate_user a user of their own, and so on, so that each timed call takes the success
path the route exists for (each response is checked). Users and refresh tokens are seeded
with plain SQL (all seeded users share one bcrypt hash computed at the production cost);
access tokens and token hashes come from `inkwell.tokens`, the code the functions use.

Events are the API Gateway proxy events of `local.apigw.request_event`, with the
authorizer context the local gateway would pass on (principalId, userId, username, role;
``principalId: anonymous`` for anonymous callers of routes open to anyone). The
authorizer gets the TOKEN event of a protected route with a valid bearer token.

A scenario's bare twin (`bare`) says, per call, which SQL parameters must be fresh and what
else the function's work includes besides SQL: parsing the body, bcrypt at the same cost,
hashing refresh tokens, signing the JWT. The SQL itself is the function's, as recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import bcrypt
import jwt
import pg8000.native

import wiring
from inkwell.db import ConnectionParams
from inkwell.passwords import hash_password
from inkwell.settings import settings
from inkwell.tokens import Principal, hash_refresh_token, issue_access_token, new_refresh_token
from local import apigw
from local.bench.sql import BareDatabase, BareHandler, Plan, Rows

Event = dict[str, Any]
Check = Callable[[Any], bool]
# Per bare call: the SQL parameters to override, and the work left after the SQL (or None).
BareWork = tuple[dict[str, Any], Callable[[list[Rows]], Any] | None]

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "another horse battery staple"


@dataclass(frozen=True)
class SeedUser:
    id: str
    username: str
    role: str

    def identity(self) -> dict[str, str]:
        """The authorizer context API Gateway passes to the function for this caller."""
        return {
            "principalId": self.id,
            "userId": self.id,
            "username": self.username,
            "role": self.role,
        }

    def principal(self) -> Principal:
        return Principal(self.id, self.username, self.role)


class Seeder:
    """Creates the users and tokens the scenarios need, in bulk, with plain SQL.

    `conn` is the users database; `content` the content database (opened on first use),
    where the content scenarios seed the rows they need (`local.bench.content_scenarios`);
    `comments` likewise the comments database (`local.bench.comments_scenarios`).
    """

    def __init__(self, url: str, content_url: str | None = None,
                 comments_url: str | None = None) -> None:
        self.conn = ConnectionParams.from_url(url).connect("inkwell-bench-seed")
        self.content_url = content_url
        self.comments_url = comments_url
        self._content: pg8000.native.Connection | None = None
        self._comments: pg8000.native.Connection | None = None
        self.tag = secrets.token_hex(3)
        self._serial = 0
        self._hash: str | None = None

    @property
    def content(self) -> pg8000.native.Connection:
        if self._content is None:
            if self.content_url is None:
                raise RuntimeError("the seeder was made without the content database's URL")
            self._content = ConnectionParams.from_url(self.content_url).connect(
                "inkwell-bench-seed")
        return self._content

    @property
    def comments(self) -> pg8000.native.Connection:
        if self._comments is None:
            if self.comments_url is None:
                raise RuntimeError("the seeder was made without the comments database's URL")
            self._comments = ConnectionParams.from_url(self.comments_url).connect(
                "inkwell-bench-seed")
        return self._comments

    @property
    def password_hash(self) -> str:
        if self._hash is None:
            self._hash = hash_password(PASSWORD)  # the production cost, computed once
        return self._hash

    def names(self, kind: str, n: int) -> list[str]:
        start, self._serial = self._serial, self._serial + n
        return [f"b{self.tag}-{kind}-{i}" for i in range(start, start + n)]

    def users(self, kind: str, n: int, role: str = "user") -> list[SeedUser]:
        rows = self.conn.run(
            "INSERT INTO users (username, email, password_hash, first_name, last_name, role)"
            " SELECT u, u || '@bench.example.com', :hash, 'Bench', 'User', :role"
            " FROM unnest(CAST(:names AS text[])) WITH ORDINALITY AS t(u, n) ORDER BY n"
            " RETURNING id, username, role",
            hash=self.password_hash,
            role=role,
            names=self.names(kind, n),
        )
        return [SeedUser(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    def user(self, kind: str, role: str = "user") -> SeedUser:
        return self.users(kind, 1, role)[0]

    def refresh_tokens(self, user: SeedUser, n: int) -> list[str]:
        """Live refresh tokens of `user`, each the start of its own family."""
        tokens = [new_refresh_token() for _ in range(n)]
        self.conn.run(
            "INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at)"
            " SELECT h, CAST(:id AS uuid), gen_random_uuid(), now() + interval '14 days'"
            " FROM unnest(CAST(:hashes AS text[])) AS h",
            id=user.id,
            hashes=[hash_refresh_token(t) for t in tokens],
        )
        return tokens

    def access_token(self, user: SeedUser) -> str:
        return issue_access_token(user.principal())[0]

    def follows(self, follower: SeedUser, followees: list[SeedUser]) -> None:
        """`follower` follows each of `followees` (the users domain's rows, no event)."""
        self.conn.run(
            "INSERT INTO follows (follower_id, followee_id)"
            " SELECT CAST(:follower AS uuid), f FROM unnest(CAST(:followees AS uuid[])) AS f",
            follower=follower.id,
            followees=[u.id for u in followees],
        )

    def close(self) -> None:
        self.conn.close()
        if self._content is not None:
            self._content.close()
        if self._comments is not None:
            self._comments.close()


def http_event(
    route: wiring.Route,
    path: str,
    *,
    body: Any = None,
    caller: SeedUser | None = None,
    token: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> Event:
    headers = {"content-type": ["application/json"], "user-agent": ["inkwell-bench"]}
    if token is not None:
        headers["authorization"] = [f"Bearer {token}"]
    authorizer: dict[str, Any] | None = None
    if route.auth != "none":
        authorizer = caller.identity() if caller else {"principalId": "anonymous"}
    return apigw.request_event(
        route,
        path,
        headers=headers,
        body=None if body is None else json.dumps(body).encode(),
        path_parameters=path_parameters,
        query={k: [v] for k, v in query.items()} if query else None,
        authorizer=authorizer,
    )


def status_is(code: int) -> Check:
    def check(result: Any) -> bool:
        return isinstance(result, dict) and result.get("statusCode") == code

    return check


def _body(event: Event) -> Any:
    return json.loads(event["body"]) if event.get("body") else None


def _identity(event: Event) -> dict[str, Any]:
    return dict(event["requestContext"].get("authorizer") or {})


def _path_id(event: Event) -> str:
    return str((event.get("pathParameters") or {})["id"])


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _jwt_for(row: Mapping[str, Any]) -> str:
    """What the function's token response costs besides SQL: one HS256 access token."""
    config = settings()
    now = int(time.time())
    claims = {
        "iss": config.jwt_issuer, "aud": config.jwt_audience, "sub": str(row["id"]),
        "username": row["username"], "role": row["role"],
        "iat": now, "exp": now + config.access_token_ttl_s,
    }
    return jwt.encode(claims, os.environ["INKWELL_JWT_SECRET"], algorithm="HS256")


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "password_hash"}


def _last_rows(results: list[Rows]) -> Any:
    for rows in reversed(results):
        if rows:
            return [_public(r) for r in rows] if len(rows) > 1 else _public(rows[0])
    return None


def bare_handler(work: Callable[[Event], BareWork], status: int) -> BareHandler:
    """A handler that does the function's work with no framework: parse, SQL, JSON."""

    def handle(db: BareDatabase, plan: Plan, event: Event) -> dict[str, Any]:
        overrides, finish = work(event)
        results = db.replay(plan, overrides)
        payload = finish(results) if finish is not None else _last_rows(results)
        return {
            "statusCode": status,
            "headers": {"content-type": "application/json"},
            "body": "" if status == 204 else json.dumps(payload, default=str),
            "isBase64Encoded": False,
        }

    return handle


@dataclass
class Scenario:
    function: wiring.Function
    events: Callable[[int], list[Event]]  # n fresh, valid events (seeds what they need)
    check: Check  # is a response the success the scenario expects?
    expected: str
    bcrypt_ops: int = 0  # bcrypt hashes/checks per call: such functions get fewer calls
    bare: BareHandler | None = None
    bare_overrides: frozenset[str] = field(default_factory=frozenset)  # must exist in SQL

    @property
    def name(self) -> str:
        return self.function.name


def _route(name: str) -> wiring.Route:
    return wiring.route_by_name(name)


def build(seeder: Seeder) -> dict[str, Scenario]:
    """The scenarios, by function name. Seeds the users shared by several of them."""
    rounds = settings().bcrypt_rounds
    admin = seeder.user("admin", role="admin")
    member = seeder.user("member")
    seeder.users("crowd", 25)  # list_users reads a full page (20) and a next cursor
    login_user = seeder.user("login")
    refresh_user = seeder.user("refresh")
    role_target = seeder.user("role-target")
    member_token = seeder.access_token(member)
    admin_token = seeder.access_token(admin)
    scenarios: list[Scenario] = []

    def add(name: str, **kwargs: Any) -> None:
        try:
            function: wiring.Function = (
                wiring.AUTHORIZER if name == wiring.AUTHORIZER.name else _route(name)
            )
        except KeyError:
            return  # the route was renamed or removed: the runner reports it unbenched
        scenarios.append(Scenario(function=function, **kwargs))

    # --- health
    def health_events(n: int) -> list[Event]:
        return [http_event(_route("health"), "/health") for _ in range(n)]

    add("health", events=health_events, check=status_is(200), expected="200")

    # --- register
    def register_events(n: int) -> list[Event]:
        route = _route("users-register")
        return [
            http_event(route, route.path, body={
                "username": name, "email": f"{name}@bench.example.com", "password": PASSWORD,
                "firstName": "Bench", "lastName": "User",
            })
            for name in seeder.names("reg", n)
        ]

    def register_bare(event: Event) -> BareWork:
        body = _body(event)
        hashed = bcrypt.hashpw(body["password"].encode(), bcrypt.gensalt(rounds)).decode()
        return {
            "username": body["username"], "email": body["email"], "password_hash": hashed,
            "first_name": body["firstName"], "last_name": body["lastName"],
        }, None

    add("users-register", events=register_events, check=status_is(201), expected="201",
        bcrypt_ops=1, bare=bare_handler(register_bare, 201),
        bare_overrides=frozenset({"username", "email", "password_hash"}))

    # --- login
    def login_events(n: int) -> list[Event]:
        route = _route("users-login")
        body = {"username": login_user.username, "password": PASSWORD}
        return [http_event(route, route.path, body=body) for _ in range(n)]

    def login_bare(event: Event) -> BareWork:
        body = _body(event)
        refresh_token = secrets.token_urlsafe(32)

        def finish(results: list[Rows]) -> Any:
            row = results[0][0]
            if not bcrypt.checkpw(body["password"].encode(), row["password_hash"].encode()):
                raise AssertionError("bare login: wrong password")
            return {"token": _jwt_for(row), "refreshToken": refresh_token, "user": _public(row)}

        return {"login": body["username"], "hash": _sha256(refresh_token)}, finish

    add("users-login", events=login_events, check=status_is(200), expected="200",
        bcrypt_ops=1, bare=bare_handler(login_bare, 200),
        bare_overrides=frozenset({"login", "hash"}))

    # --- refresh
    def refresh_events(n: int) -> list[Event]:
        route = _route("users-refresh")
        return [
            http_event(route, route.path, body={"refreshToken": token})
            for token in seeder.refresh_tokens(refresh_user, n)
        ]

    def refresh_bare(event: Event) -> BareWork:
        presented = _body(event)["refreshToken"]
        successor = secrets.token_urlsafe(32)

        def finish(results: list[Rows]) -> Any:
            row = results[0][0]
            return {"token": _jwt_for(row), "refreshToken": successor, "user": _public(row)}

        return {"hash": _sha256(presented), "new_hash": _sha256(successor)}, finish

    add("users-refresh", events=refresh_events, check=status_is(200), expected="200",
        bare=bare_handler(refresh_bare, 200), bare_overrides=frozenset({"hash", "new_hash"}))

    # --- logout
    def logout_events(n: int) -> list[Event]:
        route = _route("users-logout")
        return [
            http_event(route, route.path, body={"refreshToken": token})
            for token in seeder.refresh_tokens(refresh_user, n)
        ]

    def logout_bare(event: Event) -> BareWork:
        return {"hash": _sha256(_body(event)["refreshToken"])}, lambda _: None

    add("users-logout", events=logout_events, check=status_is(204), expected="204",
        bare=bare_handler(logout_bare, 204), bare_overrides=frozenset({"hash"}))

    # --- get_me
    def get_me_events(n: int) -> list[Event]:
        route = _route("users-get-me")
        return [http_event(route, route.path, caller=member, token=member_token)
                for _ in range(n)]

    def by_caller(event: Event) -> BareWork:
        return {"id": _identity(event)["userId"]}, None

    add("users-get-me", events=get_me_events, check=status_is(200), expected="200",
        bare=bare_handler(by_caller, 200), bare_overrides=frozenset({"id"}))

    # --- list_users (admin, first page)
    def list_events(n: int) -> list[Event]:
        route = _route("users-list-users")
        return [http_event(route, route.path, caller=admin, token=admin_token)
                for _ in range(n)]

    def list_check(result: Any) -> bool:
        return status_is(200)(result) and len(json.loads(result["body"])["items"]) == 20

    add("users-list-users", events=list_events, check=list_check, expected="200, 20 items",
        bare=bare_handler(lambda _: ({}, None), 200))

    # --- get_user (anonymous caller: the public profile)
    def get_user_events(n: int) -> list[Event]:
        route = _route("users-get-user")
        path = route.path.replace("{id}", member.id)
        return [http_event(route, path, path_parameters={"id": member.id}) for _ in range(n)]

    def by_path(event: Event) -> BareWork:
        return {"id": _path_id(event)}, None

    add("users-get-user", events=get_user_events, check=status_is(200), expected="200",
        bare=bare_handler(by_path, 200), bare_overrides=frozenset({"id"}))

    # --- update_user (self, a new bio each call)
    def update_events(n: int) -> list[Event]:
        route = _route("users-update-user")
        path = route.path.replace("{id}", member.id)
        return [
            http_event(route, path, body={"bio": f"bench bio {secrets.token_hex(4)}"},
                       caller=member, token=member_token, path_parameters={"id": member.id})
            for _ in range(n)
        ]

    def update_bare(event: Event) -> BareWork:
        return {"id": _path_id(event), "bio": _body(event)["bio"]}, None

    add("users-update-user", events=update_events, check=status_is(200), expected="200",
        bare=bare_handler(update_bare, 200), bare_overrides=frozenset({"id", "bio"}))

    # --- change_password (self; a user of its own per call)
    def password_events(n: int) -> list[Event]:
        route = _route("users-change-password")
        events = []
        for user in seeder.users("pw", n):
            events.append(http_event(
                route, route.path.replace("{id}", user.id),
                body={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
                caller=user, token=seeder.access_token(user), path_parameters={"id": user.id},
            ))
        return events

    def password_bare(event: Event) -> BareWork:
        body = _body(event)
        new_hash = bcrypt.hashpw(body["newPassword"].encode(), bcrypt.gensalt(rounds)).decode()

        def finish(results: list[Rows]) -> Any:
            stored = results[0][0]["password_hash"]
            if not bcrypt.checkpw(body["currentPassword"].encode(), stored.encode()):
                raise AssertionError("bare change_password: wrong current password")
            return None

        return {"id": _path_id(event), "hash": new_hash}, finish

    add("users-change-password", events=password_events, check=status_is(204), expected="204",
        bcrypt_ops=2, bare=bare_handler(password_bare, 204),
        bare_overrides=frozenset({"id", "hash"}))

    # --- change_role (admin sets another user's role, alternating)
    def role_events(n: int) -> list[Event]:
        route = _route("users-change-role")
        path = route.path.replace("{id}", role_target.id)
        return [
            http_event(route, path, body={"role": ("moderator", "user")[i % 2]},
                       caller=admin, token=admin_token, path_parameters={"id": role_target.id})
            for i in range(n)
        ]

    def role_bare(event: Event) -> BareWork:
        return {"id": _path_id(event), "role": _body(event)["role"]}, None

    add("users-change-role", events=role_events, check=status_is(200), expected="200",
        bare=bare_handler(role_bare, 200), bare_overrides=frozenset({"id", "role"}))

    # --- deactivate_user (self; a user of its own per call)
    def deactivate_events(n: int) -> list[Event]:
        route = _route("users-deactivate-user")
        return [
            http_event(route, route.path.replace("{id}", user.id), caller=user,
                       token=seeder.access_token(user), path_parameters={"id": user.id})
            for user in seeder.users("gone", n)
        ]

    add("users-deactivate-user", events=deactivate_events, check=status_is(204),
        expected="204", bare=bare_handler(by_path, 204), bare_overrides=frozenset({"id"}))

    # --- follow_user / unfollow_user: one follower, a pair of its own per call. A follow
    # gets a user it does not follow yet; an unfollow one it follows (seeded with SQL).
    follower = seeder.user("follower")
    follower_token = seeder.access_token(follower)

    def follow_event(route: wiring.Route, followee: SeedUser) -> Event:
        return http_event(route, route.path.replace("{id}", followee.id), caller=follower,
                          token=follower_token, path_parameters={"id": followee.id})

    def follow_events(n: int) -> list[Event]:
        route = _route("users-follow-user")
        return [follow_event(route, u) for u in seeder.users("followee", n)]

    def unfollow_events(n: int) -> list[Event]:
        route = _route("users-unfollow-user")
        followees = seeder.users("unfollowee", n)
        seeder.follows(follower, followees)
        return [follow_event(route, u) for u in followees]

    def by_followee(event: Event) -> BareWork:
        return {"followee_id": _path_id(event)}, lambda _: None

    add("users-follow-user", events=follow_events, check=status_is(204), expected="204",
        bare=bare_handler(by_followee, 204), bare_overrides=frozenset({"followee_id"}))
    add("users-unfollow-user", events=unfollow_events, check=status_is(204), expected="204",
        bare=bare_handler(by_followee, 204), bare_overrides=frozenset({"followee_id"}))

    # --- the content routes (their data is in the content database)
    if seeder.content_url is not None:
        from local.bench import content_scenarios

        content_scenarios.add_all(seeder, add)

    # --- the comments routes (their data is in the comments database)
    if seeder.comments_url is not None:
        from local.bench import comments_scenarios

        comments_scenarios.add_all(seeder, add)

    # --- the authorizer: a TOKEN event of a protected route, with a valid token
    def authorizer_events(n: int) -> list[Event]:
        route = _route("users-get-me")
        return [
            apigw.authorizer_event(route, http_event(route, route.path, token=member_token))
            for _ in range(n)
        ]

    def allowed(result: Any) -> bool:
        try:
            statement = result["policyDocument"]["Statement"][0]
            return bool(statement["Effect"] == "Allow"
                        and result["context"]["userId"] == member.id)
        except (KeyError, IndexError, TypeError):
            return False

    add(wiring.AUTHORIZER.name, events=authorizer_events, check=allowed, expected="Allow")

    return {s.name: s for s in scenarios}
