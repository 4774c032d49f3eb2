"""Consumer: which posts take comments, from content's events.

Every post.* event carries the post's status: a published post is open for comments,
anything else is closed (its comments stop being visible, and none can be added). The row's
version is the event's occurredAt (content writes a post's events in order), so a late,
older event never reopens or closes a post against newer news. A deleted post's comments
are deleted, and the post stays as a tombstone that no late event can reopen. Its author's
notifications about it go with it (their post is gone, by their or an admin's hand); other
people's stay: what they were told (a decision on their comment, a reply to it) is their
record, not the post's, and a deletion by someone else must not empty their inbox.
"""

from __future__ import annotations

from inkwell.consumers import Consumer, ReceivedEvent
from inkwell.db import Session
from inkwell.event_models import PostDeleted, PostPublished, PostUnpublished, PostUpdated

consumer = Consumer("comments-posts", "comments")


@consumer.on(PostPublished, PostUpdated, PostUnpublished)
def changed(
    s: Session, event: ReceivedEvent[PostPublished | PostUpdated | PostUnpublished]
) -> None:
    data = event.data
    s.execute(
        "INSERT INTO posts (post_id, author_id, title, slug, is_open, version)"
        " VALUES (CAST(:id AS uuid), CAST(:author_id AS uuid), :title, :slug, :is_open,"
        "         CAST(:version AS timestamptz))"
        " ON CONFLICT (post_id) DO UPDATE SET title = EXCLUDED.title, slug = EXCLUDED.slug,"
        "  is_open = EXCLUDED.is_open, version = EXCLUDED.version"
        " WHERE posts.version < EXCLUDED.version AND NOT posts.is_deleted",
        id=data.id,
        author_id=data.author_id,
        title=data.title,
        slug=data.slug,
        is_open=data.status == "published",
        version=event.occurred_at,
    )


@consumer.on(PostDeleted)
def deleted(s: Session, event: ReceivedEvent[PostDeleted]) -> None:
    data = event.data
    s.execute(
        "WITH tombstone AS ("
        " INSERT INTO posts (post_id, author_id, title, slug, is_open, is_deleted, version)"
        " VALUES (CAST(:id AS uuid), CAST(:author_id AS uuid), :title, :slug, false, true,"
        "         CAST(:version AS timestamptz))"
        " ON CONFLICT (post_id) DO UPDATE SET is_open = false, is_deleted = true,"
        "  version = GREATEST(posts.version, EXCLUDED.version)),"
        " gone AS (DELETE FROM comments WHERE post_id = CAST(:id AS uuid))"
        " DELETE FROM notifications WHERE post_id = CAST(:id AS uuid)"
        "  AND recipient_id = CAST(:author_id AS uuid)",
        id=data.id,
        author_id=data.author_id,
        title=data.title,
        slug=data.slug,
        version=event.occurred_at,
    )


handler = consumer.handler
