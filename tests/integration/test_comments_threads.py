"""Writing and listing comments through their real handlers: every field, replies one level
deep, the validation limits, which posts take comments, thread order, keyset pagination
while comments are being written, who sees what, and one SQL round trip per page."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from bench.wire import RoundTrips
from inkwell.db import database
from local.bus import LocalEventBus
from tests.conftest import Api
from tests.integration.comments_support import (
    COMMENT_FIELDS,
    comment,
    comment_path,
    comment_row,
    comments_path,
    comments_sql,
    create,
    events_since,
    listed,
    listing,
    open_post,
    outbox,
    settle,
    trust,
)
from tests.integration.content_support import ok, post_path, write
from tests.integration.support import Account, assert_problem, error_fields

# --- create ---------------------------------------------------------------------------


def test_a_new_comment_has_every_field_and_a_first_comment_waits(
    api: Api, bob: Account, post: dict[str, Any]
) -> None:
    before = outbox()
    created = comment(api, bob, post["id"], "  Curiouser and curiouser!  ")
    assert set(created) == COMMENT_FIELDS
    uuid.UUID(created["id"])
    assert created["postId"] == post["id"] and created["parentId"] is None
    assert created["body"] == "Curiouser and curiouser!"
    assert created["status"] == "pending"  # bob has no approved comment yet
    assert created["author"] == {"id": bob.id, "username": "bob"}
    assert created["editedAt"] is None and created["replyCount"] == 0
    assert created["deleted"] is False
    datetime.fromisoformat(created["createdAt"])

    (event,) = events_since(before)
    assert event["detail_type"] == "comment.created"
    assert event["detail"]["data"] == {
        "id": created["id"],
        "postId": post["id"],
        "postAuthorId": post["author"]["id"],
        "parentId": None,
        "authorId": bob.id,
        "status": "pending",
        "createdAt": event["detail"]["data"]["createdAt"],
    }
    assert datetime.fromisoformat(event["detail"]["data"]["createdAt"]) == datetime.fromisoformat(
        created["createdAt"]
    )
    assert "Curiouser" not in json.dumps(event["detail"])


def test_a_reply_goes_under_its_parent_and_counts(
    api: Api, alice: Account, bob: Account, carol: Account, post: dict[str, Any]
) -> None:
    top = trust(api, bob, post["id"], alice)
    before = outbox()
    reply = comment(api, alice, post["id"], "Welcome!", parent_id=top["id"], status="approved")
    assert reply["parentId"] == top["id"] and reply["replyCount"] == 0
    (event,) = events_since(before)
    assert event["detail"]["data"]["parentId"] == top["id"]
    items = listing(api, post["id"])["items"]
    assert [(c["id"], c["parentId"], c["replyCount"]) for c in items] == [
        (top["id"], None, 1),
        (reply["id"], top["id"], 0),
    ]
    # A pending reply is not counted for the public.
    comment(api, carol, post["id"], "Me too", parent_id=top["id"], status="pending")
    assert listing(api, post["id"])["items"][0]["replyCount"] == 1


def test_a_reply_to_a_reply_is_422(
    api: Api, alice: Account, bob: Account, post: dict[str, Any]
) -> None:
    top = trust(api, bob, post["id"], alice)
    reply = comment(api, alice, post["id"], "A reply", parent_id=top["id"])
    before = comments_sql("SELECT id FROM comments ORDER BY id")
    response = create(api, bob, post["id"], "Deeper", parent_id=reply["id"])
    assert error_fields(response) == {"parentId"}
    assert comments_sql("SELECT id FROM comments ORDER BY id") == before


def test_a_parent_of_another_post_or_unknown_is_422(
    api: Api, alice: Account, bob: Account, event_bus: LocalEventBus, post: dict[str, Any]
) -> None:
    other = open_post(api, event_bus, alice, "Another post")
    elsewhere = comment(api, alice, other["id"], "On the other post", status="approved")
    for parent in (elsewhere["id"], str(uuid.uuid4())):
        assert error_fields(create(api, bob, post["id"], "Hi", parent_id=parent)) == {"parentId"}
    assert error_fields(create(api, bob, post["id"], "Hi", parent_id="not-a-uuid")) == {"parentId"}
    assert listed(api, post["id"], bob.token) == []


def test_a_reply_to_a_comment_one_cannot_see_is_422(
    api: Api, bob: Account, carol: Account, post: dict[str, Any]
) -> None:
    hidden = comment(api, bob, post["id"], "Waiting", status="pending")
    assert error_fields(create(api, carol, post["id"], "Hi", parent_id=hidden["id"])) == {
        "parentId"
    }
    # Its author may reply under it (they see it).
    own = comment(api, bob, post["id"], "Adding to it", parent_id=hidden["id"])
    assert own["parentId"] == hidden["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"body": ""}, "body"),
        ({"body": "   \n\t "}, "body"),
        ({"body": "b" * 5001}, "body"),
        ({"body": "é" * 5001}, "body"),
        ({"body": None}, "body"),
        ({"body": 42}, "body"),
        ({"body": "nul\x00"}, "body"),
        ({"body": "ok", "status": "approved"}, "status"),
        ({"body": "ok", "authorId": "x"}, "authorId"),
        ({"body": "ok", "parent_id": "0b7e4f2a-6c1d-4e8b-a3f5-9d2c1b0a8e7f"}, "parent_id"),
        ({"body": "ok", "parentId": 7}, "parentId"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_an_invalid_comment_is_422_naming_the_field(
    api: Api, bob: Account, post: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    before = outbox()
    response = api.call("POST", comments_path(post["id"]), body, token=bob.token)
    assert field in error_fields(response), response.body
    assert comments_sql("SELECT count(*) AS n FROM comments") == [{"n": 0}]
    assert events_since(before) == []


def test_the_body_limits_themselves_are_accepted(
    api: Api, alice: Account, post: dict[str, Any]
) -> None:
    for body in ("x", "é" * 5000, "  " + "b" * 5000 + "  "):
        created = comment(api, alice, post["id"], body)
        assert created["body"] == body.strip()


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"body"'])
def test_a_malformed_body_is_400(api: Api, bob: Account, post: dict[str, Any], raw: bytes) -> None:
    assert_problem(api.call("POST", comments_path(post["id"]), raw_body=raw, token=bob.token), 400)


def test_commenting_needs_a_token(api: Api, post: dict[str, Any]) -> None:
    assert_problem(api.call("POST", comments_path(post["id"]), {"body": "Anonymous"}), 401)
    assert comments_sql("SELECT count(*) AS n FROM comments") == [{"n": 0}]


def test_only_published_posts_take_comments(
    api: Api, alice: Account, bob: Account, event_bus: LocalEventBus
) -> None:
    draft = write(api, alice, "A draft")
    scheduled = write(api, alice, "Later")
    ok(
        api.call(
            "POST",
            post_path(scheduled["id"], "publish"),
            {"publishAt": "2999-01-01T00:00:00Z"},
            token=alice.token,
        )
    )
    gone = open_post(api, event_bus, alice, "Gone soon")
    assert api.call("DELETE", post_path(gone["id"]), token=alice.token).status == 204
    settle(event_bus)
    for key in (
        draft["id"],
        scheduled["id"],
        gone["id"],
        str(uuid.uuid4()),
        "not-a-uuid",
        draft["slug"],
    ):
        for account in (bob, alice):
            assert_problem(create(api, account, key), 404)
        assert_problem(api.call("GET", comments_path(key)), 404)
    assert comments_sql("SELECT count(*) AS n FROM comments") == [{"n": 0}]


# --- list -----------------------------------------------------------------------------


def test_the_list_is_oldest_first_with_replies_under_their_parent(
    api: Api, alice: Account, bob: Account, carol: Account, post: dict[str, Any]
) -> None:
    trust(api, bob, post["id"], alice)
    trust(api, carol, post["id"], alice)
    first = comment(api, bob, post["id"], "first", status="approved")
    second = comment(api, carol, post["id"], "second", status="approved")
    r1 = comment(api, alice, post["id"], "reply to first", parent_id=first["id"])
    third = comment(api, alice, post["id"], "third", status="approved")
    r2 = comment(api, bob, post["id"], "reply to second", parent_id=second["id"])
    r3 = comment(api, carol, post["id"], "another reply to first", parent_id=first["id"])
    items = listing(api, post["id"])["items"]
    mine = [c for c in items if c["body"] not in ("Hello, I am bob.", "Hello, I am carol.")]
    assert [c["id"] for c in mine] == [
        first["id"],
        r1["id"],
        r3["id"],
        second["id"],
        r2["id"],
        third["id"],
    ]
    assert [c["replyCount"] for c in mine] == [2, 0, 0, 1, 0, 0]
    assert listing(api, post["id"])["nextCursor"] is None
    # Every comment shown is the one created (same fields).
    assert mine[0] == {**first, "replyCount": 2}


def test_keyset_pagination_has_no_gaps_or_duplicates_while_comments_are_written(
    api: Api, alice: Account, bob: Account, post: dict[str, Any]
) -> None:
    trust(api, bob, post["id"], alice)
    tops = [comment(api, bob, post["id"], f"top {i}", status="approved") for i in range(5)]
    for i in range(4):
        comment(api, alice, post["id"], f"reply {i}", parent_id=tops[i % 2]["id"])
    existing = listed(api, post["id"])
    assert len(existing) == 1 + 5 + 4

    seen: list[str] = []
    added: list[str] = []
    page = listing(api, post["id"], limit=3)
    step = 0
    while True:
        seen += [c["id"] for c in page["items"]]
        assert len(page["items"]) <= 3
        if page["nextCursor"] is None:
            break
        # Between pages: a new thread (sorts last), a reply to the thread just passed
        # (behind the cursor) and a reply to the last top-level comment (ahead of it).
        added.append(comment(api, bob, post["id"], f"new top {step}")["id"])
        added.append(
            comment(api, alice, post["id"], f"behind {step}", parent_id=tops[0]["id"])["id"]
        )
        added.append(
            comment(api, alice, post["id"], f"ahead {step}", parent_id=tops[-1]["id"])["id"]
        )
        step += 1
        page = listing(api, post["id"], limit=3, cursor=page["nextCursor"])
    assert step >= 3
    assert len(seen) == len(set(seen)), "a comment was listed twice"
    assert set(existing) <= set(seen), "a comment was skipped"
    final = listed(api, post["id"])
    # The pages are the final order, less what was written behind the cursor meanwhile.
    assert seen == [c for c in final if c in seen]
    assert set(final) - set(seen) <= set(added)


@pytest.mark.parametrize("limit", ["0", "101", "x"])
def test_a_bad_limit_is_422(api: Api, post: dict[str, Any], limit: str) -> None:
    assert "limit" in error_fields(
        api.call("GET", comments_path(post["id"]), query={"limit": limit})
    )


SOME_ID = "0b7e4f2a-6c1d-4e8b-a3f5-9d2c1b0a8e7f"


def _cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "e30",  # {}
        _cursor("2025-01-01T00:00:00+00:00", SOME_ID),
        _cursor("yesterday", SOME_ID, "False", "2025-01-01T00:00:00+00:00", SOME_ID),
        _cursor("2025-01-01T00:00:00+00:00", "nope", "False", "2025-01-01T00:00:00+00:00", SOME_ID),
        _cursor(1, 2, 3, 4, 5),
    ],
    ids=["garbage", "object", "two-parts", "bad-time", "bad-id", "numbers"],
)
def test_a_bad_cursor_is_400(api: Api, alice: Account, post: dict[str, Any], cursor: str) -> None:
    comment(api, alice, post["id"])
    assert_problem(api.call("GET", comments_path(post["id"]), query={"cursor": cursor}), 400)


def test_the_list_of_an_unknown_or_unpublished_post_is_404(api: Api, alice: Account) -> None:
    draft = write(api, alice)
    for key in (draft["id"], str(uuid.uuid4()), "nope"):
        assert_problem(api.call("GET", comments_path(key)), 404)
        assert_problem(api.call("GET", comments_path(key), token=alice.token), 404)


def test_pending_comments_are_seen_only_by_their_author_and_moderators(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    mod: Account,
    admin: Account,
    post: dict[str, Any],
) -> None:
    pending = comment(api, bob, post["id"], "Hold me", status="pending")
    assert listed(api, post["id"]) == []
    assert listed(api, post["id"], carol.token) == []
    assert listed(api, post["id"], alice.token) == []  # the post's author: in the queue
    for account in (bob, mod, admin):
        assert listed(api, post["id"], account.token) == [pending["id"]]
    # Someone else cannot reach it at all.
    assert_problem(
        api.call("PATCH", comment_path(pending["id"]), {"body": "x"}, token=carol.token), 404
    )
    assert_problem(api.call("POST", comment_path(pending["id"], "report"), token=carol.token), 404)
    assert_problem(api.call("DELETE", comment_path(pending["id"]), token=carol.token), 404)
    assert comment_row(pending["id"]) is not None


def test_rejected_comments_are_seen_only_by_their_author(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    mod: Account,
    post: dict[str, Any],
) -> None:
    pending = comment(api, bob, post["id"], "Buy now", status="pending")
    assert (
        api.call(
            "POST", comment_path(pending["id"], "moderate"), {"action": "spam"}, token=mod.token
        ).status
        == 200
    )
    assert listed(api, post["id"], carol.token) == []
    assert listed(api, post["id"], mod.token) == []
    (mine,) = listing(api, post["id"], bob.token)["items"]
    assert (mine["id"], mine["status"]) == (pending["id"], "spam")


# --- round trips ----------------------------------------------------------------------


def test_every_page_of_comments_is_one_round_trip(
    api: Api,
    alice: Account,
    bob: Account,
    mod: Account,
    post: dict[str, Any],
    event_bus: LocalEventBus,
    wire: Callable[[str], RoundTrips],
) -> None:
    trust(api, bob, post["id"], alice)
    tops = [comment(api, bob, post["id"], f"top {i}") for i in range(6)]
    for i in range(6):
        comment(api, alice, post["id"], f"reply {i}", parent_id=tops[i % 3]["id"])
    settle(event_bus)  # nothing else is using the comments database while we count
    counted = wire("comments")
    api.dispatcher.environment.run(database("comments").discard_connection)

    def trips(token: str | None, **query: Any) -> int:
        before = counted.round_trips
        body = listing(api, post["id"], token, **query)
        assert body["items"]
        return counted.round_trips - before

    for token in (None, bob.token, mod.token):
        assert trips(token, limit=4) == 1  # the first run too: nothing is prepared ahead
        assert trips(token, limit=4) == 1
        cursor = listing(api, post["id"], token, limit=4)["nextCursor"]
        for _ in range(2):
            assert cursor is not None
            assert trips(token, limit=4, cursor=cursor) == 1
            cursor = listing(api, post["id"], token, limit=4, cursor=cursor)["nextCursor"]
