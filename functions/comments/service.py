"""Business rules of the comments domain: one function per operation, named as its handler.

Who sees a comment (on a post open for comments): an approved comment of an active user,
anyone; any comment, its author, moderators, admins and the post's author. Everyone else
gets 404 for it, as for a comment that does not exist. Who changes it: see each operation;
anyone else who can see it gets 403.

"Moderator", "admin" and "active" are what this domain knows now (the `commenters` read
model, kept from the users events: `inkwell.profiles.acting`), not what the caller's token
claimed when it was issued: a deactivated account can do nothing with its token (401), a
demoted moderator loses the moderator's rights within the event delay.

Writes read the comment, decide in Python (the moderation policy lives in
`comments.policy`), then write with that decision's assumptions repeated in the WHERE
clause; a write that finds the comment changed in between answers 409.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from comments import policy, repository
from comments.models import (
    Comment,
    Commenter,
    CreateCommentRequest,
    ModerateRequest,
    QueuedComment,
    ReportRequest,
    UpdateCommentRequest,
)
from inkwell import errors, profiles
from inkwell.db import IntegrityConflict, Row, Session, database
from inkwell.identity import Principal
from inkwell.models import Page
from inkwell.observability import count, logger
from inkwell.pagination import (
    decode_cursor,
    decode_time_key,
    encode_cursor,
    invalid_cursor,
)

db = database("comments")

_STATUS_OF_ACTION = {"approve": "approved", "reject": "rejected", "spam": "spam"}


def _comment(row: Row) -> Comment:
    deleted = row["deleted_at"] is not None
    return Comment(
        id=row["id"],
        post_id=row["post_id"],
        parent_id=row["parent_id"],
        body=None if deleted else row["body"],
        status=row["status"],
        author=None if deleted else Commenter(id=row["author_id"], username=row["author_username"]),
        created_at=row["created_at"],
        edited_at=row["edited_at"],
        reply_count=row["reply_count"],
        deleted=deleted,
    )


def _queued(row: Row) -> QueuedComment:
    return QueuedComment(
        **_comment(row).model_dump(),
        post_title=row["post_title"],
        report_count=row["report_count"],
        queued_at=row["queued_at"],
    )


def _moderates(row: Row, principal: Principal) -> bool:
    return principal.is_moderator or principal.user_id == str(row["post_author_id"])


def _visible(row: Row, principal: Principal) -> Row:
    """The comment if the caller may see it (see the module), else 404."""
    live = row["post_is_open"] and row["deleted_at"] is None
    public = row["status"] == "approved" and row["author_is_active"]
    own = principal.user_id == str(row["author_id"])
    if not (live and (public or own or _moderates(row, principal))):
        raise errors.not_found("Comment")
    return row


def _acting(s: Session, principal: Principal) -> Principal:
    """The caller with the role and active state this domain knows now (see the module)."""
    return profiles.acting(s, "commenters", principal)


def _read(comment_id: str, principal: Principal) -> tuple[Row, Principal]:
    """The comment the caller wants to act on, and the caller as known now."""
    with db.reader() as s:
        principal = _acting(s, principal)
        row = repository.find_comment(s, errors.valid_id(comment_id, "Comment"))
    if row is None:
        raise errors.not_found("Comment")
    return _visible(row, principal), principal


def _changed_meanwhile() -> errors.Problem:
    return errors.conflict("The comment changed while this request ran; read it and retry.")


# --- comments --------------------------------------------------------------------------


def create_comment(post_id: str, req: CreateCommentRequest, principal: Principal) -> Comment:
    target = errors.valid_id(post_id, "Post")
    parent_id = str(req.parent_id) if req.parent_id else None
    with db.transaction() as s:
        principal = _acting(s, principal)
        context = repository.comment_context(
            s, post_id=target, parent_id=parent_id, author_id=principal.user_id
        )
        if not context["is_open"]:
            raise errors.not_found("Post")
        if parent_id is not None:
            _check_parent(context, target, principal)
        author = policy.Author(
            is_staff=principal.is_moderator,
            is_post_author=principal.user_id == str(context["post_author_id"]),
            has_approved_comment=bool(context["has_approved_comment"]),
        )
        held = policy.hold_reason(req.body, author)
        try:
            row = repository.insert_comment(
                s,
                post_id=target,
                parent_id=parent_id,
                author_id=principal.user_id,
                username=principal.username,
                body=req.body,
                status="pending" if held else "approved",
            )
        except IntegrityConflict as exc:
            if exc.constraint != repository.PARENT_CONSTRAINT:
                raise
            raise _not_a_parent() from None  # the parent was deleted while this was written
    if row is None:  # the post closed meanwhile, or the parent of a reply was deleted
        raise errors.not_found("Post") if parent_id is None else _not_a_parent()
    logger.info("comment created", extra={"commentId": str(row["id"]), "heldFor": held})
    count("CommentHeld" if held else "CommentApproved")
    return _comment(row)


def _not_a_parent() -> errors.Problem:
    return errors.unprocessable(
        "parentId must be a visible top-level comment of this post.",
        [errors.FieldProblem("parentId", "not a visible top-level comment of this post")],
    )


def _check_parent(context: Row, post_id: str, principal: Principal) -> None:
    """A reply goes under a live, visible top-level comment of the same post."""
    problem = _not_a_parent()
    if context["parent_id"] is None or str(context["parent_post_id"]) != post_id:
        raise problem
    visible = (
        context["parent_status"] == "approved"
        or (principal.user_id == str(context["parent_author_id"]))
        or principal.is_moderator
    )
    if not visible or context["parent_deleted_at"] is not None:
        raise problem
    if context["parent_parent_id"] is not None:
        raise errors.unprocessable(
            "Replies go one level deep: reply to the top-level comment instead.",
            [errors.FieldProblem("parentId", "is itself a reply")],
        )


def list_comments(
    post_id: str, principal: Principal | None, limit: int, cursor: str | None
) -> Page[Comment]:
    target = errors.valid_id(post_id, "Post")
    after: repository.ThreadKey | None = None
    key = decode_cursor(cursor, 5) if cursor else None
    if key is not None:
        try:
            after = (
                datetime.fromisoformat(key[0]),
                str(uuid.UUID(key[1])),
                key[2] == "True",
                datetime.fromisoformat(key[3]),
                str(uuid.UUID(key[4])),
            )
        except ValueError:
            raise invalid_cursor() from None
    # The repository checks a moderator's token against the read model (a privileged read).
    viewer = repository.Viewer(
        user_id=principal.user_id if principal else None,
        is_moderator=bool(principal and principal.is_moderator),
    )
    with db.reader() as s:
        rows = repository.list_comments(s, target, viewer, limit=limit + 1, after=after)
    if rows is None:
        raise errors.not_found("Post")
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = None
    if last is not None:
        next_cursor = encode_cursor(
            last["thread_at"].isoformat(),
            last["thread_id"],
            last["parent_id"] is not None,
            last["created_at"].isoformat(),
            last["id"],
        )
    return Page[Comment](items=[_comment(r) for r in rows[:limit]], next_cursor=next_cursor)


def update_comment(comment_id: str, req: UpdateCommentRequest, principal: Principal) -> Comment:
    row, principal = _read(comment_id, principal)
    if principal.user_id != str(row["author_id"]):
        raise errors.forbidden("You can only edit your own comments.")
    if row["status"] not in ("pending", "approved"):
        raise errors.conflict(f"A comment marked {row['status']} cannot be edited.")
    window_opened = datetime.now(UTC) - policy.EDIT_WINDOW
    if row["created_at"] <= window_opened:
        minutes = int(policy.EDIT_WINDOW.total_seconds() // 60)
        raise errors.conflict(f"Comments can be edited for {minutes} minutes after posting.")
    author = policy.Author(
        is_staff=principal.is_moderator,
        is_post_author=principal.user_id == str(row["post_author_id"]),
        has_approved_comment=True,
    )
    hold = policy.edit_hold_reason(req.body, author) is not None
    with db.transaction() as s:
        updated = repository.update_comment(
            s,
            str(row["id"]),
            expected_status=row["status"],
            body=req.body,
            hold=hold,
            edited_since=window_opened,
        )
    if updated is None:
        raise _changed_meanwhile()
    return _comment(updated)


def delete_comment(comment_id: str, principal: Principal) -> None:
    row, principal = _read(comment_id, principal)
    if not (principal.user_id == str(row["author_id"]) or _moderates(row, principal)):
        raise errors.forbidden(
            "Only the comment's author, the post's author or a moderator can delete it."
        )
    with db.transaction() as s:
        try:
            deleted = repository.delete_comment(s, str(row["id"]), deleted_by=principal.user_id)
        except IntegrityConflict as exc:
            if exc.constraint != repository.PARENT_CONSTRAINT:
                raise
            raise _changed_meanwhile() from None  # a reply arrived while it was deleted
    if deleted is None:
        raise errors.not_found("Comment")
    logger.info("comment deleted", extra={"commentId": str(row["id"])})


def moderation_queue(principal: Principal, limit: int, cursor: str | None) -> Page[QueuedComment]:
    with db.reader() as s:
        principal = _acting(s, principal)
        rows = repository.moderation_queue(
            s,
            post_author_id=None if principal.is_moderator else principal.user_id,
            limit=limit + 1,
            after=decode_time_key(cursor),
        )
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = encode_cursor(last["queued_at"].isoformat(), last["id"]) if last else None
    return Page[QueuedComment](items=[_queued(r) for r in rows[:limit]], next_cursor=next_cursor)


def moderate_comment(comment_id: str, req: ModerateRequest, principal: Principal) -> Comment:
    row, principal = _read(comment_id, principal)
    if not _moderates(row, principal):
        raise errors.forbidden("Only moderators and the post's author can moderate comments.")
    status = _STATUS_OF_ACTION[req.action]
    if row["status"] == status:
        return _comment(row)  # decided already: nothing to record
    with db.transaction() as s:
        changed = repository.moderate_comment(
            s,
            str(row["id"]),
            expected_status=row["status"],
            status=status,
            action=req.action,
            reason=req.reason,
            moderator_id=principal.user_id,
        )
    if changed is None:
        raise _changed_meanwhile()
    logger.info("comment moderated", extra={"commentId": str(row["id"]), "action": req.action})
    count(f"Comment{status.capitalize()}")
    return _comment(changed)


def report_comment(comment_id: str, req: ReportRequest | None, principal: Principal) -> None:
    row, principal = _read(comment_id, principal)
    if principal.user_id == str(row["author_id"]):
        raise errors.forbidden("You cannot report your own comment.")
    if row["status"] != "approved":
        return  # already waiting for (or decided by) a moderator: nothing to flag
    with db.transaction() as s:
        reported = repository.report_comment(
            s,
            str(row["id"]),
            reporter_id=principal.user_id,
            reason=req.reason if req else None,
            threshold=policy.REPORT_THRESHOLD,
        )
    if reported is not None:
        count("CommentReported")
        if reported["status"] == "pending":
            logger.info("reported comment queued", extra={"commentId": str(row["id"])})
