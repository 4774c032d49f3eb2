"""SQL of the users domain. Every function is one statement: one round trip."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inkwell.db import Row, Session

_USER_COLUMNS = (
    "id, username, email, password_hash, first_name, last_name, bio, role, is_active,"
    " created_at, updated_at"
)

# Columns a profile update may touch: the SET clause is built only from these names.
UPDATABLE_COLUMNS = ("first_name", "last_name", "email", "bio")


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
        "INSERT INTO users (username, email, password_hash, first_name, last_name, bio, role)"
        " VALUES (:username, :email, :password_hash, :first_name, :last_name, :bio, :role)"
        f" RETURNING {_USER_COLUMNS}",
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


def find_login(s: Session, login: str) -> Row | None:
    """The user a login name (username or email) refers to, with its failure counter."""
    return s.row(
        f"SELECT {_USER_COLUMNS},"
        " f.failures, f.window_started_at, now() AS db_now"
        " FROM users u LEFT JOIN login_failures f ON f.user_id = u.id"
        " WHERE lower(u.username) = lower(:login) OR lower(u.email) = lower(:login)"
        " ORDER BY lower(u.username) = lower(:login) DESC LIMIT 1",
        login=login,
    )


def record_login_failure(s: Session, user_id: str, window_s: int) -> None:
    """Count a failed login; a failure after the window has passed starts a new window."""
    s.execute(
        "INSERT INTO login_failures (user_id, failures, window_started_at)"
        " VALUES (CAST(:id AS uuid), 1, now())"
        " ON CONFLICT (user_id) DO UPDATE SET"
        "  failures = CASE WHEN login_failures.window_started_at"
        "    > now() - make_interval(secs => CAST(:window AS integer))"
        "    THEN login_failures.failures + 1 ELSE 1 END,"
        "  window_started_at = CASE WHEN login_failures.window_started_at"
        "    > now() - make_interval(secs => CAST(:window AS integer))"
        "    THEN login_failures.window_started_at ELSE now() END",
        id=user_id,
        window=window_s,
    )


def start_token_family(s: Session, user_id: str, token_hash: str, ttl_s: int) -> None:
    """A successful login: clear the failure counter and store a new refresh token."""
    s.execute(
        "WITH cleared AS (DELETE FROM login_failures WHERE user_id = CAST(:id AS uuid))"
        " INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at)"
        " VALUES (:hash, CAST(:id AS uuid), gen_random_uuid(),"
        "         now() + make_interval(secs => CAST(:ttl AS integer)))",
        id=user_id,
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
    unknown = set(changes) - set(UPDATABLE_COLUMNS)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = :{column}" for column in changes)
    return s.row(
        f"UPDATE users SET {assignments}, updated_at = now()"
        f" WHERE id = CAST(:id AS uuid) AND is_active RETURNING {_USER_COLUMNS}",
        id=user_id,
        **changes,
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
    return s.row(
        "UPDATE users SET role = :role, updated_at = now()"
        f" WHERE id = CAST(:id AS uuid) RETURNING {_USER_COLUMNS}",
        id=user_id,
        role=role,
    )


def deactivate_user(s: Session, user_id: str) -> Row | None:
    """Deactivate and revoke every refresh token; None if there is no such user."""
    return s.row(
        "WITH revoked AS ("
        "  UPDATE refresh_tokens SET revoked_at = now()"
        "  WHERE user_id = CAST(:id AS uuid) AND revoked_at IS NULL)"
        " UPDATE users SET is_active = false,"
        "   updated_at = CASE WHEN is_active THEN now() ELSE updated_at END"
        f" WHERE id = CAST(:id AS uuid) RETURNING {_USER_COLUMNS}",
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


def ensure_admin(s: Session, *, username: str, email: str, password_hash: str) -> Row:
    """Create the admin, or promote and re-activate the existing user of that name."""
    row = s.row(
        "INSERT INTO users (username, email, password_hash, role)"
        " VALUES (:username, :email, :hash, 'admin')"
        " ON CONFLICT (lower(username)) DO UPDATE SET role = 'admin', is_active = true,"
        "   updated_at = now()"
        f" RETURNING {_USER_COLUMNS}",
        username=username,
        email=email,
        hash=password_hash,
    )
    assert row is not None
    return row


def promote_to_admin(s: Session, username: str) -> Row | None:
    return s.row(
        "UPDATE users SET role = 'admin', updated_at = now()"
        f" WHERE lower(username) = lower(:username) RETURNING {_USER_COLUMNS}",
        username=username,
    )
