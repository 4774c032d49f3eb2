"""Business rules of the content domain: one function per operation, named as its handler.

Who sees a post: a published post of an active author, anyone; any other post (a draft, a
scheduled post, a post of a deactivated author), only its author and admins. Everyone else
gets 404 for it, as for a post that does not exist. Who changes a post: its author or an
admin; anyone else who can see it gets 403.

"Admin" and "active" are what this domain knows now (the `authors` read model, kept from
the users events: `inkwell.profiles.acting`), not what the caller's token claimed when it
was issued: a deactivated account can do nothing with its token (401), a demoted admin
loses the admin's rights within the event delay. Reads of one's own things (own posts, the
feed) are not privileged and stay one round trip: they are not checked.
"""

from __future__ import annotations

from datetime import UTC, datetime

from content import repository, slugs
from content.models import (
    Author,
    CreatePostRequest,
    Post,
    PostSummary,
    PublishRequest,
    Status,
    TagCount,
    TagList,
    UpdatePostRequest,
)
from inkwell import errors, profiles
from inkwell.db import IntegrityConflict, Row, Session, database
from inkwell.identity import Principal
from inkwell.models import Page
from inkwell.observability import count, logger
from inkwell.pagination import decode_cursor, decode_time_key, encode_cursor, invalid_cursor

db = database("content")

# The plain slug and then suffixed ones: a random 6-character suffix that is taken too is
# as good as impossible, so running out means something else is wrong.
SLUG_ATTEMPTS = 5
# Scheduled posts published per statement by the scheduler (it loops until none is due).
PUBLISH_BATCH = 500


def _author(row: Row) -> Author:
    return Author(
        id=row["author_id"],
        username=row["author_username"],
        first_name=row["author_first_name"],
        last_name=row["author_last_name"],
    )


def _post(row: Row) -> Post:
    return Post.model_validate({**row, "author": _author(row)})


def _summary(row: Row) -> PostSummary:
    return PostSummary.model_validate({**row, "author": _author(row)})


def _acting(s: Session, principal: Principal) -> Principal:
    """The caller with the role and active state this domain knows now (see the module)."""
    return profiles.acting(s, "authors", principal)


def _may_change(row: Row, principal: Principal | None) -> bool:
    return principal is not None and (
        principal.is_admin or principal.user_id == str(row["author_id"])
    )


def _may_see(row: Row, principal: Principal | None) -> bool:
    public = row["status"] == "published" and row["author_is_active"]
    return bool(public) or _may_change(row, principal)


def _find(s: Session, post_id: str, principal: Principal | None) -> Row | None:
    """The post if the caller may see it, else None."""
    row = repository.find_post(s, viewer=principal.user_id if principal else None, post_id=post_id)
    return row if row is not None and _may_see(row, principal) else None


def _writable(post_id: str, principal: Principal) -> Row:
    """The post the caller wants to change: 404 if they cannot see it, 403 if they may not
    change it. Also why a write that found no row found none."""
    with db.reader() as s:
        row = _find(s, post_id, principal)
    if row is None:
        raise errors.not_found("Post")
    if not _may_change(row, principal):
        raise errors.forbidden("You can only change your own posts.")
    return row


def _page(rows: list[Row], limit: int, key: str) -> Page[PostSummary]:
    """The first `limit` of `rows` (one more was fetched, to know whether more follow)."""
    items = [_summary(r) for r in rows[:limit]]
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = encode_cursor(last[key].isoformat(), last["id"]) if last else None
    return Page[PostSummary](items=items, next_cursor=next_cursor)


