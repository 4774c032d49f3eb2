"""Business rules of the users domain: one function per operation, named as its handler.

Who may do what is decided with the caller's row as it is now (`_acting`), never with the
role or the existence a token claimed when it was issued: a deactivated account can do
nothing with its token, a demoted admin is a user again on the next request.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from inkwell import email, errors
from inkwell.db import IntegrityConflict, Row, Session, database
from inkwell.models import Page
from inkwell.observability import count, logger
from inkwell.pagination import decode_time_key, encode_cursor
from inkwell.passwords import hash_password, verify_password
from inkwell.settings import settings
from inkwell.tokens import (
    Principal,
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
)
from users import repository
from users.models import (
    ChangePasswordRequest,
    LoginRequest,
    PasswordResetConfirmation,
    PasswordResetRequest,
    PublicUser,
    RegisterRequest,
    Role,
    TokenResponse,
    UpdateUserRequest,
    User,
)

db = database("users")

_INVALID_CREDENTIALS = "The username or password is incorrect."

# Password reset throttling. Per account: tokens issued in the window (more requests are
# answered the same, and send nothing: a 429 would tell that the account exists). Per
# client (source address): requests in the window, whatever the account; then 429.
RESET_WINDOW_S = 900
RESET_MAX_PER_ACCOUNT = 3
RESET_MAX_PER_CLIENT = 10
RESET_ACCEPTED = (
    "If an active account has that username or email, a password reset link was sent to"
    " its email address."
)


def _user(row: Row) -> User:
    return User.model_validate(row)


def _conflict_from(exc: IntegrityConflict) -> errors.Problem:
    if exc.is_unique_violation and exc.constraint == "users_username_key":
        return errors.conflict("That username is already taken.")
    if exc.is_unique_violation and exc.constraint == "users_email_key":
        return errors.conflict("That email address is already registered.")
    raise exc


def _acting(s: Session, principal: Principal) -> Row:
    """The caller's own row as it is now; 401 when the account is gone or deactivated."""
    row = repository.find_user(s, errors.valid_id(principal.user_id, "User"))
    if row is None or not row["is_active"]:
        raise errors.account_inactive()
    return row


def _is_admin(caller: Row) -> bool:
    return bool(caller["role"] == "admin")


def _self_or_admin(principal: Principal, user_id: str) -> None:
    with db.reader() as s:
        caller = _acting(s, principal)
    if principal.user_id != user_id and not _is_admin(caller):
        raise errors.forbidden("You can only change your own account.")


def register(req: RegisterRequest) -> User:
    password_hash = hash_password(req.password)  # before the transaction: no lock held
    try:
        with db.transaction() as s:
            row = repository.insert_user(
                s,
                username=req.username,
                email=str(req.email),
                password_hash=password_hash,
                first_name=req.first_name,
                last_name=req.last_name,
                bio=req.bio,
            )
    except IntegrityConflict as exc:
        raise _conflict_from(exc) from None
    logger.info("user registered", extra={"userId": str(row["id"])})
    count("UserRegistered")
    return _user(row)


def _tokens_for(row: Row, refresh_token: str) -> TokenResponse:
    user = _user(row)
    token, ttl = issue_access_token(Principal(str(user.id), user.username, user.role))
    return TokenResponse(token=token, refresh_token=refresh_token, expires_in=ttl, user=user)


def _locked_for(row: Row) -> int:
    """Seconds until a throttled account may try again; 0 when it may try now."""
    config = settings()
    failures, started = row.get("failures"), row.get("window_started_at")
    if failures is None or started is None or failures < config.login_max_failures:
        return 0
    ends: datetime = started + timedelta(seconds=config.login_failure_window_s)
    return max(0, math.ceil((ends - row["db_now"]).total_seconds()))


def login(req: LoginRequest) -> TokenResponse:
    """Tokens for the right password of an active account.

    An unknown name, a wrong password and a deactivated account are one answer (401) at
    one cost (a bcrypt check, one failure recorded), and the lockout counts failures per
    login name whether or not an account has it: nothing here tells who has an account.
    """
    config = settings()
    with db.reader() as s:
        row = repository.find_login(s, req.username)
    wait = _locked_for(row)
    if wait:
        count("LoginThrottled")
        raise errors.too_many_requests(
            "Too many failed sign-in attempts with this username or email. Try again later.",
            wait,
        )
    right = verify_password(req.password, row["password_hash"])
    if not right or not row["is_active"]:
        with db.reader() as s:
            repository.record_login_failure(s, req.username, config.login_failure_window_s)
        logger.info("login failed")  # never the name tried: it may be a mistyped password
        count("LoginFailed")
        raise errors.unauthorized(_INVALID_CREDENTIALS)
    refresh_token = new_refresh_token()
    with db.reader() as s:
        repository.start_token_family(
            s,
            str(row["id"]),
            req.username,
            hash_refresh_token(refresh_token),
            config.refresh_token_ttl_s,
        )
    return _tokens_for(row, refresh_token)


