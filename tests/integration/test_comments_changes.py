"""Editing and deleting comments through their real handlers: the 15-minute edit window,
who may change what (403 when they see it, 404 when they do not), placeholders of deleted
comments that have replies, and comment.deleted."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import Api
from tests.integration.comments_support import (
    age,
    comment,
    comment_path,
    comment_row,
    comments_sql,
    events_since,
    listed,
    listing,
    moderate,
    outbox,
    trust,
)
from tests.integration.content_support import ok
from tests.integration.support import Account, assert_problem, error_fields


@pytest.fixture
def bobs(api: Api, alice: Account, bob: Account, post: dict[str, Any]) -> dict[str, Any]:
    """An approved comment of bob's on alice's post."""
    return trust(api, bob, post["id"], alice)


def edit(api: Api, account: Account, comment_id: str, body: Any) -> Any:
    return api.call("PATCH", comment_path(comment_id), body, token=account.token)


# --- edit -----------------------------------------------------------------------------


def test_the_author_edits_within_15_minutes_and_it_is_marked_edited(
    api: Api, bob: Account, post: dict[str, Any], bobs: dict[str, Any]
) -> None:
    before = outbox()
    age(bobs["id"], 14)
    edited = ok(edit(api, bob, bobs["id"], {"body": "  Edited: curiouser!  "}))
    assert edited["body"] == "Edited: curiouser!"
    assert edited["editedAt"] is not None
    assert datetime.fromisoformat(edited["editedAt"]) > datetime.fromisoformat(edited["createdAt"])
    assert {k: v for k, v in edited.items() if k not in ("body", "editedAt", "createdAt")} == {
        k: v for k, v in bobs.items() if k not in ("body", "editedAt", "createdAt")
    }
    assert edited["status"] == "approved"
    (shown,) = listing(api, post["id"])["items"]
    assert shown == edited
    # Edited again, still within the window.
    again = ok(edit(api, bob, bobs["id"], {"body": "Edited twice"}))
    assert again["editedAt"] >= edited["editedAt"] and again["body"] == "Edited twice"
    assert events_since(before) == []  # no event carries a body, and edits announce nothing


def test_after_15_minutes_an_edit_is_409(
    api: Api, bob: Account, post: dict[str, Any], bobs: dict[str, Any]
) -> None:
    age(bobs["id"], 15.1)
    body = assert_problem(edit(api, bob, bobs["id"], {"body": "Too late"}), 409)
    assert "15 minutes" in body["detail"]
    assert listing(api, post["id"])["items"][0]["body"] == bobs["body"]
    assert comment_row(bobs["id"])["edited_at"] is None  # type: ignore[index]


def test_a_pending_comment_is_editable_by_its_author(
    api: Api, bob: Account, post: dict[str, Any]
) -> None:
    pending = comment(api, bob, post["id"], "first draft", status="pending")
    edited = ok(edit(api, bob, pending["id"], {"body": "second draft"}))
    assert (edited["status"], edited["body"]) == ("pending", "second draft")
    assert edited["editedAt"] is not None


def test_someone_elses_comment_is_403_to_edit_when_seen_and_404_when_not(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    mod: Account,
    admin: Account,
    post: dict[str, Any],
    bobs: dict[str, Any],
) -> None:
    pending = comment(api, carol, post["id"], "carol waits", status="pending")
    for account in (alice, carol, mod, admin):  # not even the post's author or staff
        assert_problem(edit(api, account, bobs["id"], {"body": "Mine now"}), 403)
    for account in (alice, mod, admin):  # they see the pending comment
        assert_problem(edit(api, account, pending["id"], {"body": "Mine now"}), 403)
    assert_problem(edit(api, bob, pending["id"], {"body": "Mine now"}), 404)
    assert_problem(api.call("PATCH", comment_path(bobs["id"]), {"body": "anon"}), 401)
    for key in (str(uuid.uuid4()), "not-a-uuid"):
        assert_problem(edit(api, bob, key, {"body": "x"}), 404)
    assert comment_row(bobs["id"])["body"] == bobs["body"]  # type: ignore[index]
    assert comment_row(pending["id"])["body"] == "carol waits"  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"body": ""}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"body": "ok", "status": "approved"}, "status"),
        ({"body": "ok", "parentId": None}, "parentId"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_an_invalid_edit_is_422_and_changes_nothing(
    api: Api, bob: Account, bobs: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    assert field in error_fields(edit(api, bob, bobs["id"], body))
    row = comment_row(bobs["id"])
    assert row is not None and (row["body"], row["edited_at"]) == (bobs["body"], None)


def test_a_rejected_comment_cannot_be_edited(
    api: Api, bob: Account, mod: Account, post: dict[str, Any]
) -> None:
    pending = comment(api, bob, post["id"], "rejected soon", status="pending")
    moderate(api, mod, pending["id"], "reject", "Off topic.")
    assert_problem(edit(api, bob, pending["id"], {"body": "Please?"}), 409)


# --- delete ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["author", "post author", "moderator", "admin"])
def test_who_may_delete_a_comment(
    api: Api,
    alice: Account,
    bob: Account,
    mod: Account,
    admin: Account,
    post: dict[str, Any],
    bobs: dict[str, Any],
    who: str,
) -> None:
    deleter = {"author": bob, "post author": alice, "moderator": mod, "admin": admin}[who]
    before = outbox()
    response = api.call("DELETE", comment_path(bobs["id"]), token=deleter.token)
    assert response.status == 204 and response.body == b""
    assert listed(api, post["id"]) == []
    assert comment_row(bobs["id"]) is None
    assert_problem(api.call("DELETE", comment_path(bobs["id"]), token=deleter.token), 404)
    (event,) = events_since(before)
    assert event["detail_type"] == "comment.deleted"
    assert event["detail"]["data"] == {
        "id": bobs["id"],
        "postId": post["id"],
        "postAuthorId": alice.id,
        "parentId": None,
        "authorId": bob.id,
        "status": "approved",
        "createdAt": event["detail"]["data"]["createdAt"],
        "deletedBy": deleter.id,
    }


def test_a_pending_comment_may_be_deleted_by_its_author_and_the_post_author(
    api: Api, alice: Account, bob: Account, carol: Account, post: dict[str, Any]
) -> None:
    mine = comment(api, bob, post["id"], "never mind", status="pending")
    theirs = comment(api, carol, post["id"], "spam spam", status="pending")
    assert api.call("DELETE", comment_path(mine["id"]), token=bob.token).status == 204
    assert api.call("DELETE", comment_path(theirs["id"]), token=alice.token).status == 204
    assert comments_sql("SELECT count(*) AS n FROM comments") == [{"n": 0}]


def test_another_user_may_not_delete(
    api: Api, bob: Account, carol: Account, post: dict[str, Any], bobs: dict[str, Any]
) -> None:
    pending = comment(api, bob, post["id"], "pending one", status="approved")
    hidden = comment(api, carol, post["id"], "carol's first", status="pending")
    before = outbox()
    assert_problem(api.call("DELETE", comment_path(bobs["id"]), token=carol.token), 403)
    assert_problem(api.call("DELETE", comment_path(hidden["id"]), token=bob.token), 404)
    assert_problem(api.call("DELETE", comment_path(bobs["id"])), 401)
    assert comment_row(bobs["id"]) is not None and comment_row(hidden["id"]) is not None
    assert listed(api, bobs["postId"]) == [bobs["id"], pending["id"]]
    assert events_since(before) == []


def test_a_deleted_comment_with_replies_leaves_a_placeholder_until_its_last_reply_goes(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    post: dict[str, Any],
    bobs: dict[str, Any],
) -> None:
    trust(api, carol, post["id"], alice)
    r1 = comment(api, alice, post["id"], "first reply", parent_id=bobs["id"])
    r2 = comment(api, carol, post["id"], "second reply", parent_id=bobs["id"])
    before = outbox()
    assert api.call("DELETE", comment_path(bobs["id"]), token=bob.token).status == 204
    (event,) = events_since(before)
    assert (event["detail_type"], event["detail"]["data"]["id"]) == ("comment.deleted", bobs["id"])

    for token in (None, bob.token, alice.token):
        items = listing(api, post["id"], token)["items"]
        placeholder = items[0]
        assert placeholder == {
            "id": bobs["id"],
            "postId": post["id"],
            "parentId": None,
            "body": None,
            "status": "approved",
            "author": None,
            "createdAt": bobs["createdAt"],
            "editedAt": None,
            "replyCount": 2,
            "deleted": True,
        }
        assert [c["id"] for c in items[1:3]] == [r1["id"], r2["id"]]
    row = comment_row(bobs["id"])
    assert row is not None and row["body"] is None and row["deleted_at"] is not None
    # The placeholder itself cannot be changed, replied to or deleted again.
    assert_problem(
        api.call("PATCH", comment_path(bobs["id"]), {"body": "back"}, token=bob.token), 404
    )
    assert_problem(api.call("DELETE", comment_path(bobs["id"]), token=alice.token), 404)
    response = api.call(
        "POST",
        f"/api/v1/posts/{post['id']}/comments",
        {"body": "late", "parentId": bobs["id"]},
        token=alice.token,
    )
    assert error_fields(response) == {"parentId"}

    # One reply goes: the placeholder stays for the other.
    assert api.call("DELETE", comment_path(r1["id"]), token=alice.token).status == 204
    items = listing(api, post["id"])["items"]
    assert [(c["id"], c["deleted"], c["replyCount"]) for c in items[:2]] == [
        (bobs["id"], True, 1),
        (r2["id"], False, 0),
    ]
    # The last reply goes: so does the placeholder.
    before = outbox()
    assert api.call("DELETE", comment_path(r2["id"]), token=carol.token).status == 204
    assert comment_row(bobs["id"]) is None and comment_row(r2["id"]) is None
    assert bobs["id"] not in listed(api, post["id"])
    (event,) = events_since(before)
    assert event["detail"]["data"]["id"] == r2["id"]


def test_deleting_a_reply_keeps_its_parent_and_updates_the_count(
    api: Api, alice: Account, bob: Account, post: dict[str, Any], bobs: dict[str, Any]
) -> None:
    reply = comment(api, alice, post["id"], "a reply", parent_id=bobs["id"])
    assert listing(api, post["id"])["items"][0]["replyCount"] == 1
    assert_problem(api.call("DELETE", comment_path(reply["id"]), token=bob.token), 403)
    assert api.call("DELETE", comment_path(reply["id"]), token=alice.token).status == 204
    (only,) = listing(api, post["id"])["items"]
    assert (only["id"], only["replyCount"], only["deleted"]) == (bobs["id"], 0, False)


def test_a_comment_with_only_a_hidden_reply_still_leaves_a_placeholder(
    api: Api, bob: Account, carol: Account, post: dict[str, Any], bobs: dict[str, Any]
) -> None:
    """A pending reply is a reply: its author still sees it under the placeholder."""
    hidden = comment(
        api, carol, post["id"], "waiting reply", parent_id=bobs["id"], status="pending"
    )
    assert api.call("DELETE", comment_path(bobs["id"]), token=bob.token).status == 204
    assert listed(api, post["id"], carol.token) == [bobs["id"], hidden["id"]]
    assert api.call("DELETE", comment_path(hidden["id"]), token=carol.token).status == 204
    assert comments_sql("SELECT count(*) AS n FROM comments") == [{"n": 0}]
