"""The event models: the schemas are generated from them, the samples match them, and a
consumer refuses data that does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import wiring
from inkwell.consumers import InvalidEvent, ReceivedEvent
from inkwell.event_models import MODELS, UserFollowed
from local import event_schemas

BUS_SAMPLES = Path(__file__).resolve().parents[2] / "events" / "bus"


def test_there_is_one_model_per_event_type() -> None:
    assert set(MODELS) == set(wiring.EVENT_TYPES)
    assert all(detail_type == model.TYPE for detail_type, model in MODELS.items())


def test_the_schemas_are_generated_from_the_models() -> None:
    assert event_schemas.stale() == [], "run `make schemas`"


def test_a_changed_model_makes_its_schema_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    class Changed(UserFollowed):
        """A user started following another user."""

    monkeypatch.setitem(MODELS, "user.followed", Changed)
    assert event_schemas.stale() == ["user.followed.json"]


@pytest.mark.parametrize("detail_type", sorted(wiring.EVENT_TYPES))
def test_each_sample_parses_into_its_model_and_back(detail_type: str) -> None:
    event = json.loads((BUS_SAMPLES / f"{detail_type}.json").read_text())
    event_schemas.validate(event)
    received = ReceivedEvent.from_eventbridge(event)
    assert isinstance(received.data, MODELS[detail_type])
    assert received.data.model_dump(by_alias=True) == event["detail"]["data"]


def test_data_that_does_not_match_its_model_is_refused_naming_the_field_only() -> None:
    event = json.loads((BUS_SAMPLES / "user.followed.json").read_text())
    event["detail"]["data"]["followerId"] = "Robert'); DROP TABLE follows;--"
    with pytest.raises(InvalidEvent) as refused:
        ReceivedEvent.from_eventbridge(event)
    assert "followerId" in str(refused.value)
    assert "DROP" not in str(refused.value)
    event["detail"]["data"] = {**event["detail"]["data"], "followerId": "0" * 36, "email": "x"}
    with pytest.raises(InvalidEvent, match="email"):
        ReceivedEvent.from_eventbridge(event)
