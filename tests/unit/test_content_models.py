"""The content request models: normalisation and the limits, each failure naming its field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from content.models import (
    MAX_BODY_BYTES,
    CreatePostRequest,
    PublishRequest,
    UpdatePostRequest,
)


def failing_fields(model: Any, body: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}


def test_tags_are_stripped_lower_cased_collapsed_and_deduplicated_in_order() -> None:
    req = CreatePostRequest.model_validate(
        {"title": "t", "tags": [" Tea ", "tea", "MAD   hatter", "Mad Hatter", "ünï", "ÜNÏ"]}
    )
    assert req.tags == ["tea", "mad hatter", "ünï"]


def test_ten_distinct_tags_after_deduplication_are_enough() -> None:
    tags = [f"t{i}" for i in range(10)] + [f"T{i}" for i in range(10)]
    assert len(CreatePostRequest.model_validate({"title": "t", "tags": tags}).tags) == 10
    assert failing_fields(CreatePostRequest, {"title": "t", "tags": [*tags, "eleven"]}) == {"tags"}


def test_defaults_and_stripping() -> None:
    req = CreatePostRequest.model_validate({"title": "  Title  ", "summary": "  s  "})
    assert (req.title, req.summary, req.body, req.tags) == ("Title", "s", "", [])
    body = "  indented\n\n"
    assert CreatePostRequest.model_validate({"title": "t", "body": body}).body == body


def test_the_body_limit_is_in_bytes() -> None:
    assert CreatePostRequest.model_validate({"title": "t", "body": "€" * (MAX_BODY_BYTES // 3)})
    assert failing_fields(CreatePostRequest, {"title": "t", "body": "€" * 33_334}) == {"body"}


def test_an_update_knows_which_fields_were_sent() -> None:
    req = UpdatePostRequest.model_validate({"summary": "s"})
    assert req.model_dump(exclude_unset=True) == {"summary": "s"}
    assert failing_fields(UpdatePostRequest, {"title": None, "tags": None}) == {"title", "tags"}


def test_publish_at_needs_iso_text_with_a_time_zone() -> None:
    req = PublishRequest.model_validate({"publishAt": "2030-01-01T10:00:00+02:00"})
    assert req.publish_at == datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
    assert PublishRequest.model_validate({}).publish_at is None
    for value in ("2030-01-01T10:00:00", 1_900_000_000, "soon"):
        assert failing_fields(PublishRequest, {"publishAt": value}) == {"publishAt"}
