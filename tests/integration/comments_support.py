"""Helpers of the comments tests: the API paths, opening a post for comments (published in
content, its post.published delivered by the local bus to comments), writing, listing and
moderating comments through the API, and the comments database as it is (read and, for
set-ups the API cannot make such as time passing, written directly)."""

from __future__ import annotations

import copy
import json
import os
import uuid
from typing import Any

import wiring
from local import event_schemas
from local.bus import LocalEventBus
from local.dispatch import Response
from tests.conftest import Api
from tests.integration.content_support import POSTS, as_bus_event, ok, published
from tests.integration.support import Account, inspector

COMMENTS = f"{wiring.API_PREFIX}/comments"
QUEUE = f"{COMMENTS}/moderation"
NOTIFICATIONS = f"{wiring.API_PREFIX}/notifications"
NOTIFICATIONS_READ = f"{NOTIFICATIONS}/read"

COMMENT_FIELDS = {
    "id",
    "postId",
    "parentId",
    "body",
    "status",
    "author",
    "createdAt",
    "editedAt",
    "replyCount",
    "deleted",
}
QUEUED_FIELDS = COMMENT_FIELDS | {"postTitle", "reportCount", "queuedAt"}
NOTIFICATION_FIELDS = {
    "id",
    "kind",
    "subject",
    "text",
    "postId",
    "commentId",
    "actor",
    "read",
    "createdAt",
}
COMMENT_EVENTS = (
    "comment.created",
    "comment.approved",
    "comment.rejected",
    "comment.deleted",
    "comment.reported",
)


def comments_path(post_id: str) -> str:
    return f"{POSTS}/{post_id}/comments"


def comment_path(comment_id: str, action: str = "") -> str:
    return f"{COMMENTS}/{comment_id}" + (f"/{action}" if action else "")


def comments_sql(query: str, **params: Any) -> list[dict[str, Any]]:
    """Run one statement on the comments database, outside the code under test."""
    conn = inspector(os.environ["INKWELL_COMMENTS_DB_URL"])
    rows = conn.run(query, **params) or []
    names = [c["name"] for c in conn.columns or ()]
    return [dict(zip(names, r, strict=True)) for r in rows]


def settle(bus: LocalEventBus) -> None:
    """Every event published so far has reached its consumers."""
    assert bus.drain(10), "the local bus did not deliver its events in time"


def open_post(
    api: Api,
    bus: LocalEventBus,
    account: Account,
    title: str = "Down the Rabbit Hole",
    **fields: Any,
) -> dict[str, Any]:
    """A post of `account` published through the API, and known to comments as open."""
    post = published(api, account, title, **fields)
    settle(bus)
    return post


def create(
    api: Api,
    account: Account,
    post_id: str,
    body: str = "Curiouser and curiouser!",
    *,
    parent_id: str | None = None,
) -> Response:
    payload: dict[str, Any] = {"body": body}
    if parent_id is not None:
        payload["parentId"] = parent_id
    return api.call("POST", comments_path(post_id), payload, token=account.token)


