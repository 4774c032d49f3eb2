"""Consumer: content's read models of the users domain (authors' display fields, follows).

Subscribed to the users events (wiring.CONSUMERS, "content-users"); a redelivered event is
applied once (inkwell.consumers) and an out-of-order one never overwrites newer state
(inkwell.profiles, content.read_models).
"""

from __future__ import annotations

from content import read_models
from inkwell import profiles
from inkwell.consumers import Consumer, ReceivedEvent
from inkwell.db import Session

consumer = Consumer("content-users", "content")
profiles.follow_users(consumer, "authors")


@consumer.on("user.followed", "user.unfollowed")
def follow_changed(s: Session, event: ReceivedEvent) -> None:
    read_models.set_following(
        s,
        follower_id=event.data["followerId"],
        author_id=event.data["followeeId"],
        following=event.detail_type == "user.followed",
        changed_at=event.occurred_at,
    )


handler = consumer.handler
