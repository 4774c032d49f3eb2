"""SQL of the users domain. Every function is one statement: one round trip.

A statement that changes what other domains may show (registration, profile, role,
deactivation) also writes its event to the outbox, in the same statement (inkwell.events).
Events carry only what other domains need: never the email or anything secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inkwell import events
from inkwell.db import Row, Session

_USER_COLUMNS = (
    "id, username, email, password_hash, first_name, last_name, bio, role, is_active,"
    " created_at, updated_at"
)

# Columns a profile update may touch: the SET clause is built only from these names.
UPDATABLE_COLUMNS = ("first_name", "last_name", "email", "bio")
# Columns other domains show: changing one of them announces user.updated.
PUBLIC_PROFILE_COLUMNS = ("first_name", "last_name", "bio")


_IDENTITY = "'id', changed.id, 'username', changed.username"
_PROFILE = (
    f"{_IDENTITY}, 'firstName', changed.first_name, 'lastName', changed.last_name,"
    " 'bio', changed.bio"
)
EVENT_DATA = {
    "user.registered": f"jsonb_build_object({_PROFILE}, 'role', changed.role,"
    f" 'createdAt', {events.iso_utc('changed.created_at')})",
    "user.updated": f"jsonb_build_object({_PROFILE},"
    f" 'updatedAt', {events.iso_utc('changed.updated_at')})",
    "user.role_changed": f"jsonb_build_object({_IDENTITY}, 'role', changed.role,"
    f" 'updatedAt', {events.iso_utc('changed.updated_at')})",
    "user.deactivated": f"jsonb_build_object({_IDENTITY},"
    f" 'updatedAt', {events.iso_utc('changed.updated_at')})",
    # Over a follows row. Consumers order them by the envelope's occurredAt (stamped by
    # the database clock inside the statement): a follow waits for a concurrent unfollow
    # of the same pair to commit, and an unfollow does not see an uncommitted follow (it
    # changes nothing, announces nothing), so of two changes of a pair the later one
    # always carries the later occurredAt.
    "user.followed": "jsonb_build_object('followerId', changed.follower_id,"
    " 'followeeId', changed.followee_id)",
    "user.unfollowed": "jsonb_build_object('followerId', changed.follower_id,"
    " 'followeeId', changed.followee_id)",
}


def _announcing(change: str, detail_type: str, *, before: str = "") -> str:
    """`change` (an INSERT/UPDATE of users) plus the event announcing it."""
    return events.announcing(change, EVENT_DATA[detail_type], _USER_COLUMNS, before=before)


def _event(detail_type: str) -> dict[str, Any]:
    return events.announce("users", detail_type)


def insert_user(
    s: Session,
    *,
    username: str,
    email: str,
    password_hash: str,
    first_name: str | None,
    last_name: str | None,
    bio: str,
    role: str = "user",
) -> Row:
    row = s.row(
        _announcing(
            "INSERT INTO users (username, email, password_hash, first_name, last_name, bio, role)"
            " VALUES (:username, :email, :password_hash, :first_name, :last_name, :bio, :role)",
            "user.registered",
        ),
        **_event("user.registered"),
        username=username,
        email=email,
        password_hash=password_hash,
        first_name=first_name,
        last_name=last_name,
        bio=bio,
        role=role,
    )
    assert row is not None
    return row


def find_user(s: Session, user_id: str) -> Row | None:
    return s.row(f"SELECT {_USER_COLUMNS} FROM users WHERE id = CAST(:id AS uuid)", id=user_id)


def find_login(s: Session, login: str) -> Row:
    """The failure counter of a login name (username or email, as typed, any case) and the
    user it refers to: always one row, whose user columns are null when no user has it.

    Failures are counted per login name whether or not an account has it, so that a
    locked name says nothing about whether the account exists."""
    row = s.row(
        f"SELECT {_USER_COLUMNS}, f.failures, f.window_started_at, now() AS db_now"
        " FROM (SELECT lower(:login) AS login) k"
        " LEFT JOIN login_failures f ON f.login = k.login"
        " LEFT JOIN LATERAL ("
        f"  SELECT {_USER_COLUMNS} FROM users"
        "   WHERE lower(username) = k.login OR lower(email) = k.login"
        "   ORDER BY lower(username) = k.login DESC LIMIT 1) u ON true",
        login=login,
    )
    assert row is not None
    return row


def record_login_failure(s: Session, login: str, window_s: int) -> None:
    """Count a failed login for a login name; after the window has passed, a new window.

    Names come from callers, so the table would grow with every name ever tried: each
    failure also sweeps a bounded batch of counters whose window ended long ago."""
    s.execute(
        "WITH swept AS (DELETE FROM login_failures WHERE login IN ("
        "  SELECT login FROM login_failures"
        "  WHERE window_started_at < now() - make_interval(secs => 2 * CAST(:window AS integer))"
        "    AND login <> lower(:login) LIMIT 100))"
        " INSERT INTO login_failures (login, failures, window_started_at)"
        " VALUES (lower(:login), 1, now())"
        " ON CONFLICT (login) DO UPDATE SET"
        "  failures = CASE WHEN login_failures.window_started_at"
        "    > now() - make_interval(secs => CAST(:window AS integer))"
        "    THEN login_failures.failures + 1 ELSE 1 END,"
        "  window_started_at = CASE WHEN login_failures.window_started_at"
        "    > now() - make_interval(secs => CAST(:window AS integer))"
        "    THEN login_failures.window_started_at ELSE now() END",
        login=login,
        window=window_s,
    )


def start_token_family(s: Session, user_id: str, login: str, token_hash: str, ttl_s: int) -> None:
    """A successful login: clear the name's failure counter and store a new refresh token."""
    s.execute(
        "WITH cleared AS (DELETE FROM login_failures WHERE login = lower(:login))"
        " INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at)"
        " VALUES (:hash, CAST(:id AS uuid), gen_random_uuid(),"
        "         now() + make_interval(secs => CAST(:ttl AS integer)))",
        id=user_id,
        login=login,
        hash=token_hash,
        ttl=ttl_s,
    )


