"""What comments learns from the other domains, end to end through the local bus: a post
unpublished, republished or deleted in content; a user deactivated or renamed in users. And
the read-model consumers called as Lambda calls them, with events redelivered or late."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import wiring
from comments.consumers import posts_events
from local import event_schemas, sample_events
from local.bus import LocalEventBus
from tests.conftest import Api
from tests.integration.comments_support import (
    comment,
    comment_path,
    comment_row,
    comments_sql,
    create,
    kinds,
    listed,
    listing,
    moderate,
    notifications,
    open_post,
    queue,
    settle,
    trust,
)
from tests.integration.content_support import ok, post_path
from tests.integration.events_support import BusWatch
from tests.integration.support import USERS, Account, assert_problem, sign_up, sql


def test_the_read_model_consumers_are_wired() -> None:
    posts = next(c for c in wiring.CONSUMERS if c.name == "comments-posts")
    users = next(c for c in wiring.CONSUMERS if c.name == "comments-users")
    assert set(posts.events) == set(posts_events.consumer.effects)
    assert posts.pattern()["source"] == ["inkwell.content"]
    assert users.pattern()["source"] == ["inkwell.users"]


# --- posts ----------------------------------------------------------------------------


def test_an_unpublished_post_hides_its_comments_until_republished(
    api: Api,
    alice: Account,
    bob: Account,
    mod: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    approved = trust(api, bob, post["id"], alice)
    pending = comment(api, mod, post["id"], "mod's")  # approved (staff)
    waiting = comment(api, sign_up(api, "dave"), post["id"], "dave's first", status="pending")
    before = listed(api, post["id"], mod.token)
    assert before == [approved["id"], pending["id"], waiting["id"]]

    ok(api.call("POST", post_path(post["id"], "unpublish"), token=alice.token))
    settle(event_bus)
    for token in (None, bob.token, alice.token, mod.token):
        assert_problem(api.call("GET", f"/api/v1/posts/{post['id']}/comments", token=token), 404)
    for account in (bob, alice, mod):
        assert_problem(create(api, account, post["id"], "still there?"), 404)
    # Its comments cannot be reached one by one either, nor wait in a queue.
    assert_problem(
        api.call("PATCH", comment_path(approved["id"]), {"body": "x"}, token=bob.token), 404
    )
    assert_problem(api.call("POST", comment_path(approved["id"], "report"), token=mod.token), 404)
    assert_problem(
        api.call(
            "POST", comment_path(waiting["id"], "moderate"), {"action": "approve"}, token=mod.token
        ),
        404,
    )
    assert queue(api, mod)["items"] == [] and queue(api, alice)["items"] == []
    assert comment_row(approved["id"]) is not None  # kept, only hidden

    ok(api.call("POST", post_path(post["id"], "publish"), token=alice.token))
    settle(event_bus)
    assert listed(api, post["id"], mod.token) == before
    assert listed(api, post["id"]) == [approved["id"], pending["id"]]
    assert [c["id"] for c in queue(api, mod)["items"]] == [waiting["id"]]
    comment(api, bob, post["id"], "welcome back", status="approved")


def test_an_edit_of_the_post_keeps_it_open_and_renames_it(
    api: Api, alice: Account, bob: Account, event_bus: LocalEventBus, post: dict[str, Any]
) -> None:
    pending = comment(api, bob, post["id"], "first", status="pending")
    ok(api.call("PATCH", post_path(post["id"]), {"title": "A New Title"}, token=alice.token))
    settle(event_bus)
    (queued,) = queue(api, alice)["items"]
    assert (queued["id"], queued["postTitle"]) == (pending["id"], "A New Title")
    comment(api, bob, post["id"], "second")


def test_a_deleted_post_deletes_its_comments_and_its_authors_notifications(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    other = open_post(api, event_bus, alice, "Another post")
    top = trust(api, bob, post["id"], alice)
    comment(api, alice, post["id"], "a reply", parent_id=top["id"])
    comment(api, carol, post["id"], "pending", status="pending")
    kept = comment(api, alice, other["id"], "on the other post")
    settle(event_bus)
    told_bob = kinds(api, bob)  # of the decision and the reply
    assert told_bob and kinds(api, alice)
    assert api.call("DELETE", post_path(post["id"]), token=alice.token).status == 204
    settle(event_bus)

    assert [str(r["id"]) for r in comments_sql("SELECT id FROM comments")] == [kept["id"]]
    assert comments_sql("SELECT count(*) AS n FROM moderation_decisions") == [{"n": 0}]
    # The post's author loses the news of their post; bob keeps what he was told.
    assert comments_sql(
        "SELECT count(*) AS n FROM notifications WHERE post_id = CAST(:p AS uuid)"
        " AND recipient_id = CAST(:a AS uuid)",
        p=post["id"],
        a=alice.id,
    ) == [{"n": 0}]
    assert kinds(api, bob) == told_bob
    assert_problem(api.call("GET", f"/api/v1/posts/{post['id']}/comments"), 404)
    assert_problem(create(api, bob, post["id"]), 404)
    assert listed(api, other["id"]) == [kept["id"]]


def _post_event(
    detail_type: str, post: dict[str, Any], status: str, occurred_at: str
) -> dict[str, Any]:
    event = copy.deepcopy(sample_events.bus_event(detail_type))
    event["id"] = str(uuid.uuid4())
    event["detail"]["eventId"] = str(uuid.uuid4())
    event["detail"]["occurredAt"] = occurred_at
    event["detail"]["data"].update(
        id=post["id"],
        slug=post["slug"],
        title=post["title"],
        authorId=post["author"]["id"],
        status=status,
    )
    event_schemas.validate(event)
    return event


def test_late_post_events_never_reopen_a_deleted_post_or_undo_newer_news(
    api: Api, alice: Account, bob: Account, event_bus: LocalEventBus, post: dict[str, Any]
) -> None:
    settle(event_bus)
    (row,) = comments_sql("SELECT version FROM posts")
    newer = (row["version"]).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    older = "2000-01-01T00:00:00.000000Z"
    # An older unpublish arriving late: the post stays open.
    assert (
        posts_events.handler(_post_event("post.unpublished", post, "draft", older), None)["status"]
        == "processed"
    )
    comment(api, alice, post["id"], "still open")
    # Deleted: a late publish, even one that looks newer, cannot reopen it.
    assert api.call("DELETE", post_path(post["id"]), token=alice.token).status == 204
    settle(event_bus)
    late = _post_event(
        "post.published", post, "published", newer.replace(newer[:4], str(int(newer[:4]) + 1))
    )
    assert posts_events.handler(late, None)["status"] == "processed"
    assert posts_events.handler(copy.deepcopy(late), None)["status"] == "duplicate"
    assert_problem(create(api, alice, post["id"]), 404)
    assert comments_sql("SELECT is_open, is_deleted FROM posts") == [
        {"is_open": False, "is_deleted": True}
    ]


# --- users ----------------------------------------------------------------------------


def test_a_deactivated_users_comments_are_hidden(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    mod: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    bobs = trust(api, bob, post["id"], alice)
    comment(api, bob, post["id"], "bob's second", status="approved")
    carols = comment(api, carol, post["id"], "carol's first", status="pending")
    moderate(api, mod, carols["id"], "approve")
    under = comment(api, carol, post["id"], "carol under bob", parent_id=bobs["id"])
    bobs_wait = comment(
        api, bob, post["id"], "https://a.x https://b.x https://c.x", status="pending"
    )
    assert listing(api, post["id"])["items"][0]["replyCount"] == 1

    assert api.call("DELETE", f"{USERS}/{bob.id}", token=bob.token).status == 204
    settle(event_bus)
    assert comments_sql(
        "SELECT is_active FROM commenters WHERE user_id = CAST(:id AS uuid)", id=bob.id
    ) == [{"is_active": False}]
    for token in (None, carol.token, alice.token, mod.token):
        # Carol's reply stays (its parent is hidden: it is listed where its thread was).
        assert set(listed(api, post["id"], token)) == {carols["id"], under["id"]}
    assert bobs_wait["id"] not in [c["id"] for c in queue(api, mod)["items"]]
    assert_problem(api.call("POST", comment_path(bobs["id"], "report"), token=carol.token), 404)
    # Carol's reply to Bob's hidden comment is still hers.
    assert comment_row(under["id"]) is not None


def test_a_renamed_users_comments_show_the_new_name(
    api: Api,
    alice: Account,
    bob: Account,
    mod: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    bobs = trust(api, bob, post["id"], alice)
    waiting = comment(api, bob, post["id"], "casino", status="pending")
    settle(event_bus)
    # The users domain renames bob (no route changes a username: done in its database),
    # then a profile change announces user.updated with the new name.
    sql("UPDATE users SET username = 'robert' WHERE id = CAST(:id AS uuid)", id=bob.id)
    watch = BusWatch(event_bus)
    assert (
        api.call("PATCH", f"{USERS}/{bob.id}", {"firstName": "Robert"}, token=bob.token).status
        == 200
    )
    settle(event_bus)
    assert [d["status"] for d in watch.deliveries("comments-users")] == ["ok"]
    (shown,) = listing(api, post["id"])["items"]
    assert shown["id"] == bobs["id"]
    assert shown["author"] == {"id": bob.id, "username": "robert"}
    (queued,) = queue(api, mod)["items"]
    assert queued["id"] == waiting["id"] and queued["author"]["username"] == "robert"
    # The post's author is told of his next comment under the new name.
    comment(api, bob, post["id"], "signed robert", status="approved")
    settle(event_bus)
    newest = notifications(api, alice)["items"][0]
    assert newest["actor"] == {"id": bob.id, "username": "robert"}
    assert newest["subject"].startswith("robert commented")


def test_a_comment_written_before_the_registration_arrived_uses_the_token(
    api: Api, alice: Account, event_bus: LocalEventBus, post: dict[str, Any]
) -> None:
    settle(event_bus)
    comments_sql("DELETE FROM commenters")
    created = comment(api, alice, post["id"], "early")
    assert created["author"] == {"id": alice.id, "username": "alice"}
    (row,) = comments_sql(
        "SELECT username, version = '-infinity' AS from_claims"
        " FROM commenters WHERE user_id = CAST(:id AS uuid)",
        id=alice.id,
    )
    assert row == {"username": "alice", "from_claims": True}
    assert listed(api, post["id"]) == [created["id"]]
