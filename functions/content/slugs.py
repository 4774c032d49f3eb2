"""Slugs: the readable, unique, stable name of a post in its URL.

A slug comes from the title: ASCII (accents folded, other characters dropped), lower case,
words joined by single hyphens, at most `MAX_BASE_LENGTH` characters, cut at a word boundary.
Uniqueness is decided by the database's unique index, never by looking first: the repository
inserts the plain slug and, when the index says it is taken, tries again with a short random
suffix (`with_suffix`), so concurrent writers of the same title all end up with their own.

GET /posts/{id} takes an id or a slug, so a slug must never look like a post id (a UUID in
any form Python or PostgreSQL accepts); nor may it be a word a fixed path could use next to
it, or empty.
"""

from __future__ import annotations

import re
import secrets
import string
import unicodedata
import uuid

MAX_BASE_LENGTH = 60
SUFFIX_LENGTH = 6
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
_NOT_WORD = re.compile(r"[^a-z0-9]+")
# Canonical UUID text: what GET /posts/{id} treats as an id rather than a slug.
_CANONICAL_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
# Words a fixed path beside /posts/{id} (or a future one) may use: never a post's slug.
RESERVED = frozenset(
    {
        "new",
        "edit",
        "drafts",
        "feed",
        "search",
        "tags",
        "me",
        "mine",
        "scheduled",
        "published",
        "favorites",
        "favorite",
        "publish",
        "unpublish",
    }
)
FALLBACK = "post"


def is_post_id(value: str) -> bool:
    """Whether GET /posts/{value} means a post id (else it is a slug)."""
    return bool(_CANONICAL_UUID.match(value))


def _uuid_shaped(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def slugify(title: str) -> str:
    """The base slug of a title (without any suffix)."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_WORD.sub("-", folded.lower()).strip("-")
    if len(slug) > MAX_BASE_LENGTH:
        cut = slug[:MAX_BASE_LENGTH]
        boundary = cut.rfind("-")
        slug = (cut[:boundary] if boundary >= MAX_BASE_LENGTH // 2 else cut).strip("-")
    if not slug:
        return FALLBACK
    if slug in RESERVED or _uuid_shaped(slug):
        return f"{FALLBACK}-{slug}"
    return slug


def with_suffix(base: str) -> str:
    """`base` with a short random suffix: the candidate after the plain slug was taken."""
    while True:
        suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(SUFFIX_LENGTH))
        slug = f"{base}-{suffix}"
        if not _uuid_shaped(slug):  # 26 hex digits of title and 6 of suffix would be
            return slug


def candidates(title: str, attempts: int) -> list[str]:
    """The slugs to try, in order: the plain one, then `attempts - 1` suffixed ones."""
    base = slugify(title)
    return [base, *(with_suffix(base) for _ in range(attempts - 1))]
