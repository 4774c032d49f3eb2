"""Notifications: written by the real comments-notify consumer from the comment.* events the
local bus delivers (once per event and recipient, however often it is delivered), announced
with notification.created (emailed by users-email), and read and marked through the API."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

import wiring
from comments.consumers import notify
from local import event_schemas, sample_events
from local.bus import LocalEventBus
from tests.conftest import Api
from tests.integration.comments_support import (
    NOTIFICATIONS,
    NOTIFICATIONS_READ,
    bus_event_of,
    comment,
    comment_path,
    comments_sql,
    events_since,
    kinds,
    moderate,
    notifications,
    open_post,
    outbox,
    put,
    settle,
    trust,
)
from tests.integration.events_support import BusWatch
from tests.integration.support import Account, assert_problem, error_fields, sign_up

NOTIFY = next(c for c in wiring.CONSUMERS if c.name == "comments-notify")
TITLE = "Down the Rabbit Hole"


def stored_notifications() -> list[dict[str, Any]]:
    return comments_sql("SELECT * FROM notifications ORDER BY created_at, id")


def test_the_consumer_is_wired_to_the_comment_events() -> None:
    assert set(NOTIFY.events) == set(notify.consumer.effects)
    assert NOTIFY.pattern()["source"] == ["inkwell.comments"]
    assert wiring.Access.EVENTS in NOTIFY.access


# --- who is told what -----------------------------------------------------------------


def test_the_post_author_is_told_of_each_new_approved_comment_never_its_author(
    api: Api,
    alice: Account,
    bob: Account,
    mod: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    first = comment(api, bob, post["id"], "first words", status="pending")
    settle(event_bus)
    # A held comment tells only the post's author, that it waits for moderation.
    assert kinds(api, alice) == [("pending", first["id"])]
    (held,) = notifications(api, alice)["items"]
    assert held["subject"] == f'A comment on "{TITLE}" awaits moderation'
    assert held["actor"] == {"id": bob.id, "username": "bob"}
    assert kinds(api, bob) == [] and kinds(api, mod) == []
    moderate(api, mod, first["id"], "approve")
    second = comment(api, bob, post["id"], "Curiouser and curiouser!", status="approved")
    settle(event_bus)

    page = notifications(api, alice)
    assert [(n["kind"], n["commentId"]) for n in page["items"]] == [
        ("comment", second["id"]),
        ("comment", first["id"]),
        ("pending", first["id"]),
    ]
    assert page["unreadCount"] == 3 and page["nextCursor"] is None
    newest = page["items"][0]
    assert newest["actor"] == {"id": bob.id, "username": "bob"}
    assert newest["postId"] == post["id"] and newest["read"] is False
    assert newest["subject"] == f'bob commented on "{TITLE}"'
    assert newest["text"] == "bob wrote:\n\nCuriouser and curiouser!"
    uuid.UUID(newest["id"])

    assert kinds(api, bob) == [("approved", first["id"])]  # of the decision only
    assert kinds(api, mod) == []


def test_a_decision_is_told_to_the_comments_author(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    mod: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    rejected = comment(api, bob, post["id"], "no", status="pending")
    spam = comment(api, carol, post["id"], "buy", status="pending")
    moderate(api, mod, rejected["id"], "reject", "Off topic.")
    moderate(api, alice, spam["id"], "spam")
    settle(event_bus)
    (told,) = notifications(api, bob)["items"]
    assert (told["kind"], told["commentId"], told["actor"]) == ("rejected", rejected["id"], None)
    assert told["subject"] == f'Your comment on "{TITLE}" was rejected'
    assert told["text"] == f'Your comment on "{TITLE}" was rejected.\n\nReason: Off topic.'
    (told,) = notifications(api, carol)["items"]
    assert (told["kind"], told["subject"]) == (
        "rejected",
        f'Your comment on "{TITLE}" was marked as spam',
    )
    assert kinds(api, alice) == [("pending", spam["id"]), ("pending", rejected["id"])]
    assert kinds(api, mod) == []

    # Approved on appeal: its author is told, and the post's author learns of it now.
    moderate(api, mod, rejected["id"], "approve", "On second thought.")
    settle(event_bus)
    assert kinds(api, bob) == [("approved", rejected["id"]), ("rejected", rejected["id"])]
    assert "Reason: On second thought." in notifications(api, bob)["items"][0]["text"]
    assert kinds(api, alice)[0] == ("comment", rejected["id"])


def test_a_comment_approved_again_after_reports_is_not_news_again(
    api: Api,
    alice: Account,
    bob: Account,
    mod: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    trust(api, bob, post["id"], mod)
    settle(event_bus)
    told_before = kinds(api, alice)
    said = comment(api, bob, post["id"], "Curiouser and curiouser!", status="approved")
    settle(event_bus)
    assert kinds(api, alice) == [("comment", said["id"]), *told_before]
    for reader in ("carol", "dave", "erin"):
        response = api.call(
            "POST", comment_path(said["id"], "report"), token=sign_up(api, reader).token
        )
        assert response.status == 204, response.body
    assert moderate(api, mod, said["id"], "approve")["status"] == "approved"
    settle(event_bus)
    assert kinds(api, alice) == [("comment", said["id"]), *told_before]  # nothing new
    assert kinds(api, bob)[0] == ("approved", said["id"])  # the decision is news to bob


def test_replies_are_told_to_the_parents_author_and_each_person_once(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    bob_first = trust(api, bob, post["id"], alice)
    carol_first = trust(api, carol, post["id"], alice)
    settle(event_bus)
    start = {a.username: len(kinds(api, a)) for a in (alice, bob, carol)}

    # Bob replies to Carol: Carol of the reply, Alice of a comment on her post.
    r1 = comment(api, bob, post["id"], "I agree", parent_id=carol_first["id"], status="approved")
    # Alice (the post's author) replies to Bob: Bob only.
    r2 = comment(api, alice, post["id"], "Thanks", parent_id=bob_first["id"])
    # Alice writes, Bob replies to her: Alice once, of the reply.
    alices = comment(api, alice, post["id"], "A word from the author")
    r3 = comment(api, bob, post["id"], "Nice", parent_id=alices["id"])
    # Carol replies to herself: Alice only.
    r4 = comment(api, carol, post["id"], "Also", parent_id=carol_first["id"])
    settle(event_bus)

    def new(account: Account) -> list[tuple[str, str]]:
        found = kinds(api, account)
        return found[: len(found) - start[account.username]]

    assert new(carol) == [("reply", r1["id"])]
    assert new(bob) == [("reply", r2["id"])]
    assert new(alice) == [("comment", r4["id"]), ("reply", r3["id"]), ("comment", r1["id"])]
    reply = notifications(api, carol)["items"][0]
    assert reply["subject"] == f'bob replied to your comment on "{TITLE}"'
    assert reply["actor"] == {"id": bob.id, "username": "bob"}


def test_nobody_is_told_of_their_own_comment_on_their_own_post(
    api: Api, alice: Account, mod: Account, event_bus: LocalEventBus, post: dict[str, Any]
) -> None:
    mine = comment(api, alice, post["id"], "Author's note", status="approved")
    comment(api, alice, post["id"], "And a reply", parent_id=mine["id"])
    settle(event_bus)
    assert stored_notifications() == []
    moderators = comment(api, mod, post["id"], "Moderator here", status="approved")
    settle(event_bus)
    assert kinds(api, alice) == [("comment", moderators["id"])]
    assert kinds(api, mod) == []


# --- the API --------------------------------------------------------------------------


def _notified(
    api: Api, alice: Account, bob: Account, post: dict[str, Any], n: int, bus: LocalEventBus
) -> list[str]:
    """`n` notifications of alice's about bob's comments on her post (the first comment
    held, then approved; the rest approved at once), newest first."""
    trust(api, bob, post["id"], alice)
    for i in range(n - 2):
        comment(api, bob, post["id"], f"comment {i}", status="approved")
    settle(bus)
    found = [n["id"] for n in notifications(api, alice, limit=100)["items"]]
    assert len(found) == n
    return found


def test_notifications_page_newest_first_with_the_unread_count(
    api: Api, alice: Account, bob: Account, event_bus: LocalEventBus, post: dict[str, Any]
) -> None:
    everything = _notified(api, alice, bob, post, 7, event_bus)
    created = [n["createdAt"] for n in notifications(api, alice, limit=100)["items"]]
    assert created == sorted(created, reverse=True)
    seen: list[str] = []
    page = notifications(api, alice, limit=3)
    while True:
        assert page["unreadCount"] == 7
        seen += [n["id"] for n in page["items"]]
        if page["nextCursor"] is None:
            break
        page = notifications(api, alice, limit=3, cursor=page["nextCursor"])
    assert seen == everything
    bobs = notifications(api, bob)  # of the decision on his first comment only
    assert (len(bobs["items"]), bobs["nextCursor"], bobs["unreadCount"]) == (1, None, 1)
    assert_problem(
        api.call("GET", NOTIFICATIONS, token=alice.token, query={"cursor": "nope!"}), 400
    )
    assert_problem(api.call("GET", NOTIFICATIONS), 401)


def test_a_user_without_notifications_gets_an_empty_page(api: Api, carol: Account) -> None:
    assert notifications(api, carol) == {"items": [], "nextCursor": None, "unreadCount": 0}


def test_marking_some_then_all_as_read_touches_only_ones_own(
    api: Api, alice: Account, bob: Account, event_bus: LocalEventBus, post: dict[str, Any]
) -> None:
    alices = _notified(api, alice, bob, post, 4, event_bus)
    (bobs,) = [n["id"] for n in notifications(api, bob)["items"]]
    # Alice names two of hers, Bob's and an unknown one: only hers are marked.
    response = api.call(
        "POST",
        NOTIFICATIONS_READ,
        {"ids": [alices[0], alices[2], bobs, str(uuid.uuid4())]},
        token=alice.token,
    )
    assert response.status == 204 and response.body == b""
    page = notifications(api, alice)
    assert [n["read"] for n in page["items"]] == [True, False, True, False]
    assert page["unreadCount"] == 2
    assert notifications(api, bob)["unreadCount"] == 1
    # Marking the same again changes nothing; an empty list marks nothing.
    assert (
        api.call("POST", NOTIFICATIONS_READ, {"ids": [alices[0]]}, token=alice.token).status == 204
    )
    assert api.call("POST", NOTIFICATIONS_READ, {"ids": []}, token=alice.token).status == 204
    assert notifications(api, alice)["unreadCount"] == 2
    # No ids: all of hers.
    assert api.call("POST", NOTIFICATIONS_READ, {}, token=alice.token).status == 204
    assert notifications(api, alice)["unreadCount"] == 0
    assert all(n["read"] for n in notifications(api, alice)["items"])
    assert notifications(api, bob)["unreadCount"] == 1
    # Without a body at all, too.
    assert api.call("POST", NOTIFICATIONS_READ, token=bob.token).status == 204
    assert notifications(api, bob)["unreadCount"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": ["nope"]}, "ids.0"),
        ({"ids": "all"}, "ids"),
        ({"ids": ["0b7e4f2a-6c1d-4e8b-a3f5-9d2c1b0a8e7f"] * 101}, "ids"),
        ({"all": True}, "all"),
    ],
    ids=["not-a-uuid", "not-a-list", "too-many", "unknown-field"],
)
def test_an_invalid_mark_read_is_422(
    api: Api, carol: Account, body: dict[str, Any], field: str
) -> None:
    assert field in error_fields(api.call("POST", NOTIFICATIONS_READ, body, token=carol.token))


def test_marking_read_needs_a_token(api: Api) -> None:
    assert_problem(api.call("POST", NOTIFICATIONS_READ, {}), 401)


# --- once per event -------------------------------------------------------------------


def test_an_event_delivered_twice_notifies_once(
    api: Api,
    alice: Account,
    bob: Account,
    carol: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    top = trust(api, carol, post["id"], alice)
    trust(api, bob, post["id"], alice)
    settle(event_bus)
    before = outbox()
    reply = comment(api, bob, post["id"], "A reply", parent_id=top["id"], status="approved")
    settle(event_bus)
    (created,) = events_since(before)
    assert created["detail"]["data"]["id"] == reply["id"]
    told = [n for n in stored_notifications() if str(n["comment_id"]) == reply["id"]]
    assert sorted(n["kind"] for n in told) == ["comment", "reply"]
    announced = events_since(before, "notification.created")
    assert len(announced) == 2

    # EventBridge delivers it again, twice, on the bus.
    watch = BusWatch(event_bus)
    put(event_bus, bus_event_of(created))
    put(event_bus, bus_event_of(created))
    settle(event_bus)
    assert [d["status"] for d in watch.deliveries(NOTIFY.name)] == ["ok", "ok"]
    assert watch.dead_letters() == []
    # Lambda invokes the handler with it again.
    event = bus_event_of(created)
    assert notify.handler(event, None) == {
        "status": "duplicate",
        "eventId": str(created["event_id"]),
    }
    # Even with the consumer's memory of it lost, (event, recipient) is written once.
    comments_sql("DELETE FROM processed_events WHERE consumer = :c", c=NOTIFY.name)
    assert notify.handler(copy.deepcopy(event), None)["status"] == "processed"
    settle(event_bus)
    assert [n for n in stored_notifications() if str(n["comment_id"]) == reply["id"]] == told
    assert len(events_since(before, "notification.created")) == 2  # nothing announced again
    assert kinds(api, carol)[0] == ("reply", reply["id"])
    assert [k for k in kinds(api, carol) if k[1] == reply["id"]] == [("reply", reply["id"])]


def test_a_decision_event_delivered_twice_notifies_once(
    api: Api,
    alice: Account,
    bob: Account,
    mod: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    pending = comment(api, bob, post["id"], "judge me", status="pending")
    settle(event_bus)
    before = outbox()
    moderate(api, mod, pending["id"], "reject", "No.")
    settle(event_bus)
    (decided,) = events_since(before)
    for _ in range(2):
        put(event_bus, bus_event_of(decided))
        assert notify.handler(bus_event_of(decided), None)["status"] == "duplicate"
    settle(event_bus)
    assert kinds(api, bob) == [("rejected", pending["id"])]
    assert len(events_since(before, "notification.created")) == 1


def test_a_hand_made_event_is_applied_once_and_a_deleted_comment_notifies_nobody(
    api: Api,
    alice: Account,
    bob: Account,
    mod: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    """Events as local.sample_events shapes them (fresh ids), given to the real handler."""
    target = trust(api, bob, post["id"], mod)
    settle(event_bus)
    start = len(kinds(api, bob))
    event = copy.deepcopy(sample_events.bus_event("comment.approved"))
    event["detail"]["eventId"] = str(uuid.uuid4())
    event["detail"]["data"].update(
        id=target["id"],
        postId=post["id"],
        postAuthorId=alice.id,
        authorId=bob.id,
        moderatorId=mod.id,
        reason="Fine.",
    )
    event_schemas.validate(event)
    assert notify.handler(event, None)["status"] == "processed"
    assert notify.handler(copy.deepcopy(event), None)["status"] == "duplicate"
    settle(event_bus)
    assert len(kinds(api, bob)) == start + 1
    assert "Reason: Fine." in notifications(api, bob)["items"][0]["text"]

    assert api.call("DELETE", comment_path(target["id"]), token=bob.token).status == 204
    settle(event_bus)
    before = stored_notifications()
    late = copy.deepcopy(event)
    late["detail"]["eventId"] = str(uuid.uuid4())
    assert notify.handler(late, None)["status"] == "processed"
    assert stored_notifications() == before


def test_notification_created_events_match_their_schema_and_are_emailed(
    api: Api,
    alice: Account,
    bob: Account,
    mod: Account,
    event_bus: LocalEventBus,
    post: dict[str, Any],
) -> None:
    settle(event_bus)
    before = outbox()
    watch = BusWatch(event_bus)
    pending = comment(api, bob, post["id"], "x" * 400, status="pending")
    moderate(api, mod, pending["id"], "approve", "r" * 500)
    settle(event_bus)
    announced = events_since(before, "notification.created")  # validated
    stored = {str(n["id"]): n for n in stored_notifications()}
    assert len(announced) == len(stored) == 3
    for row in announced:
        data = row["detail"]["data"]
        note = stored[data["id"]]
        assert data == {
            "id": str(note["id"]),
            "recipientId": str(note["recipient_id"]),
            "kind": note["kind"],
            "subject": note["subject"],
            "text": note["text"],
            "postId": post["id"],
            "commentId": pending["id"],
            "createdAt": data["createdAt"],
        }
        assert "bob@example.com" not in str(row["detail"])
    by_kind = {row["detail"]["data"]["kind"]: row["detail"]["data"] for row in announced}
    assert by_kind["approved"]["recipientId"] == bob.id
    assert by_kind["comment"]["recipientId"] == alice.id
    assert by_kind["comment"]["text"] == "bob wrote:\n\n" + "x" * 279 + "…"
    emailed = [d for d in watch.deliveries("users-email")]
    assert by_kind["pending"]["recipientId"] == alice.id
    assert [d["status"] for d in emailed] == ["ok", "ok", "ok"]
    assert watch.dead_letters() == []


def test_a_long_post_title_keeps_subjects_within_the_schema(
    api: Api, alice: Account, bob: Account, mod: Account, event_bus: LocalEventBus
) -> None:
    long = open_post(api, event_bus, alice, "T" * 200)
    trust(api, bob, long["id"], mod)
    settle(event_bus)
    before = outbox()
    top = comment(api, alice, long["id"], "author here")
    comment(api, bob, long["id"], "reply", parent_id=top["id"])
    settle(event_bus)
    announced = events_since(before, "notification.created")
    assert announced and all(len(e["detail"]["data"]["subject"]) <= 200 for e in announced)