def rotate_refresh_token(s: Session, token_hash: str, new_hash: str, ttl_s: int) -> Row | None:
    """Use a live refresh token once and issue its successor in the same family.

    Returns the (active) user, or None when the token is unknown, used, revoked, expired,
    or its user was deactivated. Concurrent presentations of one token: exactly one wins.
    """
    return s.row(
        "WITH used AS ("
        "  UPDATE refresh_tokens SET used_at = now()"
        "  WHERE token_hash = :hash AND used_at IS NULL AND revoked_at IS NULL"
        "    AND expires_at > now()"
        "  RETURNING user_id, family_id"
        "), successor AS ("
        "  INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at)"
        "  SELECT :new_hash, used.user_id, used.family_id,"
        "         now() + make_interval(secs => CAST(:ttl AS integer))"
        "  FROM used JOIN users u ON u.id = used.user_id AND u.is_active"
        "  RETURNING user_id"
        f") SELECT {_USER_COLUMNS}"
        " FROM successor JOIN users u ON u.id = successor.user_id",
        hash=token_hash,
        new_hash=new_hash,
        ttl=ttl_s,
    )


def revoke_family_of_used_token(s: Session, token_hash: str) -> int:
    """Revoke every live token of the family of an already-used token; count revoked."""
    rows = s.rows(
        "UPDATE refresh_tokens SET revoked_at = now()"
        " WHERE revoked_at IS NULL AND family_id = ("
        "   SELECT family_id FROM refresh_tokens"
        "   WHERE token_hash = :hash AND used_at IS NOT NULL)"
        " RETURNING token_hash",
        hash=token_hash,
    )
    return len(rows)


def revoke_family(s: Session, token_hash: str) -> None:
    s.execute(
        "UPDATE refresh_tokens SET revoked_at = now()"
        " WHERE revoked_at IS NULL AND family_id = ("
        "   SELECT family_id FROM refresh_tokens WHERE token_hash = :hash)",
        hash=token_hash,
    )


def update_user(s: Session, user_id: str, changes: dict[str, Any]) -> Row | None:
    """Apply profile changes; announce user.updated when a public field changed."""
    unknown = set(changes) - set(UPDATABLE_COLUMNS)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = :{column}" for column in changes)
    change = (
        f"UPDATE users SET {assignments}, updated_at = now()"
        " WHERE id = CAST(:id AS uuid) AND is_active"
    )
    if not set(changes) & set(PUBLIC_PROFILE_COLUMNS):
        return s.row(f"{change} RETURNING {_USER_COLUMNS}", id=user_id, **changes)
    return s.row(
        _announcing(change, "user.updated"), **_event("user.updated"), id=user_id, **changes
    )


