"""The users routes' scenarios (and health's): route name -> Scenario.

Each call gets input of its own: register a new username, refresh and logout a refresh
token never used, change-password and deactivate-user a user of their own, follow a user
not followed yet and unfollow one followed (seeded), change-role alternating two roles.
"""

from __future__ import annotations

import secrets

from bench.scenarios import Scenario
from bench.world import NEW_PASSWORD, PASSWORD, Event, World, http_event
from inkwell.tokens import hash_refresh_token, new_refresh_token
from wiring import route_by_name as route


def health(w: World, n: int) -> list[Event]:
    return [http_event(route("health")) for _ in range(n)]


def register(w: World, n: int) -> list[Event]:
    return [
        http_event(
            route("users-register"),
            body={
                "username": name,
                "email": f"{name}@bench.example.com",
                "password": PASSWORD,
                "firstName": "Bench",
                "lastName": "User",
            },
        )
        for name in w.names("reg", n)
    ]


def login(w: World, n: int) -> list[Event]:
    body = {"username": w.actor("login").username, "password": PASSWORD}
    return [http_event(route("users-login"), body=body) for _ in range(n)]


def with_refresh_token(name: str) -> Scenario:
    def events(w: World, n: int) -> list[Event]:
        return [
            http_event(route(name), body={"refreshToken": token})
            for token in w.refresh_tokens(w.actor("refresher"), n)
        ]

    return Scenario(events, 200 if name == "users-refresh" else 204, 1)


def by_member(name: str, target: bool = False) -> Scenario:
    """The member calls `name` (on itself when `target`)."""

    def events(w: World, n: int) -> list[Event]:
        member = w.actor("member")
        return [
            http_event(
                route(name),
                caller=member,
                token=w.token(member),
                target=member.id if target else None,
            )
            for _ in range(n)
        ]

    return Scenario(events, 200, 1)


def list_users(w: World, n: int) -> list[Event]:
    admin = w.actor("admin", "admin")
    w.once("crowd", lambda: w.users("crowd", 25))  # a full page and a next cursor
    return [
        http_event(route("users-list-users"), caller=admin, token=w.token(admin)) for _ in range(n)
    ]


def get_user(w: World, n: int) -> list[Event]:  # anonymous: the public profile
    return [http_event(route("users-get-user"), target=w.actor("member").id) for _ in range(n)]


def update_user(w: World, n: int) -> list[Event]:
    member = w.actor("member")
    return [
        http_event(
            route("users-update-user"),
            target=member.id,
            caller=member,
            token=w.token(member),
            body={"bio": f"bio {secrets.token_hex(4)}"},
        )
        for _ in range(n)
    ]


def change_password(w: World, n: int) -> list[Event]:
    return [
        http_event(
            route("users-change-password"),
            target=u.id,
            caller=u,
            token=w.token(u),
            body={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        )
        for u in w.users("pw", n)
    ]


def change_role(w: World, n: int) -> list[Event]:
    admin, target = w.actor("admin", "admin"), w.actor("role-target")
    return [
        http_event(
            route("users-change-role"),
            target=target.id,
            caller=admin,
            token=w.token(admin),
            body={"role": ("moderator", "user")[i % 2]},
        )
        for i in range(n)
    ]


def deactivate_user(w: World, n: int) -> list[Event]:
    return [
        http_event(route("users-deactivate-user"), target=u.id, caller=u, token=w.token(u))
        for u in w.users("gone", n)
    ]


def follow(w: World, n: int) -> list[Event]:
    me = w.actor("follower")
    return [
        http_event(route("users-follow-user"), target=u.id, caller=me, token=w.token(me))
        for u in w.users("followee", n)
    ]


def unfollow(w: World, n: int) -> list[Event]:
    me, followees = w.actor("follower"), w.users("unfollowee", n)
    w.sql(
        "users",
        "INSERT INTO follows (follower_id, followee_id)"
        " SELECT CAST(:me AS uuid), f FROM unnest(CAST(:ids AS uuid[])) AS f",
        me=me.id,
        ids=[u.id for u in followees],
    )
    return [
        http_event(route("users-unfollow-user"), target=u.id, caller=me, token=w.token(me))
        for u in followees
    ]


def request_reset(w: World, n: int) -> list[Event]:
    """A user of its own, from an address of its own (both are throttled per window)."""
    return [
        http_event(
            route("users-request-password-reset"),
            body={"username": u.username},
            source_ip=f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
        )
        for i, u in zip(w.serials(n), w.users("reset", n), strict=True)
    ]


def confirm_reset(w: World, n: int) -> list[Event]:
    """A reset token of its own (as request-password-reset stores it), a new password."""
    tokens = [new_refresh_token() for _ in range(n)]
    w.sql(
        "users",
        "INSERT INTO password_resets (token_hash, user_id, expires_at)"
        " SELECT h, u, now() + interval '30 minutes'"
        " FROM unnest(CAST(:h AS text[]), CAST(:u AS uuid[])) AS t(h, u)",
        h=[hash_refresh_token(t) for t in tokens],
        u=[u.id for u in w.users("resetter", n)],
    )
    return [
        http_event(
            route("users-confirm-password-reset"), body={"token": t, "newPassword": NEW_PASSWORD}
        )
        for t in tokens
    ]


SCENARIOS: dict[str, Scenario] = {
    "health": Scenario(health, 200, 0),
    "users-register": Scenario(register, 201, 3, bcrypt=1),
    "users-login": Scenario(login, 200, 2, lambda b: bool(b["token"]), bcrypt=1),
    "users-refresh": with_refresh_token("users-refresh"),
    "users-logout": with_refresh_token("users-logout"),
    "users-get-me": by_member("users-get-me"),
    "users-list-users": Scenario(list_users, 200, 2, lambda b: len(b["items"]) == 20),
    "users-get-user": Scenario(get_user, 200, 1),
    "users-update-user": Scenario(update_user, 200, 4),
    "users-change-password": Scenario(change_password, 204, 4, bcrypt=2),
    "users-change-role": Scenario(change_role, 200, 4),
    "users-deactivate-user": Scenario(deactivate_user, 204, 4),
    "users-follow-user": Scenario(follow, 204, 1),
    "users-unfollow-user": Scenario(unfollow, 204, 1),
    "users-request-password-reset": Scenario(request_reset, 202, 4),
    "users-confirm-password-reset": Scenario(confirm_reset, 204, 3, bcrypt=1),
}
