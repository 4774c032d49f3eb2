"""Request and response bodies of the comments API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from inkwell.models import RequestModel, ResponseModel

Status = Literal["pending", "approved", "rejected", "spam"]
Action = Literal["approve", "reject", "spam"]
NotificationKind = Literal["comment", "reply", "approved", "rejected", "pending"]

MAX_BODY = 5000
MAX_REASON = 500
MAX_IDS = 100

Body = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_BODY),
    Field(description=f"1-{MAX_BODY} characters."),
]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON),
    Field(description=f"1-{MAX_REASON} characters."),
]


class CreateCommentRequest(RequestModel):
    body: Body
    parent_id: UUID | None = Field(
        default=None, description="Reply to this top-level comment of the same post."
    )


class UpdateCommentRequest(RequestModel):
    body: Body


class ModerateRequest(RequestModel):
    action: Action
    reason: Reason | None = None


class ReportRequest(RequestModel):
    reason: Reason | None = None


class MarkReadRequest(RequestModel):
    ids: list[UUID] | None = Field(
        default=None,
        max_length=MAX_IDS,
        description=f"Up to {MAX_IDS} notification ids; absent: all of the caller's.",
    )


class Commenter(ResponseModel):
    id: UUID
    username: str


class Comment(ResponseModel):
    id: UUID
    post_id: UUID
    parent_id: UUID | None
    body: str | None = Field(description="null for a deleted comment kept for its replies.")
    status: Status
    author: Commenter | None = Field(description="null for a deleted comment.")
    created_at: datetime
    edited_at: datetime | None
    reply_count: int
    deleted: bool = False


class QueuedComment(Comment):
    """A comment in the moderation queue, with what a moderator needs to decide."""

    post_title: str
    report_count: int
    queued_at: datetime


class Actor(ResponseModel):
    id: UUID
    username: str


class Notification(ResponseModel):
    id: UUID
    kind: NotificationKind
    subject: str
    text: str
    post_id: UUID
    comment_id: UUID
    actor: Actor | None
    read: bool
    created_at: datetime


class NotificationPage(ResponseModel):
    items: list[Notification]
    next_cursor: str | None
    unread_count: int
