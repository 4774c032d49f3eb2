"""Request and response bodies of the users API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from inkwell.models import RequestModel, ResponseModel
from inkwell.passwords import MAX_PASSWORD_BYTES

Role = Literal["user", "moderator", "admin"]


def _fits_bcrypt(value: str) -> str:
    if len(value.encode()) > MAX_PASSWORD_BYTES:
        raise ValueError(f"must be at most {MAX_PASSWORD_BYTES} bytes in UTF-8")
    return value


Username = Annotated[
    str,
    StringConstraints(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9_-]+$"),
    Field(description="3-50 letters, digits, '_' or '-'."),
]
Password = Annotated[
    str,
    StringConstraints(min_length=8, max_length=MAX_PASSWORD_BYTES),
    AfterValidator(_fits_bcrypt),
    Field(description="8 characters to 72 bytes in UTF-8."),
]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=50)]
Email = Annotated[EmailStr, StringConstraints(max_length=254)]
Bio = Annotated[str, StringConstraints(max_length=1000)]


class RegisterRequest(RequestModel):
    username: Username
    email: Email
    password: Password
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    bio: Bio = ""


class LoginRequest(RequestModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=254)] = Field(
        description="A username or an email address."
    )
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class PasswordResetRequest(RequestModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=254)] = Field(
        description="The username or the email address of the account."
    )


class PasswordResetConfirmation(RequestModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="The token of the reset email."
    )
    new_password: Password


class RefreshRequest(RequestModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class UpdateUserRequest(RequestModel):
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    email: Email | None = None
    bio: Bio | None = None


class ChangePasswordRequest(RequestModel):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    new_password: Password


class ChangeRoleRequest(RequestModel):
    role: Role


class PublicUser(ResponseModel):
    """A user as anyone may see them."""

    id: UUID
    username: str
    first_name: str | None
    last_name: str | None
    bio: str
    role: Role
    is_active: bool
    created_at: datetime
    updated_at: datetime


class User(PublicUser):
    """A user as they themselves, or an admin, see them."""

    email: str


class TokenResponse(ResponseModel):
    token: str
    refresh_token: str
    expires_in: int = Field(description="Seconds until the access token expires.")
    token_type: Literal["Bearer"] = "Bearer"
    user: User


class PasswordResetAccepted(ResponseModel):
    message: str
