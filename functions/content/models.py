"""Request and response bodies of the content API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StringConstraints,
    field_validator,
)

from inkwell.models import RequestModel, ResponseModel

Status = Literal["draft", "scheduled", "published"]

MAX_TITLE = 200
MAX_SUMMARY = 500
MAX_BODY_BYTES = 100_000
MAX_TAGS = 10
MAX_TAG = 30


def _fits_body(value: str) -> str:
    if len(value.encode()) > MAX_BODY_BYTES:
        raise ValueError(f"must be at most {MAX_BODY_BYTES} bytes in UTF-8")
    return value


def _clean_tag(value: str) -> str:
    if any(not ch.isprintable() for ch in value):
        raise ValueError("must not contain control characters")
    return " ".join(value.split())  # inner runs of whitespace become one space


def _distinct_tags(values: list[str]) -> list[str]:
    distinct = list(dict.fromkeys(values))  # first occurrence wins, order kept
    if len(distinct) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} distinct tags")
    return distinct


def _iso_text(value: object) -> object:
    # Lax datetime parsing would take 12 as 1970-01-01T00:00:12Z: only ISO 8601 text here.
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time with a time zone")
    return value


When = Annotated[AwareDatetime, BeforeValidator(_iso_text)]

Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE),
    Field(description=f"1-{MAX_TITLE} characters."),
]
Summary = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_SUMMARY),
    Field(description=f"Up to {MAX_SUMMARY} characters."),
]
Body = Annotated[
    str,
    AfterValidator(_fits_body),
    Field(description=f"Up to {MAX_BODY_BYTES} bytes in UTF-8."),
]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=MAX_TAG),
    AfterValidator(_clean_tag),
]
Tags = Annotated[
    list[Tag],
    Field(
        max_length=100,
        description=f"Up to {MAX_TAGS} distinct tags of 1-{MAX_TAG} "
        "characters; stored lower-cased.",
    ),
    AfterValidator(_distinct_tags),
]


class CreatePostRequest(RequestModel):
    title: Title
    summary: Summary = ""
    body: Body = ""
    # A plain default (pydantic copies it), not default_factory=list: pydantic would inspect
    # list's signature when the class is built, at every cold start.
    tags: Tags = []


class UpdatePostRequest(RequestModel):
    """Only the fields present change; none of them may be null."""

    title: Title | None = None
    summary: Summary | None = None
    body: Body | None = None
    tags: Tags | None = None

    @field_validator("title", "summary", "body", "tags", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields the request carries (defaults are not validated).
        if value is None:
            raise ValueError("cannot be null")
        return value


class PublishRequest(RequestModel):
    publish_at: When | None = Field(
        default=None,
        description="When to publish (ISO 8601 with a time zone). In the future: the post is "
        "scheduled; absent or past: it is published now.",
    )


class Author(ResponseModel):
    id: UUID
    username: str
    first_name: str | None
    last_name: str | None


class PostSummary(ResponseModel):
    """A post as lists show it: everything but the body."""

    id: UUID
    slug: str
    title: str
    summary: str
    tags: list[str]
    status: Status
    author: Author
    published_at: datetime | None
    publish_at: datetime | None = Field(description="When a scheduled post goes out.")
    created_at: datetime
    updated_at: datetime
    favorites_count: int
    favorited: bool = Field(description="Whether the caller favorited it (false if anonymous).")


class Post(PostSummary):
    body: str


class TagCount(ResponseModel):
    tag: str
    count: int = Field(description="Published posts (of active authors) with this tag.")


class TagList(ResponseModel):
    items: list[TagCount]
    next_cursor: str | None = Field(description="The next page's cursor; null on the last.")
