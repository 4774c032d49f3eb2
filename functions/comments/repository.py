"""SQL of the comments domain. Every function is one statement: one round trip.

A statement that changes a comment announces it in the same statement (a data-modifying
CTE writing the outbox, `inkwell.events`) and returns the comment as the API shows it.
Writes repeat, in their WHERE clause, the state the service decided on (status, not
deleted, post open...), so a comment changed between the service's read and its write is
left alone and the service says so, instead of acting on a stale decision.

What other domains own arrives by events into two read models kept by the consumers
(`comments.read_models`): `posts` (which posts are open for comments) and `commenters`
(names, deactivation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inkwell import events
from inkwell.db import Row, Session

# The public sort of a post's comments: threads oldest first, each top-level comment
# followed by its replies oldest first. A cursor carries the five values.
_THREAD_KEY = "c.thread_at, c.thread_id, (c.parent_id IS NOT NULL), c.created_at, c.id"
ThreadKey = tuple[datetime, str, bool, datetime, str]
# A reply's reference to its parent: fails a reply whose parent was deleted meanwhile, and a
# delete of a comment that got a reply meanwhile (migrations/0001).
PARENT_CONSTRAINT = "comments_parent_id_fkey"
QueueKey = tuple[datetime, str]

# Approved, live replies of a top-level comment by active users: what everyone sees.
_REPLY_COUNT = (
    "CASE WHEN c.parent_id IS NULL THEN (SELECT count(*) FROM comments r"
    " JOIN commenters ra ON ra.user_id = r.author_id"
    " WHERE r.parent_id = c.id AND r.status = 'approved' AND r.deleted_at IS NULL"
    " AND ra.is_active) ELSE 0 END"
)

_AUTHOR = "cm.username AS author_username, cm.is_active AS author_is_active"


def _view(author: str = _AUTHOR) -> str:
    """The select list of a comment as the API shows it, over `c` (comment) and `cm`
    (its author in the commenters read model)."""
    return (
        "c.id, c.post_id, c.parent_id, c.body, c.status, c.author_id, c.created_at,"
        f" c.edited_at, c.deleted_at, c.report_count, c.queued_at, c.thread_at, c.thread_id,"
        f" {author},"
        f" {_REPLY_COUNT} AS reply_count"
    )


_VIEW = _view()

_COLUMNS = (
    "id",
    "post_id",
    "post_author_id",
    "parent_id",
    "author_id",
    "body",
    "status",
    "report_count",
    "created_at",
    "edited_at",
    "queued_at",
    "deleted_at",
    "thread_at",
    "thread_id",
)
# What a write returns of the comment it changed; qualified, for UPDATE ... FROM.
_RETURNING = ", ".join(f"comments.{column}" for column in _COLUMNS)


# Every comment.* event carries what a consumer needs to act on the comment, never its body.
_EVENT_DATA = (
    "jsonb_build_object('id', changed.id, 'postId', changed.post_id,"
    " 'postAuthorId', changed.post_author_id, 'parentId', changed.parent_id,"
    " 'authorId', changed.author_id, 'status', changed.status,"
    f" 'createdAt', {events.iso_utc('changed.created_at')})"
)


def _event(detail_type: str) -> dict[str, Any]:
    return events.announce("comments", detail_type)


def _changing(
    change: str, *, before: str = "", extra_data: str = "", also: str = "", author: str = _AUTHOR
) -> str:
    """`change` (an INSERT/UPDATE of one comment, without RETURNING), its event (data
    `_EVENT_DATA` merged with `extra_data`), CTEs `also` run with it (", name AS (...)"),
    and the comment as the API shows it."""
    data = _EVENT_DATA + (f" || {extra_data}" if extra_data else "")
    return (
        f"WITH {before}changed AS ({change} RETURNING {_RETURNING}){also}"
        + events.emit("changed", data)
        + f" SELECT {_view(author)}{events.JOIN}"
        " FROM changed c LEFT JOIN commenters cm ON cm.user_id = c.author_id" + events.FROM_OUTBOX
    )


# --- reads -----------------------------------------------------------------------------


def comment_context(s: Session, *, post_id: str, parent_id: str | None, author_id: str) -> Row:
    """What creating a comment depends on: the post (None columns when unknown), the parent
    (when replying) and whether the author has had a comment approved."""
    row = s.row(
        "SELECT p.post_id, p.author_id AS post_author_id, p.is_open,"
        " EXISTS (SELECT 1 FROM comments a WHERE a.author_id = CAST(:author_id AS uuid)"
        "         AND a.status = 'approved') AS has_approved_comment,"
        " par.id AS parent_id, par.post_id AS parent_post_id,"
        " par.parent_id AS parent_parent_id, par.status AS parent_status,"
        " par.author_id AS parent_author_id, par.deleted_at AS parent_deleted_at"
        " FROM (SELECT 1) one"
        " LEFT JOIN posts p ON p.post_id = CAST(:post_id AS uuid) AND NOT p.is_deleted"
        " LEFT JOIN comments par ON par.id = CAST(:parent_id AS uuid)",
        post_id=post_id,
        parent_id=parent_id,
        author_id=author_id,
    )
    assert row is not None  # one row always
    return row


def find_comment(s: Session, comment_id: str) -> Row | None:
    """A comment with what authorization needs: its post's author and whether it is open."""
    return s.row(
        f"SELECT {_VIEW}, c.post_author_id, p.is_open AS post_is_open, p.title AS post_title"
        " FROM comments c JOIN commenters cm ON cm.user_id = c.author_id"
        " LEFT JOIN posts p ON p.post_id = c.post_id"
        " WHERE c.id = CAST(:id AS uuid)",
        id=comment_id,
    )


