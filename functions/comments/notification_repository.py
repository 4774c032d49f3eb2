"""SQL of users' notifications. Every function is one statement: one round trip."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inkwell import events
from inkwell.db import Row, Session


def comment_for_notice(s: Session, comment_id: str) -> Row | None:
    """What notifications about a comment say and whom they go to; None once deleted."""
    return s.row(
        "SELECT c.id, c.post_id, c.parent_id, c.author_id, c.post_author_id, c.body,"
        " cm.username AS author_username, p.title AS post_title,"
        " par.author_id AS parent_author_id"
        " FROM comments c JOIN commenters cm ON cm.user_id = c.author_id"
        " JOIN posts p ON p.post_id = c.post_id"
        " LEFT JOIN comments par ON par.id = c.parent_id AND par.deleted_at IS NULL"
        " WHERE c.id = CAST(:id AS uuid) AND c.deleted_at IS NULL",
        id=comment_id,
    )


def insert_notification(
    s: Session,
    *,
    event_id: str,
    recipient_id: str,
    kind: str,
    post_id: str,
    comment_id: str,
    actor_id: str | None,
    subject: str,
    text: str,
    once_per_comment: bool = False,
) -> Row | None:
    """One notification per (event, recipient), announced with notification.created; None
    when this event has notified this recipient already, or, with `once_per_comment`,
    when any event has told them this `kind` of news about this comment (a comment
    approved again after reports is not a new comment)."""
    return s.row(
        events.announcing(
            "INSERT INTO notifications (event_id, recipient_id, kind, post_id, comment_id,"
            " actor_id, subject, text)"
            " SELECT CAST(:event_id AS uuid), CAST(:recipient_id AS uuid), :kind,"
            " CAST(:post_id AS uuid), CAST(:comment_id AS uuid), CAST(:actor_id AS uuid),"
            " :subject, :text"
            " WHERE NOT (CAST(:once AS boolean) AND EXISTS (SELECT 1 FROM notifications"
            "  WHERE comment_id = CAST(:comment_id AS uuid)"
            "  AND recipient_id = CAST(:recipient_id AS uuid) AND kind = :kind))"
            " ON CONFLICT (event_id, recipient_id) DO NOTHING",
            "jsonb_build_object('id', changed.id, 'recipientId', changed.recipient_id,"
            " 'kind', changed.kind, 'subject', changed.subject, 'text', changed.text,"
            " 'postId', changed.post_id, 'commentId', changed.comment_id,"
            f" 'createdAt', {events.iso_utc('changed.created_at')})",
            "id, recipient_id, kind, subject, text, post_id, comment_id, created_at",
        ),
        **events.announce("comments", "notification.created"),
        event_id=event_id,
        recipient_id=recipient_id,
        kind=kind,
        post_id=post_id,
        comment_id=comment_id,
        actor_id=actor_id,
        subject=subject,
        text=text,
        once=once_per_comment,
    )


def list_notifications(
    s: Session, recipient_id: str, *, limit: int, after: tuple[datetime, str] | None
) -> list[Row]:
    """The unread count, then a page of notifications newest first: always at least one
    row, whose notification columns are null when the page is empty."""
    key: tuple[Any, Any] = after or (None, None)
    return s.rows(
        "SELECT unread.unread_count, page.* FROM ("
        " SELECT count(*) AS unread_count FROM notifications"
        " WHERE recipient_id = CAST(:me AS uuid) AND read_at IS NULL) unread"
        " LEFT JOIN LATERAL ("
        " SELECT n.id, n.kind, n.subject, n.text, n.post_id, n.comment_id, n.actor_id,"
        " a.username AS actor_username, n.read_at, n.created_at"
        " FROM notifications n LEFT JOIN commenters a ON a.user_id = n.actor_id"
        " WHERE n.recipient_id = CAST(:me AS uuid)"
        "  AND (CAST(:after_at AS timestamptz) IS NULL OR (n.created_at, n.id)"
        "       < (CAST(:after_at AS timestamptz), CAST(:after_id AS uuid)))"
        " ORDER BY n.created_at DESC, n.id DESC LIMIT :limit"
        ") page ON true",
        me=recipient_id,
        after_at=key[0],
        after_id=key[1],
        limit=limit,
    )


def mark_read(s: Session, recipient_id: str, ids: list[str] | None) -> None:
    """Mark the recipient's notifications `ids` (all when None) read; others' are ignored."""
    s.execute(
        "UPDATE notifications SET read_at = now()"
        " WHERE recipient_id = CAST(:me AS uuid) AND read_at IS NULL"
        " AND (CAST(:ids AS uuid[]) IS NULL OR id = ANY(CAST(:ids AS uuid[])))",
        me=recipient_id,
        ids=ids,
    )
