"""One model per event type: the ``data`` of each Inkwell event, as its consumers read it.

The publishing domain writes the data in SQL (inkwell.events); every consumer receives it
parsed into the model of its type (``event.data.follower_id``), in whichever domain it
lives: this module is in the shared layer so that no consumer imports another domain's
code. The JSON schemas under ``events/schemas/`` are generated from these models
(``make schemas``); a test fails when they drift, and another checks that every event the
domains emit validates against its model.

Fields are required even when nullable (a null says "none", a missing field is a bug);
timestamps stay the ISO 8601 UTC text the events carry; unknown fields are refused.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Id = Annotated[str, Field(pattern=r"^[0-9a-f-]{36}$")]
Timestamp = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")]
Username = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{3,50}$")]
Name = Annotated[str, Field(max_length=50)]
Bio = Annotated[str, Field(max_length=1000)]
Role = Literal["user", "moderator", "admin"]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]
Title = Annotated[str, Field(min_length=1, max_length=200)]
PostStatus = Literal["draft", "scheduled", "published"]
CommentStatus = Literal["pending", "approved", "rejected", "spam"]
ModerationAction = Literal["approve", "reject", "spam"]
Reason = Annotated[str, Field(max_length=500)]


class EventData(BaseModel):
    """The data of one event type (``TYPE``), camelCase on the wire."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        alias_generator=to_camel,
        populate_by_name=True,
        # Build a model's validator when it first validates, not at import: a consumer
        # pays only for the few types it takes (docs/decisions/typed-events.md).
        defer_build=True,
    )
    TYPE: ClassVar[str]


# --- users ---------------------------------------------------------------------------


class UserRegistered(EventData):
    """A user registered. Public profile fields only: no email."""

    TYPE = "user.registered"
    id: Id
    username: Username
    first_name: Name | None
    last_name: Name | None
    bio: Bio
    role: Role
    created_at: Timestamp


class UserUpdated(EventData):
    """A user's public profile (names, bio) changed; the full public profile after the
    change. updatedAt orders updates of one user: apply one only if it is newer than what
    you have."""

    TYPE = "user.updated"
    id: Id
    username: Username
    first_name: Name | None
    last_name: Name | None
    bio: Bio
    updated_at: Timestamp


class UserRoleChanged(EventData):
    """An admin changed a user's role."""

    TYPE = "user.role_changed"
    id: Id
    username: Username
    role: Role
    updated_at: Timestamp


class UserDeactivated(EventData):
    """A user's account was deactivated: it can no longer sign in; other domains hide what
    it wrote."""

    TYPE = "user.deactivated"
    id: Id
    username: Username
    updated_at: Timestamp


class UserFollowed(EventData):
    """A user started following another user (the followee). Published only when the
    follow is new: following again changes nothing and announces nothing. Consumers order a
    pair's follow and unfollow events by the envelope's occurredAt."""

    TYPE = "user.followed"
    follower_id: Id
    followee_id: Id


class UserUnfollowed(EventData):
    """A user stopped following another user (the followee). Published only when there was
    a follow to remove. Consumers order a pair's follow and unfollow events by the
    envelope's occurredAt."""

    TYPE = "user.unfollowed"
    follower_id: Id
    followee_id: Id


# --- content -------------------------------------------------------------------------


class PostCreated(EventData):
    """A post was written: a new draft. Only its author (and admins) can see it until it
    is published. Carries what other domains need of a post, never its body."""

    TYPE = "post.created"
    id: Id
    slug: Slug
    title: Title
    author_id: Id
    status: Literal["draft"]
    published_at: None


class PostUpdated(EventData):
    """A post's title, summary, body or tags changed, or it was scheduled for publication
    (status scheduled). Its slug may have changed only while it had never been published.
    Carries what other domains need of a post, never its body."""

    TYPE = "post.updated"
    id: Id
    slug: Slug
    title: Title
    author_id: Id
    status: PostStatus
    published_at: Timestamp | None


