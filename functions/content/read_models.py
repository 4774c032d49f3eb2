"""SQL of content's read models of the users domain: authors and who follows whom.

Kept by the content-users consumer (content.users_events) from the users events; one
statement per function. Events arrive at least once and in any order, so every write is
conditional on the ordering key it carries:

- an author row's `version` is the users row's createdAt / updatedAt of the event that wrote
  it: an older event never overwrites a newer one, and a row created from token claims
  (version '-infinity') is overwritten by the first event about that user;
- a follows row's `changed_at` is the occurredAt of the event that wrote it (last writer
  wins); unfollowed rows stay as tombstones so that an older user.followed arriving late
  cannot resurrect the follow.
"""

from __future__ import annotations

from inkwell.db import Session


def upsert_author(
    s: Session,
    *,
    user_id: str,
    username: str,
    first_name: str | None,
    last_name: str | None,
    version: str,
) -> None:
    """An author's display fields as of `version`, unless the row is as new already.

    Leaves is_active alone on an existing row: a deactivation is never undone by a
    profile event (the users domain does not update deactivated accounts).
    """
    s.execute(
        "INSERT INTO authors (user_id, username, first_name, last_name, is_active, version)"
        " VALUES (CAST(:user_id AS uuid), :username, :first_name, :last_name, true,"
        "         CAST(:version AS timestamptz))"
        " ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username,"
        "  first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,"
        "  version = EXCLUDED.version"
        " WHERE authors.version < EXCLUDED.version",
        user_id=user_id,
        username=username,
        first_name=first_name,
        last_name=last_name,
        version=version,
    )


def deactivate_author(s: Session, *, user_id: str, username: str, version: str) -> None:
    """The author is inactive from now on, whatever the order the events arrive in.

    Deactivation is final in the users domain, so it applies even over a row that looks
    newer; the row's version becomes the later of the two, so that a late, older profile
    event cannot rename the author past their deactivation. An author not seen before is
    recorded, inactive, with only the username the event carries.
    """
    s.execute(
        "INSERT INTO authors (user_id, username, is_active, version)"
        " VALUES (CAST(:user_id AS uuid), :username, false, CAST(:version AS timestamptz))"
        " ON CONFLICT (user_id) DO UPDATE SET is_active = false,"
        "  version = GREATEST(authors.version, EXCLUDED.version)",
        user_id=user_id,
        username=username,
        version=version,
    )


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