def refresh(refresh_token: str) -> TokenResponse:
    presented = hash_refresh_token(refresh_token)
    successor = new_refresh_token()
    with db.reader() as s:
        row = repository.rotate_refresh_token(
            s, presented, hash_refresh_token(successor), settings().refresh_token_ttl_s
        )
        if row is None:
            revoked = repository.revoke_family_of_used_token(s, presented)
            if revoked:
                logger.warning("refresh token reused; its family was revoked")
                count("RefreshTokenReuse")
    if row is None:
        raise errors.unauthorized("The refresh token is invalid, expired or already used.")
    return _tokens_for(row, successor)


def logout(refresh_token: str) -> None:
    with db.reader() as s:
        repository.revoke_family(s, hash_refresh_token(refresh_token))


def get_me(principal: Principal) -> User:
    with db.reader() as s:
        row = _acting(s, principal)
    return _user(row)


def get_user(user_id: str, principal: Principal | None) -> PublicUser | User:
    with db.reader() as s:
        row = repository.find_user(s, errors.valid_id(user_id, "User"))
        own = principal is not None and row is not None and principal.user_id == str(row["id"])
        # An admin sees every account in full: the role the caller has now decides.
        sees_private = own or (
            principal is not None and principal.is_admin and _is_admin(_acting(s, principal))
        )
    if row is None or (not row["is_active"] and not sees_private):
        raise errors.not_found("User")
    return _user(row) if sees_private else PublicUser.model_validate(row)


def update_user(user_id: str, req: UpdateUserRequest, principal: Principal) -> User:
    target = errors.valid_id(user_id, "User")
    _self_or_admin(principal, target)
    changes: dict[str, Any] = {
        field: (str(value) if field == "email" and value is not None else value)
        for field, value in req.model_dump(exclude_unset=True).items()
    }
    if any(value is None for field, value in changes.items() if field in ("email", "bio")):
        raise errors.unprocessable(
            "email and bio cannot be null.",
            [
                errors.FieldProblem(f, "cannot be null")
                for f, v in changes.items()
                if v is None and f in ("email", "bio")
            ],
        )
    try:
        with db.transaction() as s:
            row = (
                repository.update_user(s, target, changes)
                if changes
                else repository.find_user(s, target)
            )
    except IntegrityConflict as exc:
        raise _conflict_from(exc) from None
    if row is None or not row["is_active"]:
        raise errors.not_found("User")
    return _user(row)


def change_password(user_id: str, req: ChangePasswordRequest, principal: Principal) -> None:
    target = errors.valid_id(user_id, "User")
    if principal.user_id != target:
        raise errors.forbidden("You can only change your own password.")
    with db.reader() as s:
        row = _acting(s, principal)
    if not verify_password(req.current_password, row["password_hash"]):
        raise errors.unprocessable(
            "The current password is incorrect.",
            [errors.FieldProblem("currentPassword", "is incorrect")],
        )
    new_hash = hash_password(req.new_password)
    with db.transaction() as s:
        repository.set_password_and_revoke_tokens(s, target, new_hash)


def change_role(user_id: str, role: Role, principal: Principal) -> User:
    target = errors.valid_id(user_id, "User")
    with db.transaction() as s:
        if not _is_admin(_acting(s, principal)):
            raise errors.forbidden("Only an admin can change roles.")
        if target == principal.user_id:
            raise errors.conflict("Admins cannot change their own role; ask another admin.")
        row = repository.set_role(s, target, role) or repository.find_user(s, target)
    if row is None:
        raise errors.not_found("User")
    logger.info("role set", extra={"userId": target, "role": role})
    return _user(row)


def deactivate_user(user_id: str, principal: Principal) -> None:
    target = errors.valid_id(user_id, "User")
    _self_or_admin(principal, target)
    with db.transaction() as s:
        row = repository.deactivate_user(s, target) or repository.find_user(s, target)
    if row is None:
        raise errors.not_found("User")


def list_users(principal: Principal, limit: int, cursor: str | None) -> Page[User]:
    with db.reader() as s:
        if not _is_admin(_acting(s, principal)):
            raise errors.forbidden("Only an admin can list users.")
        rows = repository.list_users(s, limit + 1, decode_time_key(cursor))
    items = [_user(r) for r in rows[:limit]]
    next_cursor = (
        encode_cursor(rows[limit - 1]["created_at"].isoformat(), rows[limit - 1]["id"])
        if len(rows) > limit
        else None
    )
    return Page[User](items=items, next_cursor=next_cursor)