def set_password_and_revoke_tokens(s: Session, user_id: str, password_hash: str) -> None:
    s.execute(
        "WITH revoked AS ("
        "  UPDATE refresh_tokens SET revoked_at = now()"
        "  WHERE user_id = CAST(:id AS uuid) AND revoked_at IS NULL)"
        " UPDATE users SET password_hash = :hash, updated_at = now()"
        " WHERE id = CAST(:id AS uuid)",
        id=user_id,
        hash=password_hash,
    )


def set_role(s: Session, user_id: str, role: str) -> Row | None:
    """Change the role and announce it; None when the user has that role already."""
    return s.row(
        _announcing(
            "UPDATE users SET role = :role, updated_at = now()"
            " WHERE id = CAST(:id AS uuid) AND role <> :role",
            "user.role_changed",
        ),
        **_event("user.role_changed"),
        id=user_id,
        role=role,
    )


def deactivate_user(s: Session, user_id: str) -> Row | None:
    """Deactivate, revoke every refresh token and announce it; None if already inactive."""
    return s.row(
        _announcing(
            "UPDATE users SET is_active = false, updated_at = now()"
            " WHERE id = CAST(:id AS uuid) AND is_active",
            "user.deactivated",
            before=(
                "revoked AS ("
                " UPDATE refresh_tokens SET revoked_at = now()"
                " WHERE user_id = CAST(:id AS uuid) AND revoked_at IS NULL), "
            ),
        ),
        **_event("user.deactivated"),
        id=user_id,
    )


def list_users(s: Session, limit: int, after: tuple[datetime, str] | None) -> list[Row]:
    if after is None:
        return s.rows(
            f"SELECT {_USER_COLUMNS} FROM users ORDER BY created_at, id LIMIT :limit",
            limit=limit,
        )
    return s.rows(
        f"SELECT {_USER_COLUMNS} FROM users"
        " WHERE (created_at, id) > (CAST(:created_at AS timestamptz), CAST(:id AS uuid))"
        " ORDER BY created_at, id LIMIT :limit",
        created_at=after[0],
        id=after[1],
        limit=limit,
    )


def find_by_username(s: Session, username: str) -> Row | None:
    return s.row(
        f"SELECT {_USER_COLUMNS} FROM users WHERE lower(username) = lower(:username)",
        username=username,
    )


# --- follows ----------------------------------------------------------------------------

_FOLLOW_COLUMNS = "follows.follower_id, follows.followee_id, follows.created_at"


def insert_follow(s: Session, follower_id: str, followee_id: str) -> Row | None:
    """Follow, and announce user.followed; None when nothing changed: already following,
    or the follower or the followee is missing or inactive (see `find_follow`)."""
    return s.row(
        events.announcing(
            "INSERT INTO follows (follower_id, followee_id)"
            " SELECT follower.id, followee.id FROM users follower, users followee"
            " WHERE follower.id = CAST(:follower_id AS uuid) AND follower.is_active"
            "   AND followee.id = CAST(:followee_id AS uuid) AND followee.is_active"
            " ON CONFLICT DO NOTHING",
            EVENT_DATA["user.followed"],
            _FOLLOW_COLUMNS,
        ),
        **_event("user.followed"),
        follower_id=follower_id,
        followee_id=followee_id,
    )


def delete_follow(s: Session, follower_id: str, followee_id: str) -> Row | None:
    """Unfollow, and announce user.unfollowed; None when nothing changed: not following,
    or the follower or the followee is missing or inactive (see `find_follow`)."""
    return s.row(
        events.announcing(
            "DELETE FROM follows USING users follower, users followee"
            " WHERE follows.follower_id = CAST(:follower_id AS uuid)"
            "   AND follows.followee_id = CAST(:followee_id AS uuid)"
            "   AND follower.id = follows.follower_id AND follower.is_active"
            "   AND followee.id = follows.followee_id AND followee.is_active",
            EVENT_DATA["user.unfollowed"],
            _FOLLOW_COLUMNS,
        ),
        **_event("user.unfollowed"),
        follower_id=follower_id,
        followee_id=followee_id,
    )


def find_follow(s: Session, follower_id: str, followee_id: str) -> Row | None:
    """Why a follow or unfollow changed nothing: whether the followee and the follower
    are active (NULL: no such follower) and whether the follow exists. None: no followee."""
    return s.row(
        "SELECT followee.is_active AS followee_active, follower.is_active AS follower_active,"
        " EXISTS (SELECT 1 FROM follows WHERE follows.follower_id = CAST(:follower_id AS uuid)"
        "   AND follows.followee_id = followee.id) AS following"
        " FROM users followee"
        " LEFT JOIN users follower ON follower.id = CAST(:follower_id AS uuid)"
        " WHERE followee.id = CAST(:followee_id AS uuid)",
        follower_id=follower_id,
        followee_id=followee_id,
    )