class PostPublished(EventData):
    """A post was published (through the API, or by the scheduler at its publishAt): it is
    public from now on. Its slug never changes again. Carries what other domains need of a
    post, never its body."""

    TYPE = "post.published"
    id: Id
    slug: Slug
    title: Title
    author_id: Id
    status: Literal["published"]
    published_at: Timestamp


class PostUnpublished(EventData):
    """A published or scheduled post went back to draft: it is no longer public. Carries
    what other domains need of a post, never its body."""

    TYPE = "post.unpublished"
    id: Id
    slug: Slug
    title: Title
    author_id: Id
    status: Literal["draft"]
    published_at: None


class PostDeleted(EventData):
    """A post was deleted, with everything attached to it. status and publishedAt are as
    they were just before. Carries what other domains need of a post, never its body."""

    TYPE = "post.deleted"
    id: Id
    slug: Slug
    title: Title
    author_id: Id
    status: PostStatus
    published_at: Timestamp | None


# --- comments ------------------------------------------------------------------------


class CommentCreated(EventData):
    """A comment was written. status says whether it is visible now (approved) or waits
    for a moderator (pending). Carries what other domains need of a comment, never its
    body."""

    TYPE = "comment.created"
    id: Id
    post_id: Id
    post_author_id: Id
    parent_id: Id | None
    author_id: Id
    status: CommentStatus
    created_at: Timestamp


class CommentApproved(EventData):
    """A moderator approved a comment (it is visible from now on), with who decided and
    why."""

    TYPE = "comment.approved"
    id: Id
    post_id: Id
    post_author_id: Id
    parent_id: Id | None
    author_id: Id
    status: Literal["approved"]
    created_at: Timestamp
    action: ModerationAction
    reason: Reason | None
    moderator_id: Id


class CommentRejected(EventData):
    """A moderator rejected a comment or marked it as spam (action), with who decided and
    why."""

    TYPE = "comment.rejected"
    id: Id
    post_id: Id
    post_author_id: Id
    parent_id: Id | None
    author_id: Id
    status: Literal["rejected", "spam"]
    created_at: Timestamp
    action: ModerationAction
    reason: Reason | None
    moderator_id: Id


class CommentDeleted(EventData):
    """A comment was deleted by deletedBy (its author, the post's author or a moderator).
    status is as it was just before."""

    TYPE = "comment.deleted"
    id: Id
    post_id: Id
    post_author_id: Id
    parent_id: Id | None
    author_id: Id
    status: CommentStatus
    created_at: Timestamp
    deleted_by: Id


class CommentReported(EventData):
    """A reader reported a comment. reportCount counts the reports since the last
    moderation decision; status is pending when this report sent the comment back to the
    moderation queue."""

    TYPE = "comment.reported"
    id: Id
    post_id: Id
    post_author_id: Id
    parent_id: Id | None
    author_id: Id
    status: Literal["approved", "pending"]
    created_at: Timestamp
    report_count: Annotated[int, Field(ge=1)]


class NotificationCreated(EventData):
    """A notification was written for a user: of a comment on their post (comment), of a
    reply to their comment (reply), or of a moderation decision on their comment (approved,
    rejected). Carries the recipient's id, never an email address: the users domain, which
    owns addresses, emails it."""

    TYPE = "notification.created"
    id: Id
    recipient_id: Id
    kind: Literal["comment", "reply", "approved", "rejected", "pending"]
    subject: Annotated[str, Field(min_length=1, max_length=200)]
    text: Annotated[str, Field(min_length=1, max_length=2000)]
    post_id: Id
    comment_id: Id
    created_at: Timestamp


# Every event type's model, by detail-type.
MODELS: dict[str, type[EventData]] = {
    model.TYPE: model
    for model in (
        UserRegistered,
        UserUpdated,
        UserRoleChanged,
        UserDeactivated,
        UserFollowed,
        UserUnfollowed,
        PostCreated,
        PostUpdated,
        PostPublished,
        PostUnpublished,
        PostDeleted,
        CommentCreated,
        CommentApproved,
        CommentRejected,
        CommentDeleted,
        CommentReported,
        NotificationCreated,
    )
}
