"""A role change and a deactivation take effect on every domain within the event delay,
not when the caller's token expires: end to end through the local bus, with the tokens
issued before the change."""

from __future__ import annotations

import uuid

from content import service as content_service
from inkwell import profiles
from inkwell.identity import Principal
from local.bus import LocalEventBus
from tests.conftest import Api
from tests.integration.comments_support import (
    comment,
    comment_path,
    comments_path,
    comments_sql,
    open_post,
    settle,
    trust,
)
from tests.integration.content_support import content_sql, ok, post_path, write
from tests.integration.support import USERS, Account, assert_problem, sign_up

POSTS = "/api/v1/posts"


def _set_role(api: Api, admin: Account, user: Account, role: str) -> None:
    response = api.call("PUT", f"{USERS}/{user.id}/role", {"role": role}, token=admin.token)
    assert response.status == 200, response.body


def test_a_demoted_admin_cannot_act_as_admin_with_the_old_token(
    api: Api, admin: Account, alice: Account, bob: Account, event_bus: LocalEventBus
) -> None:
    deputy = sign_up(api, "deputy", role="admin")  # its token says admin ...
    post = open_post(api, event_bus, alice)
    remark = trust(api, bob, post["id"], approver=admin)
    _set_role(api, admin, deputy, "user")  # ... and stays so for its lifetime
    # Users decides with its own row at once: no promoting a friend back, no user list,
    # no one's email.
    assert_problem(
        api.call("PUT", f"{USERS}/{bob.id}/role", {"role": "admin"}, token=deputy.token), 403
    )
    assert_problem(api.call("GET", USERS, token=deputy.token), 403)
    assert "email" not in ok(api.call("GET", f"{USERS}/{bob.id}", token=deputy.token))
    assert_problem(
        api.call("PATCH", f"{USERS}/{bob.id}", {"bio": "pwned"}, token=deputy.token), 403
    )
    assert_problem(api.call("DELETE", f"{USERS}/{bob.id}", token=deputy.token), 403)
    # Content and comments, once the user.role_changed event has reached them.
    settle(event_bus)
    assert_problem(api.call("DELETE", post_path(post["id"]), token=deputy.token), 403)
    assert_problem(
        api.call("PATCH", post_path(post["id"]), {"title": "Mine now"}, token=deputy.token), 403
    )
    draft = write(api, alice, "Still a draft")
    assert_problem(api.call("GET", post_path(draft["id"]), token=deputy.token), 404)
    assert_problem(
        api.call(
            "POST", comment_path(remark["id"], "moderate"), {"action": "reject"}, token=deputy.token
        ),
        403,
    )
    assert_problem(api.call("DELETE", comment_path(remark["id"]), token=deputy.token), 403)
    assert ok(api.call("GET", "/api/v1/comments/moderation", token=deputy.token))["items"] == []
    # A plain user's own writes still work.
    ok(api.call("POST", POSTS, {"title": "My own"}, token=deputy.token), 201)


def test_a_demoted_moderator_loses_moderation(
    api: Api,
    admin: Account,
    mod: Account,
    alice: Account,
    bob: Account,
    event_bus: LocalEventBus,
) -> None:
    post = open_post(api, event_bus, alice)
    held = comment(api, bob, post["id"], "First words", status="pending")
    assert [
        c["id"] for c in ok(api.call("GET", comments_path(post["id"]), token=mod.token))["items"]
    ] == [held["id"]]
    _set_role(api, admin, mod, "user")
    settle(event_bus)
    assert_problem(
        api.call(
            "POST", comment_path(held["id"], "moderate"), {"action": "approve"}, token=mod.token
        ),
        404,
    )
    assert ok(api.call("GET", comments_path(post["id"]), token=mod.token))["items"] == []
    assert ok(api.call("GET", "/api/v1/comments/moderation", token=mod.token))["items"] == []


def test_a_promotion_reaches_content_and_comments(
    api: Api, admin: Account, alice: Account, bob: Account, event_bus: LocalEventBus
) -> None:
    post = open_post(api, event_bus, alice)
    _set_role(api, admin, bob, "admin")
    settle(event_bus)
    # bob's token still says "user": what the domains know now decides.
    assert (
        ok(api.call("POST", post_path(post["id"], "unpublish"), token=bob.token))["status"]
        == "draft"
    )


