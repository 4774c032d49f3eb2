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
from inkwell.event_models import UserFollowed, UserUnfollowed

consumer = Consumer("content-users", "content")
profiles.follow_users(consumer, "authors")


@consumer.on(UserFollowed, UserUnfollowed)
def follow_changed(s: Session, event: ReceivedEvent[UserFollowed | UserUnfollowed]) -> None:
    read_models.set_following(
        s,
        follower_id=event.data.follower_id,
        author_id=event.data.followee_id,
        following=isinstance(event.data, UserFollowed),
        changed_at=event.occurred_at,
    )


handler = consumer.handler