def _text_filter(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = " ".join(value.split())
    return cleaned or None


# --- writes ----------------------------------------------------------------------------


def create_post(req: CreatePostRequest, principal: Principal) -> Post:
    row = None
    with db.transaction() as s:
        principal = _acting(s, principal)
        # ON CONFLICT DO NOTHING leaves the transaction usable: try the next slug in it.
        for slug in slugs.candidates(req.title, SLUG_ATTEMPTS):
            row = repository.insert_post(
                s,
                author_id=principal.user_id,
                username=principal.username,
                slug=slug,
                title=req.title,
                summary=req.summary,
                body=req.body,
                tags=req.tags,
            )
            if row is not None:
                break
    if row is None:
        raise errors.conflict("No free slug was found for this title; try again.")
    logger.info("post created", extra={"postId": str(row["id"])})
    count("PostCreated")
    return _post(row)


def update_post(post_id: str, req: UpdatePostRequest, principal: Principal) -> Post:
    target = errors.valid_id(post_id, "Post")
    changes = req.model_dump(exclude_unset=True)
    with db.reader() as s:
        principal = _acting(s, principal)
    if not changes:
        return _post(_writable(target, principal))
    candidates: list[str | None] = (
        list(slugs.candidates(changes["title"], SLUG_ATTEMPTS)) if "title" in changes else [None]
    )
    row = None
    for slug in candidates:
        try:
            # A taken slug fails the UPDATE and with it the transaction: one per attempt.
            with db.transaction() as s:
                row = repository.update_post(
                    s,
                    target,
                    changes,
                    caller=principal.user_id,
                    is_admin=principal.is_admin,
                    slug=slug,
                )
            break
        except IntegrityConflict as exc:
            if not (exc.is_unique_violation and exc.constraint == repository.SLUG_CONSTRAINT):
                raise
    else:
        raise errors.conflict("No free slug was found for this title; try again.")
    if row is None:
        _writable(target, principal)  # raises 404 or 403
        raise errors.not_found("Post")  # deleted meanwhile
    return _post(row)


def delete_post(post_id: str, principal: Principal) -> None:
    target = errors.valid_id(post_id, "Post")
    with db.transaction() as s:
        principal = _acting(s, principal)
        row = repository.delete_post(
            s, target, caller=principal.user_id, is_admin=principal.is_admin
        )
    if row is None:
        _writable(target, principal)
        raise errors.not_found("Post")
    logger.info("post deleted", extra={"postId": target})


def publish_post(post_id: str, req: PublishRequest | None, principal: Principal) -> Post:
    target = errors.valid_id(post_id, "Post")
    publish_at = req.publish_at if req is not None else None
    if publish_at is not None and publish_at <= datetime.now(UTC):
        # Publishing "now" for a time already gone would hide a client's mistake (a wrong
        # time zone, a stale form): say so instead.
        raise errors.unprocessable(
            "publishAt is in the past; leave it out to publish now.",
            [errors.FieldProblem("publishAt", "must be in the future")],
        )
    scheduling = publish_at is not None
    with db.transaction() as s:
        principal = _acting(s, principal)
        if scheduling:
            assert publish_at is not None
            row = repository.schedule_post(
                s, target, publish_at, caller=principal.user_id, is_admin=principal.is_admin
            )
        else:
            row = repository.publish_post(
                s, target, caller=principal.user_id, is_admin=principal.is_admin
            )
    if row is None:
        existing = _writable(target, principal)
        if existing["status"] != "published":
            raise errors.not_found("Post")  # changed meanwhile
        if scheduling:
            raise errors.conflict(
                "The post is already published; unpublish it first to schedule it."
            )
        return _post(existing)  # publishing a published post changes nothing
    count("PostScheduled" if scheduling else "PostPublished")
    return _post(row)


def unpublish_post(post_id: str, principal: Principal) -> Post:
    target = errors.valid_id(post_id, "Post")
    with db.transaction() as s:
        principal = _acting(s, principal)
        row = repository.unpublish_post(
            s, target, caller=principal.user_id, is_admin=principal.is_admin
        )
    if row is None:
        existing = _writable(target, principal)
        if existing["status"] != "draft":
            raise errors.not_found("Post")  # changed meanwhile
        return _post(existing)  # a draft already
    return _post(row)


def favorite_post(post_id: str, principal: Principal) -> Post:
    target = errors.valid_id(post_id, "Post")
    with db.reader() as s:
        principal = _acting(s, principal)
        row = repository.favorite_post(s, target, principal.user_id)
        if row is None:
            visible = _find(s, target, principal)
            if visible is not None:
                raise errors.conflict("Only published posts can be favorited.")
    if row is None:
        raise errors.not_found("Post")
    return _post(row)


def unfavorite_post(post_id: str, principal: Principal) -> Post:
    target = errors.valid_id(post_id, "Post")
    with db.reader() as s:
        principal = _acting(s, principal)
        row = repository.unfavorite_post(s, target, principal.user_id, is_admin=principal.is_admin)
    if row is None:
        raise errors.not_found("Post")
    return _post(row)


def publish_scheduled() -> int:
    """Publish every scheduled post whose time has come; how many were published."""
    published = 0
    while True:
        with db.transaction() as s:
            rows = repository.publish_due(s, PUBLISH_BATCH)
        published += len(rows)
        if len(rows) < PUBLISH_BATCH:
            break
    if published:
        logger.info("scheduled posts published", extra={"published": published})
    return published


# --- reads -----------------------------------------------------------------------------


def get_post(id_or_slug: str, principal: Principal | None) -> Post:
    viewer = principal.user_id if principal else None
    with db.reader() as s:
        if principal is not None and principal.is_admin:  # an admin sees drafts: a
            principal = _acting(s, principal)  # privileged read, by the role known now
        if slugs.is_post_id(id_or_slug):
            row = repository.find_post(s, viewer=viewer, post_id=id_or_slug)
        else:
            row = repository.find_post(s, viewer=viewer, slug=id_or_slug)
    if row is None or not _may_see(row, principal):
        raise errors.not_found("Post")
    return _post(row)


def list_posts(
    principal: Principal | None,
    limit: int,
    cursor: str | None,
    *,
    tag: str | None = None,
    author: str | None = None,
    q: str | None = None,
) -> Page[PostSummary]:
    tag = _text_filter(tag)
    criteria = repository.PublishedFilter(
        tag=tag.lower() if tag else None, author=_text_filter(author), q=_text_filter(q)
    )
    with db.reader() as s:
        rows = repository.list_published(
            s,
            criteria,
            viewer=principal.user_id if principal else None,
            limit=limit + 1,
            after=decode_time_key(cursor),
        )
    return _page(rows, limit, "published_at")


def list_my_posts(
    principal: Principal, limit: int, cursor: str | None, status: Status | None = None
) -> Page[PostSummary]:
    with db.reader() as s:
        rows = repository.list_by_author(
            s, principal.user_id, status=status, limit=limit + 1, after=decode_time_key(cursor)
        )
    return _page(rows, limit, "created_at")


def get_feed(principal: Principal, limit: int, cursor: str | None) -> Page[PostSummary]:
    with db.reader() as s:
        rows = repository.list_feed(
            s, principal.user_id, limit=limit + 1, after=decode_time_key(cursor)
        )
    return _page(rows, limit, "published_at")


def list_tags(limit: int, cursor: str | None = None) -> TagList:
    after: tuple[int, str] | None = None
    if cursor is not None:
        count_text, tag = decode_cursor(cursor, 2)
        try:
            after = (int(count_text), tag)
        except ValueError:
            raise invalid_cursor() from None
    with db.reader() as s:
        rows = repository.tag_counts(s, limit + 1, after)
    last = rows[limit - 1] if len(rows) > limit else None
    return TagList(
        items=[TagCount(tag=r["tag"], count=r["count"]) for r in rows[:limit]],
        next_cursor=encode_cursor(last["count"], last["tag"]) if last else None,
    )