def comment(
    api: Api,
    account: Account,
    post_id: str,
    body: str = "Curiouser and curiouser!",
    *,
    parent_id: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """A new comment (or reply) of `account`, through the API; optionally of this status."""
    created = ok(create(api, account, post_id, body, parent_id=parent_id), 201)
    assert isinstance(created, dict)
    if status is not None:
        assert created["status"] == status, created
    return created


def listing(api: Api, post_id: str, token: str | None = None, **query: Any) -> dict[str, Any]:
    """One page of a post's comments, as `token`'s owner (anonymous when None) sees them."""
    body = ok(
        api.call(
            "GET", comments_path(post_id), token=token, query={k: str(v) for k, v in query.items()}
        )
    )
    assert isinstance(body, dict) and set(body) == {"items", "nextCursor"}, body
    for item in body["items"]:
        assert set(item) == COMMENT_FIELDS, item
    return body


def listed(api: Api, post_id: str, token: str | None = None) -> list[str]:
    """The ids of every comment of a post `token`'s owner sees, in order (all pages)."""
    found: list[str] = []
    cursor: str | None = None
    while True:
        page = listing(api, post_id, token, limit=100, **({"cursor": cursor} if cursor else {}))
        found += [item["id"] for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            return found


def moderate(
    api: Api, account: Account, comment_id: str, action: str, reason: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"action": action}
    if reason is not None:
        body["reason"] = reason
    moderated = ok(
        api.call("POST", comment_path(comment_id, "moderate"), body, token=account.token)
    )
    assert isinstance(moderated, dict)
    return moderated


def trust(api: Api, account: Account, post_id: str, approver: Account) -> dict[str, Any]:
    """Make `account` a commenter with an approved comment (the policy holds first ones):
    a first comment on `post_id`, approved by `approver`. Returns it, approved."""
    first = comment(api, account, post_id, f"Hello, I am {account.username}.", status="pending")
    return moderate(api, approver, first["id"], "approve")


def queue(api: Api, account: Account, **query: Any) -> dict[str, Any]:
    body = ok(
        api.call("GET", QUEUE, token=account.token, query={k: str(v) for k, v in query.items()})
    )
    assert isinstance(body, dict) and set(body) == {"items", "nextCursor"}, body
    for item in body["items"]:
        assert set(item) == QUEUED_FIELDS, item
    return body


def notifications(api: Api, account: Account, **query: Any) -> dict[str, Any]:
    body = ok(
        api.call(
            "GET", NOTIFICATIONS, token=account.token, query={k: str(v) for k, v in query.items()}
        )
    )
    assert isinstance(body, dict) and set(body) == {"items", "nextCursor", "unreadCount"}, body
    for item in body["items"]:
        assert set(item) == NOTIFICATION_FIELDS, item
    return body


def kinds(api: Api, account: Account) -> list[tuple[str, str]]:
    """(kind, commentId) of every notification of `account`, newest first."""
    return [(n["kind"], n["commentId"]) for n in notifications(api, account, limit=100)["items"]]


def comment_row(comment_id: str) -> dict[str, Any] | None:
    found = comments_sql("SELECT * FROM comments WHERE id = CAST(:id AS uuid)", id=comment_id)
    return found[0] if found else None


def age(comment_id: str, minutes: float) -> None:
    """The comment was written `minutes` earlier than it was (time passing, for the edit
    window)."""
    changed = comments_sql(
        "UPDATE comments SET created_at = created_at - make_interval(secs => :s)"
        " WHERE id = CAST(:id AS uuid) RETURNING id",
        id=comment_id,
        s=minutes * 60,
    )
    assert len(changed) == 1


def decisions(comment_id: str) -> list[dict[str, Any]]:
    return comments_sql(
        "SELECT moderator_id, action, reason, decided_at FROM moderation_decisions"
        " WHERE comment_id = CAST(:id AS uuid) ORDER BY id",
        id=comment_id,
    )


def outbox(detail_type: str | None = None) -> list[dict[str, Any]]:
    """The comments outbox, oldest first (optionally one type)."""
    rows = comments_sql("SELECT * FROM outbox ORDER BY id")
    return [r for r in rows if detail_type is None or r["detail_type"] == detail_type]


def events_since(before: list[dict[str, Any]], *detail_types: str) -> list[dict[str, Any]]:
    """The comments events written since `before` (an earlier `outbox()`), each checked
    against its schema, oldest first: those of `detail_types` (default: the comment.*
    events, not the notification.created that the comments-notify consumer writes as the
    bus delivers them). A comment.* event never carries a comment's body."""
    seen = {r["id"] for r in before}
    rows = [r for r in outbox() if r["id"] not in seen]
    for row in rows:
        event_schemas.validate(as_bus_event(row))
        assert row["source"] == "inkwell.comments"
        if row["detail_type"] in COMMENT_EVENTS:
            assert "body" not in row["detail"]["data"]
    wanted = detail_types or COMMENT_EVENTS
    return [r for r in rows if r["detail_type"] in wanted]


def bus_event_of(row: dict[str, Any]) -> dict[str, Any]:
    """An outbox row as EventBridge delivers it to a consumer (a fresh EventBridge id)."""
    event = copy.deepcopy(as_bus_event(row))
    event["id"] = str(uuid.uuid4())
    return event


def put(bus: LocalEventBus, event: dict[str, Any]) -> None:
    """Publish `event` (its detail as is, eventId included) on the local bus."""
    answer = bus.put_events(
        {
            "Entries": [
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "EventBusName": bus.bus_name,
                }
            ]
        }
    )
    assert answer["FailedEntryCount"] == 0, answer
