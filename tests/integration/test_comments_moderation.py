"""Moderation through the real handlers: the policy (comments.policy) deciding what waits,
the queue (everything for moderators, their own posts' for authors), decisions recorded with
who and why and announced, and readers' reports sending a comment back to the queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from comments import policy
from local.bus import LocalEventBus
from tests.conftest import Api
from tests.integration.comments_support import (
    comment,
    comment_path,
    comment_row,
    decisions,
    events_since,
    listed,
    listing,
    moderate,
    open_post,
    outbox,
    queue,
    settle,
    trust,
)
from tests.integration.support import Account, assert_problem, error_fields, sign_up


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


def report(api: Api, account: Account, comment_id: str, reason: str | None = "Rude.") -> Any:
    body = None if reason is None else {"reason": reason}
    return api.call("POST", comment_path(comment_id, "report"), body, token=account.token)


# --- the policy -----------------------------------------------------------------------


def test_a_first_comment_waits_and_later_ones_are_approved_at_once(
    api: Api,
    alice: Account,
    bob: Account,
    mod: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    first = comment(api, bob, post["id"], "first", status="pending")
    second = comment(api, bob, post["id"], "second, still untrusted", status="pending")
    moderate(api, mod, first["id"], "approve")
    third = comment(api, bob, post["id"], "third", status="approved")
    # On any post, of any author.
    other = open_post(api, event_bus, mod, "The moderator's post")
    comment(api, bob, other["id"], "elsewhere", status="approved")
    assert listed(api, post["id"]) == [first["id"], third["id"]]
    assert comment_row(second["id"])["status"] == "pending"  # type: ignore[index]


def test_a_rejected_first_comment_does_not_earn_trust(
    api: Api, bob: Account, mod: Account, post: dict[str, Any]
) -> None:
    first = comment(api, bob, post["id"], "first", status="pending")
    moderate(api, mod, first["id"], "reject")
    comment(api, bob, post["id"], "again", status="pending")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("See https://a.example and http://b.example", "approved"),
        ("See https://a.example, http://b.example and www.c.example", "pending"),
        (
            "links: https://a.example https://a.example https://a.example https://a.example",
            "pending",
        ),
        ("Try the CASINO tonight", "pending"),
        ("free crypto-giveaway here", "pending"),
        ("viagra.", "pending"),
        ("casinos and cryptography are fine words", "approved"),
        ("a payday-loan is a longer word", "approved"),
    ],
)
def test_links_and_blocked_words_send_a_trusted_comment_to_the_queue(
    api: Api, alice: Account, bob: Account, post: dict[str, Any], body: str, status: str
) -> None:
    trust(api, bob, post["id"], alice)
    created = comment(api, bob, post["id"], body, status=status)
    assert (created["id"] in listed(api, post["id"])) is (status == "approved")


@pytest.mark.parametrize("who", ["post author", "moderator", "admin"])
def test_the_post_author_moderators_and_admins_are_never_held(
    api: Api, alice: Account, mod: Account, admin: Account, post: dict[str, Any], who: str
) -> None:
    writer = {"post author": alice, "moderator": mod, "admin": admin}[who]
    spammy = "casino https://a.example https://b.example https://c.example"
    first = comment(api, writer, post["id"], spammy, status="approved")
    edited = api.call(
        "PATCH", comment_path(first["id"]), {"body": spammy + " www.d.example"}, token=writer.token
    )
    assert edited.status == 200 and edited.json()["status"] == "approved"
    assert listed(api, post["id"]) == [first["id"]]


def test_the_policy_constants_are_the_documented_ones() -> None:
    assert policy.MAX_LINKS == 2 and policy.REPORT_THRESHOLD == 3
    assert policy.EDIT_WINDOW.total_seconds() == 15 * 60


@pytest.mark.parametrize(
    "body",
    ["now with https://a.example https://b.example https://c.example", "casino time"],
)
def test_an_edit_that_adds_links_or_blocked_words_sends_it_back_to_the_queue(
    api: Api, alice: Account, bob: Account, mod: Account, post: dict[str, Any], body: str
) -> None:
    trust(api, bob, post["id"], alice)
    fine = comment(api, bob, post["id"], "a fine comment", status="approved")
    edited = api.call("PATCH", comment_path(fine["id"]), {"body": body}, token=bob.token)
    assert edited.status == 200
    assert (edited.json()["status"], edited.json()["body"]) == ("pending", body)
    assert fine["id"] not in listed(api, post["id"])
    assert fine["id"] in listed(api, post["id"], bob.token)
    (queued,) = [c for c in queue(api, mod)["items"] if c["id"] == fine["id"]]
    assert queued["body"] == body and queued["queuedAt"] is not None
    # Approved again, it is back in the list with the new text.
    moderate(api, mod, fine["id"], "approve")
    assert fine["id"] in listed(api, post["id"])


def test_an_edit_with_two_links_stays_approved(
    api: Api, alice: Account, bob: Account, post: dict[str, Any]
) -> None:
    trust(api, bob, post["id"], alice)
    fine = comment(api, bob, post["id"], "a fine comment", status="approved")
    edited = api.call(
        "PATCH",
        comment_path(fine["id"]),
        {"body": "https://a.example and https://b.example"},
        token=bob.token,
    )
    assert edited.status == 200 and edited.json()["status"] == "approved"


# --- the queue ------------------------------------------------------------------------


def test_the_queue_is_everything_for_moderators_and_own_posts_for_authors(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    mod: Account,
    admin: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    bobs_post = open_post(api, event_bus, bob, "Bob's post")
    on_alices = comment(api, bob, post["id"], "bob on alice's", status="pending")
    on_bobs = comment(api, carol, bobs_post["id"], "carol on bob's", status="pending")
    also_alices = comment(api, carol, post["id"], "carol on alice's", status="pending")
    comment(api, alice, post["id"], "alice's own, approved", status="approved")

    everything = [on_alices["id"], on_bobs["id"], also_alices["id"]]
    assert ids(queue(api, mod)) == everything  # oldest first
    assert ids(queue(api, admin)) == everything
    assert ids(queue(api, alice)) == [on_alices["id"], also_alices["id"]]
    assert ids(queue(api, bob)) == [on_bobs["id"]]
    assert queue(api, carol) == {"items": [], "nextCursor": None}

    (first, *_) = queue(api, mod)["items"]
    assert first["postTitle"] == "Down the Rabbit Hole" and first["reportCount"] == 0
    assert first["status"] == "pending" and first["author"] == {"id": bob.id, "username": "bob"}
    assert datetime.fromisoformat(first["queuedAt"]) >= datetime.fromisoformat(first["createdAt"])
    assert_problem(api.call("GET", "/api/v1/comments/moderation"), 401)


def test_the_queue_pages_without_gaps_or_duplicates(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    mod: Account,
    post: dict[str, Any],
) -> None:
    waiting = [
        comment(api, (bob, carol)[i % 2], post["id"], f"wait {i}", status="pending")["id"]
        for i in range(7)
    ]
    for account, expected in ((mod, waiting), (alice, waiting)):
        seen: list[str] = []
        page = queue(api, account, limit=3)
        while True:
            seen += ids(page)
            if page["nextCursor"] is None:
                break
            page = queue(api, account, limit=3, cursor=page["nextCursor"])
        assert seen == expected
    # A decision between pages neither repeats nor skips the others.
    page = queue(api, mod, limit=3)
    moderate(api, mod, waiting[0], "approve")
    moderate(api, mod, waiting[4], "reject")
    rest = queue(api, mod, limit=10, cursor=page["nextCursor"])
    assert ids(rest) == [waiting[3], waiting[5], waiting[6]]
    assert_problem(
        api.call("GET", "/api/v1/comments/moderation", token=mod.token, query={"cursor": "bad!"}),
        400,
    )


# --- decisions ------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["approve", "reject", "spam"])
@pytest.mark.parametrize("who", ["moderator", "admin", "post author"])
def test_a_decision_is_applied_recorded_and_announced(
    api: Api,
    alice: Account,
    bob: Account,
    mod: Account,
    admin: Account,
    post: dict[str, Any],
    who: str,
    action: str,
    event_bus: LocalEventBus,
) -> None:
    decider = {"moderator": mod, "admin": admin, "post author": alice}[who]
    pending = comment(api, bob, post["id"], "judge me", status="pending")
    settle(event_bus)
    before = outbox()
    decided = moderate(api, decider, pending["id"], action, f"Because {action}.")
    status = {"approve": "approved", "reject": "rejected", "spam": "spam"}[action]
    assert decided["status"] == status and decided["id"] == pending["id"]
    assert decided["body"] == "judge me"

    (decision,) = decisions(pending["id"])
    assert (str(decision["moderator_id"]), decision["action"], decision["reason"]) == (
        decider.id,
        action,
        f"Because {action}.",
    )
    assert isinstance(decision["decided_at"], datetime)
    row = comment_row(pending["id"])
    assert row is not None and row["status"] == status and row["queued_at"] is None
    assert ids(queue(api, mod)) == []
    assert (pending["id"] in listed(api, post["id"])) is (action == "approve")

    (event,) = events_since(before)
    detail_type = "comment.approved" if action == "approve" else "comment.rejected"
    assert event["detail_type"] == detail_type
    assert event["detail"]["data"] == {
        "id": pending["id"],
        "postId": post["id"],
        "postAuthorId": alice.id,
        "parentId": None,
        "authorId": bob.id,
        "status": status,
        "createdAt": event["detail"]["data"]["createdAt"],
        "action": action,
        "reason": f"Because {action}.",
        "moderatorId": decider.id,
    }


def test_every_change_of_decision_is_recorded_a_repeated_one_is_not(
    api: Api,
    alice: Account,
    bob: Account,
    mod: Account,
    admin: Account,
    post: dict[str, Any],
) -> None:
    pending = comment(api, bob, post["id"], "judge me", status="pending")
    moderate(api, mod, pending["id"], "reject")
    moderate(api, mod, pending["id"], "reject", "Still no.")
    moderate(api, admin, pending["id"], "approve", "On appeal.")
    moderate(api, alice, pending["id"], "spam")
    assert [
        (str(d["moderator_id"]), d["action"], d["reason"]) for d in decisions(pending["id"])
    ] == [(mod.id, "reject", None), (admin.id, "approve", "On appeal."), (alice.id, "spam", None)]


def test_moderating_without_the_right_is_403_or_404(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    mod: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    trust(api, carol, post["id"], alice)
    approved = comment(api, carol, post["id"], "approved", status="approved")
    pending = comment(api, bob, post["id"], "pending", status="pending")
    bobs_post = open_post(api, event_bus, bob, "Bob's post")
    on_bobs = comment(api, carol, bobs_post["id"], "on bob's post", status="approved")
    settle(event_bus)
    before = outbox()
    for comment_id, account, status in (
        (approved["id"], bob, 403),  # a reader
        (approved["id"], carol, 403),  # its own author
        (pending["id"], bob, 403),  # its own author sees it, may not decide
        (pending["id"], carol, 404),  # a reader does not see it
        (on_bobs["id"], alice, 403),  # another post's author
    ):
        response = api.call(
            "POST", comment_path(comment_id, "moderate"), {"action": "spam"}, token=account.token
        )
        assert_problem(response, status)
    assert_problem(
        api.call("POST", comment_path(approved["id"], "moderate"), {"action": "spam"}), 401
    )
    for comment_id in (approved["id"], pending["id"], on_bobs["id"]):
        assert decisions(comment_id) == []
    assert comment_row(pending["id"])["status"] == "pending"  # type: ignore[index]
    assert events_since(before) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "action"),
        ({"action": "delete"}, "action"),
        ({"action": "APPROVE"}, "action"),
        ({"action": "approve", "reason": "r" * 501}, "reason"),
        ({"action": "approve", "reason": ""}, "reason"),
        ({"action": "approve", "by": "me"}, "by"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_an_invalid_decision_is_422(
    api: Api,
    bob: Account,
    mod: Account,
    post: dict[str, Any],
    body: dict[str, Any],
    field: str,
) -> None:
    pending = comment(api, bob, post["id"], "judge me", status="pending")
    response = api.call("POST", comment_path(pending["id"], "moderate"), body, token=mod.token)
    assert field in error_fields(response)
    assert decisions(pending["id"]) == []


# --- reports --------------------------------------------------------------------------


def test_reporting_ones_own_comment_is_403(
    api: Api, alice: Account, bob: Account, post: dict[str, Any]
) -> None:
    mine = trust(api, bob, post["id"], alice)
    assert_problem(report(api, bob, mine["id"]), 403)
    assert comment_row(mine["id"])["report_count"] == 0  # type: ignore[index]


def test_three_readers_send_an_approved_comment_back_to_the_queue(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    mod: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    target = trust(api, bob, post["id"], alice)
    dave = sign_up(api, "dave")
    settle(event_bus)
    before = outbox()
    assert report(api, carol, target["id"]).status == 204
    assert report(api, carol, target["id"], "Again!").status == 204  # counts once
    assert report(api, dave, target["id"], None).status == 204
    assert report(api, dave, target["id"]).status == 204
    row = comment_row(target["id"])
    assert row is not None and (row["report_count"], row["status"]) == (2, "approved")
    assert target["id"] in listed(api, post["id"])
    assert ids(queue(api, mod)) == []

    assert report(api, alice, target["id"], "Not on my post.").status == 204  # the third
    row = comment_row(target["id"])
    assert row is not None and (row["report_count"], row["status"]) == (3, "pending")
    assert target["id"] not in listed(api, post["id"])
    assert target["id"] in listed(api, post["id"], bob.token)  # its author still sees it
    (queued,) = queue(api, mod)["items"]
    assert (queued["id"], queued["reportCount"], queued["status"]) == (target["id"], 3, "pending")
    assert ids(queue(api, alice)) == [target["id"]]

    reported = events_since(before)
    assert [e["detail_type"] for e in reported] == ["comment.reported"] * 3
    assert [
        (e["detail"]["data"]["reportCount"], e["detail"]["data"]["status"]) for e in reported
    ] == [(1, "approved"), (2, "approved"), (3, "pending")]
    assert reported[0]["detail"]["data"]["id"] == target["id"]
    assert "Rude" not in str([e["detail"] for e in reported])

    # Waiting in the queue, it cannot be reported further (readers no longer see it).
    erin = sign_up(api, "erin")
    assert_problem(report(api, erin, target["id"]), 404)


def test_reports_count_again_from_zero_after_a_re_approval(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    mod: Account,
    post: dict[str, Any],
) -> None:
    target = trust(api, bob, post["id"], alice)
    readers = [carol, *(sign_up(api, name) for name in ("dave", "erin", "frank", "gina"))]
    for reader in readers[:3]:
        assert report(api, reader, target["id"]).status == 204
    assert comment_row(target["id"])["status"] == "pending"  # type: ignore[index]
    moderate(api, mod, target["id"], "approve", "It is fine.")
    row = comment_row(target["id"])
    assert row is not None and (row["report_count"], row["status"]) == (0, "approved")
    assert target["id"] in listed(api, post["id"])

    # Two new reports are not enough any more to send it back...
    for reader in readers[3:]:
        assert report(api, reader, target["id"]).status == 204
    row = comment_row(target["id"])
    assert row is not None and (row["report_count"], row["status"]) == (2, "approved")
    # ...and a reader's report counts once, however often they report it.
    assert report(api, readers[3], target["id"]).status == 204
    assert comment_row(target["id"])["report_count"] == 2  # type: ignore[index]
    # A third reader sends it back.
    assert report(api, alice, target["id"]).status == 204
    row = comment_row(target["id"])
    assert row is not None and (row["report_count"], row["status"]) == (3, "pending")


def test_reporting_what_one_cannot_see_is_404_and_a_decided_comment_is_left_alone(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    mod: Account,
    post: dict[str, Any],
) -> None:
    pending = comment(api, bob, post["id"], "pending", status="pending")
    assert_problem(report(api, carol, pending["id"]), 404)
    assert_problem(report(api, carol, "not-a-uuid"), 404)
    # A moderator may flag what is already waiting: nothing changes.
    assert report(api, mod, pending["id"]).status == 204
    assert comment_row(pending["id"])["report_count"] == 0  # type: ignore[index]
    assert_problem(api.call("POST", comment_path(pending["id"], "report")), 401)
    assert error_fields(report(api, mod, pending["id"], "r" * 501)) == {"reason"}


def test_a_queued_comment_shows_its_latest_text(
    api: Api, bob: Account, mod: Account, post: dict[str, Any]
) -> None:
    pending = comment(api, bob, post["id"], "v1", status="pending")
    api.call("PATCH", comment_path(pending["id"]), {"body": "v2"}, token=bob.token)
    (queued,) = queue(api, mod)["items"]
    assert queued["body"] == "v2" and queued["editedAt"] is not None
    assert listing(api, post["id"], mod.token)["items"][0]["body"] == "v2"
