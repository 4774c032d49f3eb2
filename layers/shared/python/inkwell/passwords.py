"""Password hashing with bcrypt."""

from __future__ import annotations

from functools import cache

import bcrypt

from inkwell.settings import settings

MAX_PASSWORD_BYTES = 72  # bcrypt ignores (bcrypt>=5: rejects) anything longer


@cache
def _dummy_hash() -> bytes:
    """A hash at the configured cost: checking it costs what a real check costs, so
    "no such user" takes as long as "wrong password"."""
    return bcrypt.hashpw(b"inkwell-timing-equaliser", bcrypt.gensalt(settings().bcrypt_rounds))


def hash_password(password: str) -> str:
    salt = bcrypt.gensalt(rounds=settings().bcrypt_rounds)
    return bcrypt.hashpw(password.encode(), salt).decode()


def verify_password(password: str, hashed: str | None) -> bool:
    candidate = password.encode()
    if len(candidate) > MAX_PASSWORD_BYTES:
        return False
    if hashed is None:
        bcrypt.checkpw(candidate, _dummy_hash())
        return False
    return bcrypt.checkpw(candidate, hashed.encode())
