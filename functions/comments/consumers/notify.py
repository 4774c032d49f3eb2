"""Consumer: users' notifications, from the comment.* events.

Who is notified of what:

- a comment becomes visible for the first time (created approved, or approved by a
  moderator): the post's author ("comment") and, for a reply, the parent comment's author
  ("reply"), never the comment's own author, and one notification per person (a post
  author whose comment got a reply is told of the reply); a comment approved again after
  reports or an edit is not news;
- a moderator decides on a comment: its author ("approved" / "rejected");
- a new comment is held for moderation: the post's author ("pending"), who may moderate
  the comments on their posts and would otherwise not know one waits.

Each notification is announced with notification.created (the users domain emails it).
One event notifies each recipient once however often it is delivered: the consumer
records the event id, and (event, recipient) is unique.

Imports no FastAPI (the API's modules do): a consumer's cold start pays only for the
database, the events and their models (docs/decisions/typed-events.md).
"""

from __future__ import annotations

from comments import notification_repository as repository
from inkwell.consumers import Consumer, ReceivedEvent
from inkwell.db import Row, Session
from inkwell.event_models import CommentApproved, CommentCreated, CommentRejected

CommentNews = CommentCreated | CommentApproved | CommentRejected

consumer = Consumer("comments-notify", "comments")

EXCERPT = 280

_DECISION_WORDS = {"approve": "approved", "reject": "rejected", "spam": "marked as spam"}


def _excerpt(body: str) -> str:
    return body if len(body) <= EXCERPT else body[: EXCERPT - 1].rstrip() + "…"


def _notices(
    event: ReceivedEvent[CommentNews], c: Row
) -> list[tuple[str, str, str | None, str, str]]:
    """(recipient, kind, actor, subject, text) of each notification `event` leads to."""
    title = c["post_title"]
    author = str(c["author_id"])
    notices: list[tuple[str, str, str | None, str, str]] = []
    data = event.data
    if isinstance(data, CommentApproved | CommentRejected):
        decision = _DECISION_WORDS.get(data.action, "decided on")
        reason = data.reason
        text = f'Your comment on "{title}" was {decision}.' + (
            f"\n\nReason: {reason}" if reason else ""
        )
        kind = "approved" if isinstance(data, CommentApproved) else "rejected"
        notices.append((author, kind, None, f'Your comment on "{title}" was {decision}', text))
    if isinstance(data, CommentCreated) and data.status == "pending":
        notices.append(
            (
                str(c["post_author_id"]),
                "pending",
                author,
                f'A comment on "{title}" awaits moderation',
                f"{c['author_username']} wrote:\n\n{_excerpt(c['body'])}\n\n"
                "Approve or reject it in the moderation queue.",
            )
        )
    visible = isinstance(data, CommentApproved) or (
        isinstance(data, CommentCreated) and data.status == "approved"
    )
    if visible:
        by = c["author_username"]
        said = f"{by} wrote:\n\n{_excerpt(c['body'])}"
        if c["parent_author_id"] is not None:
            notices.append(
                (
                    str(c["parent_author_id"]),
                    "reply",
                    author,
                    f'{by} replied to your comment on "{title}"',
                    said,
                )
            )
        notices.append(
            (str(c["post_author_id"]), "comment", author, f'{by} commented on "{title}"', said)
        )
    seen = {author}  # never tell people of their own comment (decisions on it excepted)...
    chosen = []
    for notice in notices:
        if notice[0] in seen and notice[1] in ("reply", "comment", "pending"):
            continue
        seen.add(notice[0])  # ...and each person once
        chosen.append(notice)
    return chosen


def notify(s: Session, event: ReceivedEvent[CommentNews]) -> int:
    """Write the notifications `event` leads to; how many were new."""
    comment = repository.comment_for_notice(s, event.data.id)
    if comment is None:
        return 0  # deleted before its news went out
    written = 0
    for recipient, kind, actor, subject, text in _notices(event, comment):
        row = repository.insert_notification(
            s,
            event_id=event.event_id,
            recipient_id=recipient,
            kind=kind,
            post_id=str(comment["post_id"]),
            comment_id=str(comment["id"]),
            actor_id=actor,
            subject=subject[:200],
            text=text,
            once_per_comment=kind in ("comment", "reply"),
        )
        written += row is not None
    return written


@consumer.on(CommentCreated, CommentApproved, CommentRejected)
def notified(s: Session, event: ReceivedEvent[CommentNews]) -> None:
    notify(s, event)


handler = consumer.handler
