"""Consumer: content's read models of the users domain (authors' display fields, follows).

Subscribed to the users events (wiring.CONSUMERS, "content-users"); a redelivered event is
applied once (inkwell.consumers) and an out-of-order one never overwrites newer state
(content.read_models).
"""

from __future__ import annotations

from content import read_models
from inkwell.consumers import Consumer, ReceivedEvent
from inkwell.db import Session

consumer = Consumer("content-users", "content")


def _profile(s: Session, event: ReceivedEvent, version: str) -> None:
    data = event.data
    read_models.upsert_author(
        s,
        user_id=data["id"],
        username=data["username"],
        first_name=data.get("firstName"),
        last_name=data.get("lastName"),
        version=version,
    )


@consumer.on("user.registered")
def registered(s: Session, event: ReceivedEvent) -> None:
    _profile(s, event, event.data["createdAt"])


@consumer.on("user.updated")
def updated(s: Session, event: ReceivedEvent) -> None:
    _profile(s, event, event.data["updatedAt"])


@consumer.on("user.deactivated")
def deactivated(s: Session, event: ReceivedEvent) -> None:
    data = event.data
    read_models.deactivate_author(
        s, user_id=data["id"], username=data["username"], version=data["updatedAt"]
    )


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
