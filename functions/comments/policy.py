"""The moderation policy: which comments wait for a moderator, and the limits around them.

Everything a deployment may want to tune about moderation is here, and nowhere else:
the service asks `hold_reason` whether a comment is held, and uses the constants below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

# Comments with more links than this wait for a moderator.
MAX_LINKS = 2
# Words (whole, any case) that send a comment to the queue.
BLOCKED_WORDS: frozenset[str] = frozenset(
    {
        "casino",
        "viagra",
        "cialis",
        "payday",
        "crypto-giveaway",
        "xxx",
    }
)
# Distinct readers' reports that send an approved comment back to the queue.
REPORT_THRESHOLD = 3
# How long after posting its author may edit a comment.
EDIT_WINDOW = timedelta(minutes=15)

_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_WORD = re.compile(r"[\w-]+", re.UNICODE)


@dataclass(frozen=True)
class Author:
    """What the policy knows of a comment's author."""

    is_staff: bool  # moderator or admin
    is_post_author: bool
    has_approved_comment: bool

    @property
    def never_held(self) -> bool:
        return self.is_staff or self.is_post_author


def content_hold_reason(body: str) -> str | None:
    """Why this text needs a moderator whoever wrote it, or None."""
    links = len(_LINK.findall(body))
    if links > MAX_LINKS:
        return f"more than {MAX_LINKS} links"
    words = {word.lower() for word in _WORD.findall(body)}
    if words & BLOCKED_WORDS:
        return "blocked words"
    return None


def hold_reason(body: str, author: Author) -> str | None:
    """Why a new comment waits in the moderation queue, or None to approve it at once."""
    if author.never_held:
        return None
    if not author.has_approved_comment:
        return "first comment"
    return content_hold_reason(body)


def edit_hold_reason(body: str, author: Author) -> str | None:
    """Why an edited comment goes back to the queue (its author was trusted already)."""
    if author.never_held:
        return None
    return content_hold_reason(body)