@dataclass(frozen=True)
class Viewer:
    user_id: str | None
    is_moderator: bool


# The viewer whose token says moderator is one by what this domain knows now (see
# inkwell.profiles.acting): evaluated once per statement, not per comment.
_STILL_MODERATOR = (
    "EXISTS (SELECT 1 FROM commenters me WHERE me.user_id = CAST(:viewer AS uuid)"
    " AND me.is_active AND COALESCE(me.role, 'moderator') IN ('moderator', 'admin'))"
)


def list_comments(
    s: Session, post_id: str, viewer: Viewer, *, limit: int, after: ThreadKey | None
) -> list[Row] | None:
    """A page of a post's comments visible to `viewer` in thread order; None when the
    post is not open for comments.

    Everyone sees approved comments of active users and placeholders of deleted ones;
    authors also see their own comments in any status, moderators pending ones of active
    users too (those of deactivated users are hidden, as in the moderation queue).
    """
    # Two statement texts, with and without a cursor: in one text with "cursor IS NULL OR
    # key > cursor", the generic plan PostgreSQL settles on for a prepared statement
    # filters the cursor instead of starting the index scan at it (page N reads 20N rows).
    after_condition = ""
    params: dict[str, object] = {}
    if after is not None:
        after_condition = (
            f" AND ({_THREAD_KEY}) > (CAST(:after_at AS timestamptz),"
            " CAST(:after_thread AS uuid), CAST(:after_reply AS boolean),"
            " CAST(:after_created AS timestamptz), CAST(:after_id AS uuid))"
        )
        params = dict(
            zip(
                ("after_at", "after_thread", "after_reply", "after_created", "after_id"),
                after,
                strict=True,
            )
        )
    rows = s.rows(
        "SELECT post.post_id AS open_post_id, page.* FROM ("
        " SELECT post_id FROM posts WHERE post_id = CAST(:post_id AS uuid) AND is_open"
        ") post LEFT JOIN LATERAL ("
        f" SELECT {_VIEW} FROM comments c JOIN commenters cm ON cm.user_id = c.author_id"
        f" WHERE c.post_id = post.post_id{after_condition}"
        "  AND (c.deleted_at IS NOT NULL"
        "       OR (c.status = 'approved' AND cm.is_active)"
        "       OR c.author_id = CAST(:viewer AS uuid)"
        "       OR (c.status = 'pending' AND cm.is_active AND CAST(:moderator AS boolean)"
        f"           AND {_STILL_MODERATOR}))"
        f" ORDER BY {_THREAD_KEY} LIMIT :limit"
        ") page ON true",
        post_id=post_id,
        viewer=viewer.user_id,
        moderator=viewer.is_moderator,
        limit=limit,
        **params,
    )
    if not rows:
        return None
    return [r for r in rows if r["id"] is not None]


