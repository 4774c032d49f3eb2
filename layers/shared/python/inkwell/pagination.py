"""Keyset pagination: opaque cursors that carry the sort key of the last item seen.

Page N costs what page 1 costs, and rows added between two pages cause neither gaps nor
duplicates, because the next page starts strictly after the last key returned.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query

from inkwell.errors import Problem

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-100).")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="The nextCursor of the previous page.")
]


def encode_cursor(*key: Any) -> str:
    raw = json.dumps([str(k) for k in key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, list) or len(key) != parts or not all(isinstance(k, str) for k in key):
        raise invalid_cursor()
    return key


def invalid_cursor() -> Problem:
    """400: a cursor that no page handed out."""
    return Problem(400, "The cursor is not valid; use the nextCursor of a previous page.")


TimeKey = tuple[datetime, str]


def decode_time_key(cursor: str | None) -> TimeKey | None:
    """The (timestamp, id) of a cursor made by ``encode_cursor(at.isoformat(), id)``, the
    sort key of most lists; None without a cursor, 400 for one that is not such a key."""
    if not cursor:
        return None
    at, last_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(at), str(uuid.UUID(last_id))
    except ValueError:
        raise invalid_cursor() from None
