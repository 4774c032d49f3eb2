"""The JSON schemas of Inkwell's events (``events/schemas/``), and validation against them.

``envelope.json`` is the EventBridge event with Inkwell's detail envelope; each
``<detail-type>.json`` is the schema of that event type's ``data``. A full schema pins the
source and detail-type from ``wiring.EVENT_TYPES``, so a schema, a sample and the wiring
cannot drift apart unnoticed.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

import wiring

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "events" / "schemas"


def _load(name: str) -> dict[str, Any]:
    loaded = json.loads((SCHEMAS_DIR / f"{name}.json").read_text())
    assert isinstance(loaded, dict)
    return loaded


@cache
def schema_for(detail_type: str) -> dict[str, Any]:
    """The schema of a whole EventBridge event of `detail_type`."""
    if detail_type not in wiring.EVENT_TYPES:
        raise KeyError(f"{detail_type} is not declared in wiring.EVENT_TYPES")
    schema = copy.deepcopy(_load("envelope"))
    properties = schema["properties"]
    properties["source"] = {"const": f"inkwell.{wiring.EVENT_TYPES[detail_type]}"}
    properties["detail-type"] = {"const": detail_type}
    data = _load(detail_type)
    data.pop("$schema", None)
    data.pop("$id", None)
    properties["detail"]["properties"]["data"] = data
    return schema


def validate(event: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when `event` does not match its type's schema."""
    jsonschema.validate(event, schema_for(str(event.get("detail-type"))))
