"""SQL of the content domain. Every function is one statement: one round trip.

A statement that changes a post announces it in the same statement (a data-modifying CTE
writing the outbox, `inkwell.events`), and keeps `published_tags` (one row per tag of a
published post) in step with the post in that statement too. Reads join the `authors` read
model for the display fields and compute `favorited` for the caller in the same query: a
page costs one round trip whatever its size.

Authorization that depends on the row (author or admin) is part of the WHERE clause of the
write, so nothing can change between a check and the write; when a write finds no row the
service reads the post once more to say 403 or 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inkwell import events
from inkwell.db import Row, Session

SLUG_CONSTRAINT = "posts_slug_key"

# What a write returns of the post it changed (`changed` in the statements below).
_RETURNING = (
    "id, slug, title, summary, body, tags, status, author_id, publish_at, published_at,"
    " slug_locked, created_at, updated_at, favorites_count"
)


# Every post.* event carries what other domains need to know of the post.
EVENT_DATA = (
    "jsonb_build_object('id', changed.id, 'slug', changed.slug, 'title', changed.title,"
    " 'authorId', changed.author_id, 'status', changed.status,"
    f" 'publishedAt', {events.iso_utc('changed.published_at')})"
)

# A scalar subquery with LIMIT, not EXISTS: PostgreSQL may turn an EXISTS into a hashed
# subplan that reads every favorite of the viewer on each page; this one stays one primary
# key probe per post shown.
_FAVORITED = (
    "COALESCE((SELECT true FROM favorites f"
    " WHERE f.post_id = p.id AND f.user_id = CAST(:viewer AS uuid) LIMIT 1), false)"
)


def _view(
    *, body: bool = True, favorited: str = _FAVORITED, favorites_count: str = "p.favorites_count"
) -> str:
    """The select list of a post as the API shows it, over `p` (post) and `a` (author)."""
    return (
        "p.id, p.slug, p.title, p.summary, "
        + ("p.body, " if body else "")
        + "p.tags, p.status, p.author_id, p.publish_at, p.published_at, p.created_at,"
        f" p.updated_at, {favorites_count} AS favorites_count, {favorited} AS favorited,"
        " a.username AS author_username, a.first_name AS author_first_name,"
        " a.last_name AS author_last_name, a.is_active AS author_is_active"
    )


# Keeps published_tags equal to the tags of `changed` while it is published, nothing else.
# Rows whose key stays are left alone, so the DELETE and the INSERT never touch one key.
_SYNC_TAGS = (
    ", tags_removed AS ("
    " DELETE FROM published_tags t USING changed WHERE t.post_id = changed.id"
    "  AND (changed.status <> 'published' OR t.published_at <> changed.published_at"
    "       OR NOT t.tag = ANY(changed.tags)))"
    ", tags_added AS ("
    " INSERT INTO published_tags (tag, published_at, post_id, author_id)"
    " SELECT DISTINCT tag, changed.published_at, changed.id, changed.author_id"
    " FROM changed, unnest(changed.tags) AS tag WHERE changed.status = 'published'"
    " ON CONFLICT DO NOTHING)"
)

_CAN_WRITE = "(author_id = CAST(:caller AS uuid) OR CAST(:is_admin AS boolean))"


def _event(detail_type: str) -> dict[str, Any]:
    return events.announce("content", detail_type)


def _changing_post(change: str, *, sync_tags: bool = False, before: str = "") -> str:
    """`change` (an INSERT/UPDATE of one post, without RETURNING), its event, and the post
    as the API shows it. Binds :viewer (and the event's parameters)."""
    return (
        f"WITH {before}changed AS ({change} RETURNING {_RETURNING})"
        + (_SYNC_TAGS if sync_tags else "")
        + events.emit("changed", EVENT_DATA)
        + f" SELECT {_view()}{events.JOIN}"
        " FROM changed p JOIN authors a ON a.user_id = p.author_id" + events.FROM_OUTBOX
    )


# --- writes ----------------------------------------------------------------------------


def insert_post(
    s: Session,
    *,
    author_id: str,
    username: str,
    slug: str,
    title: str,
    summary: str,
    body: str,
    tags: Sequence[str],
) -> Row | None:
    """Insert a draft and announce post.created; None when `slug` is taken (the unique index
    decides, so concurrent writers of one title cannot both get it).

    The author's read-model row is created from the caller's verified claims when the
    users events have not reached content yet; its version is -infinity, so any real event
    overwrites it.
    """
    return s.row(
        "WITH author_insert AS ("
        "  INSERT INTO authors (user_id, username, version)"
        "  VALUES (CAST(:author_id AS uuid), :username, '-infinity')"
        "  ON CONFLICT (user_id) DO NOTHING"
        "  RETURNING user_id, username, first_name, last_name, is_active"
        "), author AS ("  # this statement cannot see its own insert: take it from RETURNING
        "  SELECT * FROM ("
        "   SELECT 1 AS pick, user_id, username, first_name, last_name, is_active"
        "   FROM author_insert"
        "   UNION ALL SELECT 2, user_id, username, first_name, last_name, is_active"
        "   FROM authors WHERE user_id = CAST(:author_id AS uuid)"
        "   UNION ALL SELECT 3, CAST(:author_id AS uuid), CAST(:username AS text),"
        "   NULL, NULL, true"  # a concurrent first post of the same author inserted it
        "  ) found ORDER BY pick LIMIT 1"
        "), changed AS ("
        "  INSERT INTO posts (slug, title, summary, body, tags, author_id)"
        "  VALUES (:slug, :title, :summary, :body, CAST(:tags AS text[]),"
        "          CAST(:author_id AS uuid))"
        f"  ON CONFLICT (slug) DO NOTHING RETURNING {_RETURNING})"
        + events.emit("changed", EVENT_DATA)
        + f" SELECT {_view(favorited='false')}{events.JOIN}"
        " FROM changed p CROSS JOIN author a" + events.FROM_OUTBOX,
        **_event("post.created"),
        author_id=author_id,
        username=username,
        slug=slug,
        title=title,
        summary=summary,
        body=body,
        tags=list(tags),
    )


# Columns a PATCH may set: the SET clause is built only from these names.
UPDATABLE_COLUMNS = ("title", "summary", "body", "tags")


def update_post(
    s: Session,
    post_id: str,
    changes: dict[str, Any],
    *,
    caller: str,
    is_admin: bool,
    slug: str | None,
) -> Row | None:
    """Apply `changes` if the caller may; announce post.updated. A new title re-slugs the
    post to `slug` unless its slug is locked (it has been published) or the title is the
    same. None when the post is missing or not the caller's to change."""
    unknown = set(changes) - set(UPDATABLE_COLUMNS)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    assignments = [
        f"{column} = CAST(:{column} AS text[])" if column == "tags" else f"{column} = :{column}"
        for column in changes
    ]
    if "title" in changes and slug is not None:
        assignments.append(
            "slug = CASE WHEN slug_locked OR title = :title THEN slug ELSE :slug END"
        )
    params = dict(changes)
    if "tags" in params:
        params["tags"] = list(params["tags"])
    if "title" in changes and slug is not None:
        params["slug"] = slug
    return s.row(
        _changing_post(
            f"UPDATE posts SET {', '.join(assignments)}, updated_at = now()"
            f" WHERE id = CAST(:id AS uuid) AND {_CAN_WRITE}",
            sync_tags=True,
        ),
        **_event("post.updated"),
        **params,
        id=post_id,
        caller=caller,
        is_admin=is_admin,
        viewer=caller,
    )


def delete_post(s: Session, post_id: str, *, caller: str, is_admin: bool) -> Row | None:
    """Delete (tags and favorites go with it) and announce post.deleted; None when the post
    is missing or not the caller's to delete."""
    return s.row(
        events.announcing(
            f"DELETE FROM posts WHERE id = CAST(:id AS uuid) AND {_CAN_WRITE}",
            EVENT_DATA,
            "id, slug, title, author_id, status, published_at",
        ),
        **_event("post.deleted"),
        id=post_id,
        caller=caller,
        is_admin=is_admin,
    )


def publish_post(s: Session, post_id: str, *, caller: str, is_admin: bool) -> Row | None:
    """Publish now (a draft or a scheduled post) and announce post.published; the slug is
    locked from now on. None when the post is missing, not the caller's, or published."""
    return s.row(
        _changing_post(
            "UPDATE posts SET status = 'published', published_at = now(), publish_at = NULL,"
            " slug_locked = true, updated_at = now()"
            f" WHERE id = CAST(:id AS uuid) AND {_CAN_WRITE} AND status <> 'published'",
            sync_tags=True,
        ),
        **_event("post.published"),
        id=post_id,
        caller=caller,
        is_admin=is_admin,
        viewer=caller,
    )


def schedule_post(
    s: Session, post_id: str, publish_at: datetime, *, caller: str, is_admin: bool
) -> Row | None:
    """Schedule a draft (or reschedule) for `publish_at`; announce post.updated. None when
    the post is missing, not the caller's, or already published."""
    return s.row(
        _changing_post(
            "UPDATE posts SET status = 'scheduled', publish_at = CAST(:publish_at AS timestamptz),"
            " updated_at = now()"
            f" WHERE id = CAST(:id AS uuid) AND {_CAN_WRITE} AND status <> 'published'",
        ),
        **_event("post.updated"),
        id=post_id,
        publish_at=publish_at,
        caller=caller,
        is_admin=is_admin,
        viewer=caller,
    )


def unpublish_post(s: Session, post_id: str, *, caller: str, is_admin: bool) -> Row | None:
    """Back to draft (from published, or cancelling a schedule); announce post.unpublished.
    None when the post is missing, not the caller's, or a draft already."""
    return s.row(
        _changing_post(
            "UPDATE posts SET status = 'draft', published_at = NULL, publish_at = NULL,"
            " updated_at = now()"
            f" WHERE id = CAST(:id AS uuid) AND {_CAN_WRITE} AND status <> 'draft'",
            sync_tags=True,
        ),
        **_event("post.unpublished"),
        id=post_id,
        caller=caller,
        is_admin=is_admin,
        viewer=caller,
    )


def publish_due(s: Session, batch: int) -> list[Row]:
    """Publish up to `batch` scheduled posts whose time has come, one post.published event
    each, in one statement. Rows another publisher holds are skipped, not waited for."""
    return s.rows(
        "WITH due AS ("
        "  SELECT id FROM posts WHERE status = 'scheduled' AND publish_at <= now()"
        "  ORDER BY publish_at, id LIMIT :batch FOR UPDATE SKIP LOCKED"
        "), changed AS ("
        "  UPDATE posts p SET status = 'published', published_at = now(), publish_at = NULL,"
        "   slug_locked = true, updated_at = now()"
        "  FROM due WHERE p.id = due.id AND p.status = 'scheduled'"
        "  RETURNING p.id, p.slug, p.title, p.tags, p.status, p.author_id, p.published_at)"
        + _SYNC_TAGS
        + events.emit("changed", EVENT_DATA)
        + " SELECT changed.id"
        + events.JOIN
        + " FROM changed"
        " JOIN outbox_insert ON outbox_insert.detail -> 'data' ->> 'id' = CAST(changed.id AS text)",
        **_event("post.published"),
        batch=batch,
    )


def favorite_post(s: Session, post_id: str, user_id: str) -> Row | None:
    """Favorite a published post of an active author (idempotent); the post, counted. None
    when there is no such post."""
    return s.row(
        "WITH target AS ("
        "  SELECT p.id FROM posts p JOIN authors a ON a.user_id = p.author_id"
        "  WHERE p.id = CAST(:id AS uuid) AND p.status = 'published' AND a.is_active"
        "), added AS ("
        "  INSERT INTO favorites (user_id, post_id) SELECT CAST(:viewer AS uuid), id FROM target"
        "  ON CONFLICT DO NOTHING RETURNING post_id"
        "), counted AS ("
        "  UPDATE posts SET favorites_count = favorites_count + 1"
        "  WHERE id IN (SELECT post_id FROM added) RETURNING id, favorites_count)"
        f" SELECT {_view(favorited='true', favorites_count='COALESCE(c.favorites_count, p.favorites_count)')}"  # noqa: E501
        " FROM target JOIN posts p ON p.id = target.id JOIN authors a ON a.user_id = p.author_id"
        " LEFT JOIN counted c ON c.id = p.id",
        id=post_id,
        viewer=user_id,
    )


def unfavorite_post(s: Session, post_id: str, user_id: str, *, is_admin: bool) -> Row | None:
    """Remove the caller's favorite of a post they can see (idempotent); the post, counted.
    None when there is no such post."""
    return s.row(
        "WITH target AS ("
        "  SELECT p.id FROM posts p JOIN authors a ON a.user_id = p.author_id"
        "  WHERE p.id = CAST(:id AS uuid) AND ((p.status = 'published' AND a.is_active)"
        "   OR p.author_id = CAST(:viewer AS uuid) OR CAST(:is_admin AS boolean))"
        "), removed AS ("
        "  DELETE FROM favorites WHERE user_id = CAST(:viewer AS uuid)"
        "  AND post_id IN (SELECT id FROM target) RETURNING post_id"
        "), counted AS ("
        "  UPDATE posts SET favorites_count = favorites_count - 1"
        "  WHERE id IN (SELECT post_id FROM removed) RETURNING id, favorites_count)"
        f" SELECT {_view(favorited='false', favorites_count='COALESCE(c.favorites_count, p.favorites_count)')}"  # noqa: E501
        " FROM target JOIN posts p ON p.id = target.id JOIN authors a ON a.user_id = p.author_id"
        " LEFT JOIN counted c ON c.id = p.id",
        id=post_id,
        viewer=user_id,
        is_admin=is_admin,
    )


# --- reads -----------------------------------------------------------------------------


def find_post(
    s: Session, *, viewer: str | None, post_id: str | None = None, slug: str | None = None
) -> Row | None:
    """A post by id or by slug, in any status, with its author; visibility is the caller's."""
    where = "p.id = CAST(:key AS uuid)" if post_id is not None else "p.slug = :key"
    return s.row(
        f"SELECT {_view()} FROM posts p JOIN authors a ON a.user_id = p.author_id WHERE {where}",
        key=post_id if post_id is not None else slug,
        viewer=viewer,
    )


@dataclass(frozen=True)
class PublishedFilter:
    tag: str | None = None
    author: str | None = None  # a username
    q: str | None = None  # websearch syntax over title and body


Keyset = tuple[datetime, str]  # the sort key of the last item of the previous page


def list_published(
    s: Session, f: PublishedFilter, *, viewer: str | None, limit: int, after: Keyset | None
) -> list[Row]:
    """Published posts of active authors, newest first, after the keyset `after`.

    With a tag the page is a range of the published_tags primary key (tag, published_at,
    post_id) read backwards; otherwise of posts_published (published_at, id), or of
    posts_published_by_author (author_id, published_at, id) for one author. Either way the
    index gives the order: no sort, and page 1000 costs what page 1 costs.
    """
    author_id = "(SELECT user_id FROM authors WHERE lower(username) = lower(:author) LIMIT 1)"
    conditions = ["p.status = 'published'"]
    if f.tag is not None:
        source = "published_tags k JOIN posts p ON p.id = k.post_id"
        key = ("k.published_at", "k.post_id")
        conditions.append("k.tag = :tag")
        if f.author is not None:
            conditions.append(f"k.author_id = {author_id}")
    else:
        source = "posts p"
        key = ("p.published_at", "p.id")
        if f.author is not None:
            conditions.append(f"p.author_id = {author_id}")
    if f.q is not None:
        conditions.append("p.search @@ websearch_to_tsquery('simple', :q)")
    if after is not None:
        conditions.append(
            f"({key[0]}, {key[1]}) < (CAST(:after_at AS timestamptz), CAST(:after_id AS uuid))"
        )
    params: dict[str, Any] = {"viewer": viewer, "limit": limit}
    params.update(
        {k: v for k, v in (("tag", f.tag), ("author", f.author), ("q", f.q)) if v is not None}
    )
    if after is not None:
        params.update(after_at=after[0], after_id=after[1])
    return s.rows(
        f"SELECT {_view(body=False)} FROM {source}"
        " JOIN authors a ON a.user_id = p.author_id AND a.is_active"
        f" WHERE {' AND '.join(conditions)}"
        f" ORDER BY {key[0]} DESC, {key[1]} DESC LIMIT :limit",
        **params,
    )


def list_feed(s: Session, follower: str, *, limit: int, after: Keyset | None) -> list[Row]:
    """Published posts of the active authors `follower` follows, newest first.

    Each followed author contributes at most `limit` posts after the keyset, read in order
    from posts_published_by_author; only those are merged: a page costs at most
    (authors followed x limit) index entries, whatever its depth.
    """
    keyset = (
        " AND (p.published_at, p.id) < (CAST(:after_at AS timestamptz), CAST(:after_id AS uuid))"
        if after is not None
        else ""
    )
    params: dict[str, Any] = {"viewer": follower, "limit": limit}
    if after is not None:
        params.update(after_at=after[0], after_id=after[1])
    return s.rows(
        f"SELECT {_view(body=False)} FROM follows fo"
        " JOIN authors a ON a.user_id = fo.author_id AND a.is_active"
        " CROSS JOIN LATERAL ("
        "  SELECT p.id, p.slug, p.title, p.summary, p.tags, p.status, p.author_id,"
        "   p.publish_at, p.published_at, p.created_at, p.updated_at, p.favorites_count"
        "  FROM posts p WHERE p.author_id = fo.author_id AND p.status = 'published'"
        f" {keyset} ORDER BY p.published_at DESC, p.id DESC LIMIT :limit) p"
        " WHERE fo.follower_id = CAST(:viewer AS uuid) AND fo.following"
        " ORDER BY p.published_at DESC, p.id DESC LIMIT :limit",
        **params,
    )


def list_by_author(
    s: Session, author_id: str, *, status: str | None, limit: int, after: Keyset | None
) -> list[Row]:
    """An author's own posts in every status (or one), newest created first."""
    conditions = ["p.author_id = CAST(:viewer AS uuid)"]
    params: dict[str, Any] = {"viewer": author_id, "limit": limit}
    if status is not None:
        conditions.append("p.status = :status")
        params["status"] = status
    if after is not None:
        conditions.append(
            "(p.created_at, p.id) < (CAST(:after_at AS timestamptz), CAST(:after_id AS uuid))"
        )
        params.update(after_at=after[0], after_id=after[1])
    return s.rows(
        f"SELECT {_view(body=False)} FROM posts p JOIN authors a ON a.user_id = p.author_id"
        f" WHERE {' AND '.join(conditions)}"
        " ORDER BY p.created_at DESC, p.id DESC LIMIT :limit",
        **params,
    )


def tag_counts(s: Session, limit: int, after: tuple[int, str] | None = None) -> list[Row]:
    """Tags of published posts of active authors with how many use each, most used first
    (then by name), after the keyset `after` (count, tag).

    The counts change as posts are published, so every page counts afresh: a page costs
    the count of every tag, whatever its position (the number of distinct tags is small
    next to the number of posts; the counting is an index-only scan)."""
    if after is None:
        return s.rows(
            "SELECT k.tag, count(*) AS count FROM published_tags k"
            " JOIN authors a ON a.user_id = k.author_id AND a.is_active"
            " GROUP BY k.tag ORDER BY count(*) DESC, k.tag LIMIT :limit",
            limit=limit,
        )
    return s.rows(
        "SELECT k.tag, count(*) AS count FROM published_tags k"
        " JOIN authors a ON a.user_id = k.author_id AND a.is_active"
        " GROUP BY k.tag"
        " HAVING count(*) < :count OR (count(*) = :count AND k.tag > :tag)"
        " ORDER BY count(*) DESC, k.tag LIMIT :limit",
        count=after[0],
        tag=after[1],
        limit=limit,
    )