# --- password reset ---------------------------------------------------------------------


def note_reset_request(s: Session, client: str, window_s: int) -> Row:
    """Record a reset request of `client` (its source address); how many it made in the
    window before this one, and the seconds until the oldest of them leaves the window.
    Requests older than the window are swept on the way."""
    row = s.row(
        "WITH swept AS (DELETE FROM password_reset_requests"
        "  WHERE requested_at < now() - make_interval(secs => CAST(:window AS integer))),"
        " noted AS (INSERT INTO password_reset_requests (client) VALUES (:client))"
        " SELECT count(*) AS earlier,"
        "  COALESCE(CEIL(EXTRACT(EPOCH FROM min(requested_at)"
        "    + make_interval(secs => CAST(:window AS integer)) - now())), 0) AS wait_s"
        " FROM password_reset_requests WHERE client = :client"
        "  AND requested_at >= now() - make_interval(secs => CAST(:window AS integer))",
        client=client,
        window=window_s,
    )
    assert row is not None
    return row


def issue_password_reset(
    s: Session, login: str, token_hash: str, ttl_s: int, *, max_per_window: int, window_s: int
) -> Row | None:
    """A reset token for the active account a login name refers to; its username and
    email, or None: no such active account, or it had `max_per_window` tokens issued in
    the window already (the caller cannot tell which)."""
    return s.row(
        "WITH target AS ("
        "  SELECT id, username, email FROM users"
        "  WHERE (lower(username) = lower(:login) OR lower(email) = lower(:login)) AND is_active"
        "  ORDER BY lower(username) = lower(:login) DESC LIMIT 1"
        "), recent AS ("
        "  SELECT count(*) AS n FROM password_resets r JOIN target ON r.user_id = target.id"
        "  WHERE r.created_at >= now() - make_interval(secs => CAST(:window AS integer))"
        "), swept AS ("
        "  DELETE FROM password_resets r USING target WHERE r.user_id = target.id"
        "  AND r.created_at < now() - make_interval(secs => CAST(:window AS integer))"
        "  AND (r.used_at IS NOT NULL OR r.expires_at < now())"
        "), issued AS ("
        "  INSERT INTO password_resets (token_hash, user_id, expires_at)"
        "  SELECT :hash, target.id, now() + make_interval(secs => CAST(:ttl AS integer))"
        "  FROM target, recent WHERE recent.n < :max"
        "  RETURNING user_id"
        ") SELECT target.id, target.username, target.email"
        " FROM issued JOIN target ON target.id = issued.user_id",
        login=login,
        hash=token_hash,
        ttl=ttl_s,
        max=max_per_window,
        window=window_s,
    )


def reset_password(s: Session, token_hash: str, password_hash: str) -> Row | None:
    """Use a live reset token once: set the new password, make the account's other reset
    tokens unusable, revoke every refresh token and clear its names' login failures.
    The account's id, or None when the token is unknown, used, expired, or its account
    was deactivated meanwhile."""
    return s.row(
        "WITH used AS ("
        "  UPDATE password_resets SET used_at = now()"
        "  WHERE token_hash = :hash AND used_at IS NULL AND expires_at > now()"
        "  RETURNING user_id"
        "), target AS ("
        "  SELECT u.id, u.username, u.email FROM users u JOIN used ON u.id = used.user_id"
        "  WHERE u.is_active"
        "), others AS ("
        "  UPDATE password_resets r SET used_at = now() FROM target"
        "  WHERE r.user_id = target.id AND r.used_at IS NULL AND r.token_hash <> :hash"
        "), revoked AS ("
        "  UPDATE refresh_tokens t SET revoked_at = now() FROM target"
        "  WHERE t.user_id = target.id AND t.revoked_at IS NULL"
        "), cleared AS ("
        "  DELETE FROM login_failures WHERE login IN ("
        "   SELECT lower(username) FROM target UNION ALL SELECT lower(email) FROM target)"
        ") UPDATE users SET password_hash = :password_hash, updated_at = now()"
        " FROM target WHERE users.id = target.id RETURNING users.id",
        hash=token_hash,
        password_hash=password_hash,
    )
