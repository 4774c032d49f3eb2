"""Users' notifications, read and marked by their owner (written by comments.consumers.notify)."""

from __future__ import annotations

from comments import notification_repository as repository
from comments.models import Actor, MarkReadRequest, Notification, NotificationPage
from inkwell import profiles
from inkwell.db import Row, database
from inkwell.identity import Principal
from inkwell.pagination import decode_time_key, encode_cursor

db = database("comments")


def list_notifications(principal: Principal, limit: int, cursor: str | None) -> NotificationPage:
    with db.reader() as s:
        rows = repository.list_notifications(
            s, principal.user_id, limit=limit + 1, after=decode_time_key(cursor)
        )
    unread = int(rows[0]["unread_count"])
    found = [r for r in rows if r["id"] is not None]
    last = found[limit - 1] if len(found) > limit else None
    return NotificationPage(
        items=[_notification(r) for r in found[:limit]],
        next_cursor=encode_cursor(last["created_at"].isoformat(), last["id"]) if last else None,
        unread_count=unread,
    )


def _notification(row: Row) -> Notification:
    actor = None
    if row["actor_id"] is not None and row["actor_username"] is not None:
        actor = Actor(id=row["actor_id"], username=row["actor_username"])
    return Notification(
        id=row["id"],
        kind=row["kind"],
        subject=row["subject"],
        text=row["text"],
        post_id=row["post_id"],
        comment_id=row["comment_id"],
        actor=actor,
        read=row["read_at"] is not None,
        created_at=row["created_at"],
    )


def mark_notifications_read(req: MarkReadRequest | None, principal: Principal) -> None:
    ids = [str(i) for i in req.ids] if req is not None and req.ids is not None else None
    with db.reader() as s:
        profiles.acting(s, "commenters", principal)  # a write: 401 once deactivated
        repository.mark_read(s, principal.user_id, ids)
