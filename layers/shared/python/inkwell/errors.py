"""The one error contract: every error is an RFC 9457 problem+json document."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"


@dataclass
class FieldProblem:
    """One invalid field of a request: where it is and what is wrong with it."""

    field: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class Problem(Exception):
    """An error with an HTTP status that is safe to show to the caller as it is."""

    status: int
    detail: str
    errors: list[FieldProblem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    title: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.detail)
        if not self.title:
            self.title = HTTPStatus(self.status).phrase

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.to_dict() for e in self.errors]
        return body

    def to_json(self) -> bytes:
        """The body as every part of the platform writes it (functions and gateway alike):
        compact, UTF-8."""
        return json.dumps(
            self.to_dict(), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode()


def bad_request(detail: str) -> Problem:
    return Problem(400, detail)


def unauthorized(detail: str = "Missing or invalid credentials.") -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="inkwell"'})


# Every domain answers a caller whose account is gone or deactivated the same way.
ACCOUNT_INACTIVE = "This account no longer exists or was deactivated."


def account_inactive() -> Problem:
    """The token is genuine, but its account was deactivated (or deleted) since it was
    issued: nothing more may be done with it."""
    return unauthorized(ACCOUNT_INACTIVE)


def forbidden(detail: str = "You are not allowed to do this.") -> Problem:
    return Problem(403, detail)


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} was not found.")


def valid_id(value: str, what: str) -> str:
    """An id from a path in canonical form; one that is not a UUID names nothing: 404."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise not_found(what) from None


def conflict(detail: str) -> Problem:
    return Problem(409, detail)


def unprocessable(detail: str, errors: list[FieldProblem] | None = None) -> Problem:
    return Problem(422, detail, errors=errors or [])


def too_many_requests(detail: str, retry_after_s: int) -> Problem:
    return Problem(429, detail, headers={"Retry-After": str(max(1, retry_after_s))})


def service_unavailable(detail: str, retry_after_s: int = 1) -> Problem:
    return Problem(503, detail, headers={"Retry-After": str(retry_after_s)})


def internal_error() -> Problem:
    return Problem(500, "An unexpected error occurred. It has been logged; quote the request id.")