def ensure_admin(username: str, email: str, password: str) -> User:
    """Make sure an admin of that name exists (the local platform's bootstrap).

    A new account is registered as an admin; an existing one is promoted.
    """
    with db.reader() as s:
        existing = repository.find_by_username(s, username)
    if existing is not None:
        return promote_to_admin(username)
    password_hash = hash_password(password)
    try:
        with db.transaction() as s:
            row = repository.insert_user(
                s,
                username=username,
                email=email,
                password_hash=password_hash,
                first_name=None,
                last_name=None,
                bio="",
                role="admin",
            )
    except IntegrityConflict as exc:
        raise _conflict_from(exc) from None
    return _user(row)


def promote_to_admin(username: str) -> User:
    with db.transaction() as s:
        row = repository.find_by_username(s, username)
        if row is None:
            raise errors.not_found("User")
        row = repository.set_role(s, str(row["id"]), "admin") or row
    return _user(row)


def _follow_pair(user_id: str, principal: Principal, verb: str) -> tuple[str, str]:
    """(follower, followee) of a follow or unfollow: 404 for a malformed id, 422 for oneself."""
    followee = errors.valid_id(user_id, "User")
    follower = str(uuid.UUID(principal.user_id))
    if follower == followee:
        raise errors.unprocessable(
            f"You cannot {verb} yourself.",
            [errors.FieldProblem("id", f"is your own account: choose another user to {verb}")],
        )
    return follower, followee


def _nothing_changed(status: Row | None) -> None:
    """After a follow or unfollow that changed nothing: why not, or fine (idempotent)."""
    if status is None or not status["followee_active"]:
        raise errors.not_found("User")
    if not status["follower_active"]:
        raise errors.account_inactive()


def _change_follow(
    user_id: str, principal: Principal, verb: str, write: Callable[[Session, str, str], Row | None]
) -> None:
    follower, followee = _follow_pair(user_id, principal, verb)
    # One statement: the change and its event commit together, without a transaction block.
    with db.reader() as s:
        row = write(s, follower, followee)
        if row is None:
            _nothing_changed(repository.find_follow(s, follower, followee))
    if row is not None:
        logger.info(f"user {verb}ed", extra={"userId": follower, "followeeId": followee})


def follow_user(user_id: str, principal: Principal) -> None:
    _change_follow(user_id, principal, "follow", repository.insert_follow)


def unfollow_user(user_id: str, principal: Principal) -> None:
    _change_follow(user_id, principal, "unfollow", repository.delete_follow)


# --- password reset -----------------------------------------------------------------------


def _reset_email(to: str, username: str, token: str) -> email.EmailMessage:
    config = settings()
    minutes = config.password_reset_ttl_s // 60
    if config.password_reset_url:
        joiner = "&" if "?" in config.password_reset_url else "?"
        how = (
            f"Open this link to choose a new password:\n\n"
            f"{config.password_reset_url}{joiner}token={token}"
        )
    else:
        how = f"Use this reset token to choose a new password:\n\n{token}"
    text = (
        f"Hello {username},\n\nSomeone (hopefully you) asked to reset the password of your"
        f" Inkwell account.\n{how}\n\nIt works once, for {minutes} minutes. If you did not"
        " ask for it, ignore this email: your password stays as it is."
    )
    return email.EmailMessage(to=to, subject="Reset your Inkwell password", text=text, secret=token)


def request_password_reset(req: PasswordResetRequest, client: str) -> str:
    """Send a single-use reset token to the account `req.username` names, if there is an
    active one; the answer is the same whether or not there is. Never logs the token."""
    config = settings()
    token = new_refresh_token()  # 256 random bits, stored hashed like a refresh token
    with db.transaction() as s:
        seen = repository.note_reset_request(s, client, RESET_WINDOW_S)
        if seen["earlier"] >= RESET_MAX_PER_CLIENT:
            count("PasswordResetThrottled")
            raise errors.too_many_requests(
                "Too many password reset requests from this client. Try again later.",
                int(seen["wait_s"]),
            )
        row = repository.issue_password_reset(
            s,
            req.username,
            hash_refresh_token(token),
            config.password_reset_ttl_s,
            max_per_window=RESET_MAX_PER_ACCOUNT,
            window_s=RESET_WINDOW_S,
        )
    if row is not None:
        email.send(_reset_email(str(row["email"]), str(row["username"]), token))
        logger.info("password reset sent", extra={"userId": str(row["id"])})
        count("PasswordResetSent")
    return RESET_ACCEPTED


def confirm_password_reset(req: PasswordResetConfirmation) -> None:
    """Set a new password with a reset token: once, before it expires; every refresh token
    of the account is revoked (every device signs in again)."""
    new_hash = hash_password(req.new_password)  # before the transaction: no lock held
    with db.transaction() as s:
        row = repository.reset_password(s, hash_refresh_token(req.token), new_hash)
    if row is None:
        raise errors.unprocessable(
            "The reset token is invalid, expired or already used; ask for a new one.",
            [errors.FieldProblem("token", "is invalid, expired or already used")],
        )
    logger.info("password reset", extra={"userId": str(row["id"])})
    count("PasswordReset")
