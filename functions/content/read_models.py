"""SQL of content's read model of who follows whom (authors: `inkwell.profiles`).

Kept by the content-users consumer (content.consumers.users_events) from the users events. Events
arrive at least once and in any order, so every write is conditional on the ordering key
it carries: a follows row's `changed_at` is the occurredAt of the event that wrote it
(last writer wins); unfollowed rows stay as tombstones so that an older user.followed
arriving late cannot resurrect the follow.
"""

from __future__ import annotations

from inkwell.db import Session


def set_following(
    s: Session, *, follower_id: str, author_id: str, following: bool, changed_at: str
) -> None:
    """Whether `follower_id` follows `author_id` as of `changed_at`, unless the row is newer."""
    s.execute(
        "INSERT INTO follows (follower_id, author_id, following, changed_at)"
        " VALUES (CAST(:follower_id AS uuid), CAST(:author_id AS uuid), :following,"
        "         CAST(:changed_at AS timestamptz))"
        " ON CONFLICT (follower_id, author_id) DO UPDATE SET"
        "  following = EXCLUDED.following, changed_at = EXCLUDED.changed_at"
        " WHERE follows.changed_at < EXCLUDED.changed_at",
        follower_id=follower_id,
        author_id=author_id,
        following=following,
        changed_at=changed_at,
    )