def moderation_queue(
    s: Session, *, post_author_id: str | None, limit: int, after: QueueKey | None
) -> list[Row]:
    """Pending comments on open posts by active users, oldest in the queue first: all of
    them, or those on the posts of `post_author_id`."""
    # One statement text per shape (see list_comments): each keeps its index range, the
    # whole queue's or one post author's.
    conditions = ""
    params: dict[str, object] = {}
    if post_author_id is not None:
        conditions += " AND c.post_author_id = CAST(:post_author AS uuid)"
        params["post_author"] = post_author_id
    if after is not None:
        conditions += (
            " AND (c.queued_at, c.id) > (CAST(:after_at AS timestamptz), CAST(:after_id AS uuid))"
        )
        params.update(after_at=after[0], after_id=after[1])
    return s.rows(
        f"SELECT {_VIEW}, p.title AS post_title"
        " FROM comments c JOIN commenters cm ON cm.user_id = c.author_id"
        " JOIN posts p ON p.post_id = c.post_id"
        " WHERE c.status = 'pending' AND c.deleted_at IS NULL AND p.is_open AND cm.is_active"
        f"{conditions} ORDER BY c.queued_at, c.id LIMIT :limit",
        limit=limit,
        **params,
    )


# --- writes ----------------------------------------------------------------------------


def insert_comment(
    s: Session,
    *,
    post_id: str,
    parent_id: str | None,
    author_id: str,
    username: str,
    body: str,
    status: str,
) -> Row | None:
    """Insert a comment and announce comment.created; None when the post is no longer open
    or the parent is gone (the service checked both a moment before).

    A reply takes its parent's thread key. The commenter's read-model row is created from
    the verified token claims when the users events have not arrived yet (version
    -infinity: any real event overwrites it).
    """
    return s.row(
        _changing(
            "INSERT INTO comments (id, post_id, post_author_id, parent_id, author_id, body,"
            " status, created_at, queued_at, thread_at, thread_id)"
            " SELECT new.id, p.post_id, p.author_id, par.id, CAST(:author_id AS uuid), :body,"
            " :status, new.at, CASE WHEN :status = 'pending' THEN new.at END,"
            " COALESCE(par.thread_at, new.at), COALESCE(par.thread_id, new.id)"
            " FROM new JOIN posts p ON p.post_id = CAST(:post_id AS uuid) AND p.is_open"
            " LEFT JOIN comments par ON par.id = CAST(:parent_id AS uuid)"
            "  AND par.post_id = p.post_id AND par.parent_id IS NULL"
            " WHERE CAST(:parent_id AS uuid) IS NULL OR par.id IS NOT NULL",
            # this statement cannot see its own commenter insert: name from the claims
            author=(
                "COALESCE(cm.username, :username) AS author_username,"
                " COALESCE(cm.is_active, true) AS author_is_active"
            ),
            before=(
                "commenter AS ("
                " INSERT INTO commenters (user_id, username, version)"
                " VALUES (CAST(:author_id AS uuid), :username, '-infinity')"
                " ON CONFLICT (user_id) DO NOTHING),"
                " new AS (SELECT gen_random_uuid() AS id, clock_timestamp() AS at), "
            ),
        ),
        **_event("comment.created"),
        post_id=post_id,
        parent_id=parent_id,
        author_id=author_id,
        username=username,
        body=body,
        status=status,
    )


def update_comment(
    s: Session,
    comment_id: str,
    *,
    expected_status: str,
    body: str,
    hold: bool,
    edited_since: datetime,
) -> Row | None:
    """Replace the body (marking it edited); `hold` sends it back to the queue. None when
    the comment changed since the service read it (deleted, decided on).

    The conditions are the UPDATE's own: a row changed by a transaction this one waited
    for is checked again as it is now (in a CTE they would be checked as it was before).
    """
    return s.row(
        "WITH c AS (UPDATE comments SET body = :body, edited_at = clock_timestamp(),"
        "  status = CASE WHEN :hold THEN 'pending' ELSE status END,"
        "  queued_at = CASE WHEN :hold AND status <> 'pending' THEN clock_timestamp()"
        "                   ELSE queued_at END"
        "  WHERE id = CAST(:id AS uuid) AND deleted_at IS NULL AND status = :expected_status"
        "  AND created_at > CAST(:edited_since AS timestamptz) RETURNING *)"
        f" SELECT {_VIEW} FROM c JOIN commenters cm ON cm.user_id = c.author_id",
        id=comment_id,
        expected_status=expected_status,
        body=body,
        hold=hold,
        edited_since=edited_since,
    )


