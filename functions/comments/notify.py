"""Consumer: notifications from the comment.* events (see comments.notifications)."""

from __future__ import annotations

from comments import notifications
from inkwell.consumers import Consumer, ReceivedEvent
from inkwell.db import Session

consumer = Consumer("comments-notify", "comments")


@consumer.on("comment.created", "comment.approved", "comment.rejected")
def notify(s: Session, event: ReceivedEvent) -> None:
    notifications.notify(s, event)


handler = consumer.handler