def test_a_deactivated_user_can_write_nothing_anywhere(
    api: Api, alice: Account, bob: Account, event_bus: LocalEventBus
) -> None:
    post = open_post(api, event_bus, alice)
    own = ok(api.call("POST", POSTS, {"title": "Bob's draft"}, token=bob.token), 201)
    mine = comment(api, bob, post["id"], "Before", status="pending")
    assert api.call("DELETE", f"{USERS}/{bob.id}", token=bob.token).status == 204
    settle(event_bus)
    writes = [
        ("POST", POSTS, {"title": "After"}),
        ("PATCH", post_path(own["id"]), {"title": "After"}),
        ("POST", post_path(own["id"], "publish"), None),
        ("DELETE", post_path(own["id"]), None),
        ("POST", post_path(post["id"], "favorite"), None),
        ("DELETE", post_path(post["id"], "favorite"), None),
        ("POST", comments_path(post["id"]), {"body": "After"}),
        ("PATCH", comment_path(mine["id"]), {"body": "After"}),
        ("DELETE", comment_path(mine["id"]), None),
        ("POST", comment_path(mine["id"], "report"), None),
        ("POST", "/api/v1/notifications/read", None),
        ("GET", "/api/v1/comments/moderation", None),
        ("POST", f"{USERS}/{alice.id}/follow", None),
        ("PATCH", f"{USERS}/{bob.id}", {"bio": "After"}),
        (
            "PUT",
            f"{USERS}/{bob.id}/password",
            {"currentPassword": bob.password, "newPassword": "another long one"},
        ),
        ("GET", f"{USERS}/me", None),
    ]
    for method, path, body in writes:
        problem = assert_problem(api.call(method, path, body, token=bob.token), 401)
        assert "deactivated" in problem["detail"], (method, path)
    assert ok(api.call("GET", post_path(post["id"])))["favoritesCount"] == 0
    assert comments_sql(
        "SELECT count(*) AS n FROM comments WHERE author_id = CAST(:id AS uuid)", id=bob.id
    ) == [{"n": 1}]


def test_a_caller_the_read_model_has_not_heard_of_is_a_plain_user(
    api: Api, alice: Account, event_bus: LocalEventBus
) -> None:
    """Their user.registered has not arrived yet: their own writes work from the token's
    claims, nothing privileged does, whatever the token claims."""
    post = open_post(api, event_bus, alice)
    stranger = Principal(str(uuid.uuid4()), "stranger", "admin")
    with content_service.db.reader() as s:
        assert profiles.acting(s, "authors", stranger).role == "user"
    newcomer = sign_up(api, "newcomer", role="admin")
    content_sql("DELETE FROM authors WHERE user_id = CAST(:id AS uuid)", id=newcomer.id)
    assert_problem(api.call("DELETE", post_path(post["id"]), token=newcomer.token), 403)
    ok(api.call("POST", POSTS, {"title": "Hello"}, token=newcomer.token), 201)


def test_role_events_in_any_order_leave_the_latest_role(api: Api, event_bus: LocalEventBus) -> None:
    user_id = str(uuid.uuid4())
    with content_service.db.transaction() as s:
        profiles.set_role(
            s,
            "authors",
            user_id=user_id,
            username="late",
            role="admin",
            version="2026-01-02T00:00:00Z",
        )
        # user.registered (older) arrives after the role change: the profile is filled in,
        # the role stays the newer one.
        profiles.upsert(
            s,
            "authors",
            user_id=user_id,
            username="late",
            first_name="La",
            last_name="Te",
            version="2026-01-01T00:00:00Z",
        )
        profiles.set_role(
            s,
            "authors",
            user_id=user_id,
            username="late",
            role="user",
            version="2026-01-01T00:00:00Z",
        )
    (row,) = content_sql(
        "SELECT first_name, role FROM authors WHERE user_id = CAST(:id AS uuid)", id=user_id
    )
    assert row == {"first_name": "La", "role": "admin"}
