"""Who is calling: the identity the authorizer verified and passes to every function.

Kept apart from `inkwell.tokens` so that functions that only read the caller's identity
do not import the JWT library at cold start.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("user", "moderator", "admin")


@dataclass(frozen=True)
class Principal:
    """The verified caller of a request."""

    user_id: str
    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")