def delete_comment(s: Session, comment_id: str, *, deleted_by: str) -> Row | None:
    """Delete a comment and announce comment.deleted. One with replies stays as a
    placeholder without body; a placeholder whose last reply goes is deleted too. None
    when the comment was deleted meanwhile."""
    return s.row(
        "WITH target AS ("
        " SELECT id, EXISTS (SELECT 1 FROM comments r WHERE r.parent_id = t.id) AS replied"
        " FROM comments t WHERE id = CAST(:id AS uuid) AND deleted_at IS NULL FOR UPDATE),"
        " kept AS (UPDATE comments SET body = NULL, deleted_at = clock_timestamp()"
        "  FROM target WHERE comments.id = target.id AND target.replied"
        f"  RETURNING {_RETURNING}),"
        " removed AS (DELETE FROM comments USING target"
        "  WHERE comments.id = target.id AND NOT target.replied"
        f"  RETURNING {_RETURNING}),"
        " changed AS (SELECT * FROM kept UNION ALL SELECT * FROM removed),"
        " emptied AS (DELETE FROM comments p USING removed WHERE p.id = removed.parent_id"
        "  AND p.deleted_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM comments r"
        "   WHERE r.parent_id = p.id AND r.id <> removed.id))"
        + events.emit(
            "changed",
            _EVENT_DATA + " || jsonb_build_object('deletedBy', CAST(:deleted_by AS text))",
        )
        + f" SELECT changed.id{events.JOIN} FROM changed"
        + events.FROM_OUTBOX,
        **_event("comment.deleted"),
        id=comment_id,
        deleted_by=deleted_by,
    )


def moderate_comment(
    s: Session,
    comment_id: str,
    *,
    expected_status: str,
    status: str,
    action: str,
    reason: str | None,
    moderator_id: str,
) -> Row | None:
    """Record a decision and set the status it leads to; announce comment.approved or
    comment.rejected. Approving clears the reports counted so far. None when the comment
    is no longer in `expected_status`."""
    return s.row(
        _changing(
            "UPDATE comments SET status = :status, queued_at = NULL,"
            " report_count = CASE WHEN :status = 'approved' THEN 0 ELSE report_count END"
            " WHERE id = CAST(:id AS uuid) AND status = :expected_status"
            " AND deleted_at IS NULL",
            also=(
                ", decision AS (INSERT INTO moderation_decisions"
                " (comment_id, moderator_id, action, reason)"
                " SELECT changed.id, CAST(:moderator_id AS uuid), :action, :reason"
                " FROM changed)"
            ),
            extra_data=(
                "jsonb_build_object('action', CAST(:action AS text),"
                " 'reason', CAST(:reason AS text),"
                " 'moderatorId', CAST(:moderator_id AS text))"
            ),
        ),
        **_event("comment.approved" if status == "approved" else "comment.rejected"),
        id=comment_id,
        expected_status=expected_status,
        status=status,
        action=action,
        reason=reason,
        moderator_id=moderator_id,
    )


def report_comment(
    s: Session, comment_id: str, *, reporter_id: str, reason: str | None, threshold: int
) -> Row | None:
    """Record a reader's report and announce comment.reported; the report that reaches
    `threshold` sends an approved comment back to the queue. None when this reader had
    reported it already (nothing changes) or it is no longer approved."""
    return s.row(
        _changing(
            "UPDATE comments SET report_count = report_count + 1,"
            " status = CASE WHEN report_count + 1 >= :threshold THEN 'pending'"
            "               ELSE status END,"
            " queued_at = CASE WHEN report_count + 1 >= :threshold THEN clock_timestamp()"
            "                  ELSE queued_at END"
            " FROM report WHERE comments.id = report.comment_id",
            # FOR UPDATE: a comment decided on or deleted while this waited for it is
            # checked again as it is now, and neither reported nor sent back to the queue.
            before=(
                "report AS (INSERT INTO comment_reports (comment_id, reporter_id, reason)"
                " SELECT id, CAST(:reporter_id AS uuid), :reason FROM comments"
                " WHERE id = CAST(:id AS uuid) AND status = 'approved'"
                " AND deleted_at IS NULL FOR UPDATE"
                " ON CONFLICT DO NOTHING RETURNING comment_id), "
            ),
            extra_data="jsonb_build_object('reportCount', changed.report_count)",
        ),
        **_event("comment.reported"),
        id=comment_id,
        reporter_id=reporter_id,
        reason=reason,
        threshold=threshold,
    )
