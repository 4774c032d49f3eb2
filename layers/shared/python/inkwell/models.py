"""Base models for the JSON API: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator
from pydantic.alias_generators import to_camel


class RequestModel(BaseModel):
    """A request body: camelCase fields only, unknown fields rejected (422)."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", validate_by_name=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL text cannot hold NUL: refuse it here, naming the field, not in the DB.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class ResponseModel(BaseModel):
    """A response body: built from snake_case names, written out in camelCase."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, serialize_by_alias=True
    )


Item = TypeVar("Item")


class Page(ResponseModel, Generic[Item]):
    items: list[Item]
    next_cursor: str | None


Text = Annotated[str, StringConstraints(strip_whitespace=True)]
