"""The event schemas under events/schemas and the samples under events/bus agree with the wiring.

That the samples are what `local.sample_events` generates is checked in test_sample_events.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import wiring
from local import event_schemas
from local.sample_events import EVENTS_DIR

BUS_DIR = EVENTS_DIR / "bus"
SCHEMAS_DIR = event_schemas.SCHEMAS_DIR
TYPES = sorted(wiring.EVENT_TYPES)


def sample(detail_type: str) -> dict[str, Any]:
    loaded = json.loads((BUS_DIR / f"{detail_type}.json").read_text())
    assert isinstance(loaded, dict)
    return loaded


def invalid(event: dict[str, Any]) -> str:
    with pytest.raises(jsonschema.ValidationError) as caught:
        event_schemas.validate(event)
    return caught.value.message


@pytest.mark.parametrize("path", sorted(BUS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_every_bus_sample_validates(path: Path) -> None:
    event = json.loads(path.read_text())
    assert event["detail-type"] == path.stem
    event_schemas.validate(event)


def test_every_event_type_has_a_schema_and_a_sample() -> None:
    for detail_type in TYPES:
        assert (SCHEMAS_DIR / f"{detail_type}.json").is_file(), detail_type
        assert (BUS_DIR / f"{detail_type}.json").is_file(), detail_type


def test_no_schema_or_sample_without_a_declared_event_type() -> None:
    schemas = {p.stem for p in SCHEMAS_DIR.glob("*.json")} - {"envelope"}
    samples = {p.stem for p in BUS_DIR.glob("*.json")}
    assert schemas == set(TYPES)
    assert samples == set(TYPES)


def test_every_schema_is_a_valid_draft_2020_12_schema() -> None:
    for path in SCHEMAS_DIR.glob("*.json"):
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))
    for detail_type in TYPES:
        jsonschema.Draft202012Validator.check_schema(event_schemas.schema_for(detail_type))


@pytest.mark.parametrize("detail_type", TYPES)
def test_samples_follow_the_declared_envelope(detail_type: str) -> None:
    event = sample(detail_type)
    assert event["source"] == f"inkwell.{wiring.EVENT_TYPES[detail_type]}"
    assert set(event["detail"]) == {"eventId", "occurredAt", "correlationId", "version", "data"}
    for consumer in wiring.consumers_of(detail_type):  # each subscribed rule matches it
        pattern = consumer.pattern()
        assert event["source"] in pattern["source"]
        assert event["detail-type"] in pattern["detail-type"]


@pytest.mark.parametrize("detail_type", TYPES)
def test_an_extra_data_field_fails(detail_type: str) -> None:
    event = sample(detail_type)
    event["detail"]["data"]["favouriteColour"] = "teal"
    assert "favouriteColour" in invalid(event)


@pytest.mark.parametrize("detail_type", TYPES)
def test_an_email_in_the_data_fails(detail_type: str) -> None:
    event = sample(detail_type)
    event["detail"]["data"]["email"] = "alice@example.com"
    assert "email" in invalid(event)


@pytest.mark.parametrize("detail_type", TYPES)
def test_every_missing_data_field_fails(detail_type: str) -> None:
    base = sample(detail_type)
    required = event_schemas.schema_for(detail_type)["properties"]["detail"]["properties"]["data"][
        "required"
    ]
    assert required, f"{detail_type} requires no data field"
    for name in required:
        event = copy.deepcopy(base)
        del event["detail"]["data"][name]
        assert name in invalid(event)


@pytest.mark.parametrize("field", ["eventId", "occurredAt", "correlationId", "version", "data"])
def test_every_missing_envelope_field_fails(field: str) -> None:
    event = sample("user.registered")
    del event["detail"][field]
    assert field in invalid(event)


def test_an_extra_envelope_field_fails() -> None:
    event = sample("user.registered")
    event["detail"]["email"] = "alice@example.com"
    assert "email" in invalid(event)


def test_source_and_detail_type_are_pinned_to_the_wiring() -> None:
    event = sample("user.registered")
    event["source"] = "inkwell.content"
    invalid(event)
    event = sample("user.registered")
    event["detail-type"] = "user.updated"  # the user.updated data schema lacks role/createdAt
    invalid(event)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("detail", "eventId"), "not-a-uuid"),
        (("detail", "occurredAt"), "2025-01-15 09:30:00"),
        (("detail", "version"), 0),
        (("detail", "data", "id"), "42"),
        (("detail", "data", "username"), "has space"),
        (("detail", "data", "role"), "root"),
        (("detail", "data", "firstName"), "x" * 51),
    ],
    ids=lambda v: ".".join(v) if isinstance(v, tuple) else None,
)
def test_malformed_values_fail(path: tuple[str, ...], value: Any) -> None:
    event = sample("user.registered")
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    invalid(event)


def test_an_undeclared_event_type_has_no_schema() -> None:
    with pytest.raises(KeyError, match=r"wiring\.EVENT_TYPES"):
        event_schemas.schema_for("user.exploded")
    event = sample("user.registered")
    event["detail-type"] = "user.exploded"
    with pytest.raises(KeyError):
        event_schemas.validate(event)
