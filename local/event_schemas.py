"""The JSON schemas of Inkwell's events (``events/schemas/``), and validation against them.

``envelope.json`` is the EventBridge event with Inkwell's detail envelope; each
``<detail-type>.json`` is the schema of that event type's ``data``, generated from its model
in ``inkwell.event_models``: ``python -m local.event_schemas`` (``make schemas``) rewrites
them, ``--check`` only reports stale ones (a test does). A full schema pins the source and
detail-type from ``wiring.EVENT_TYPES``, so a schema, a model, a sample and the wiring
cannot drift apart unnoticed.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

import wiring
from inkwell.event_models import MODELS, EventData

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
    """Raise jsonschema.ValidationError when `event` does not match its type's schema, and
    pydantic's ValidationError when its data does not match its type's model."""
    detail_type = str(event.get("detail-type"))
    jsonschema.validate(event, schema_for(detail_type))
    MODELS[detail_type].model_validate(event["detail"]["data"])


# The order of a property's keywords in the schema files.
_KEYWORDS = ("type", "pattern", "minLength", "maxLength", "minimum")


def _property(generated: dict[str, Any]) -> dict[str, Any]:
    """One property of pydantic's schema in the compact form of the schema files:
    ``{"type": ["string", "null"], ...}`` for a nullable value, ``const``/``enum`` alone."""
    variants = generated.get("anyOf", [generated])
    nullable = {"type": "null"} in variants
    (value, *others) = [v for v in variants if v != {"type": "null"}] or [{"type": "null"}]
    if others:
        raise ValueError(f"a property may be one type or null, got {generated}")
    for alone in ("const", "enum"):
        if alone in value:
            choices = value[alone] if alone == "enum" else [value[alone]]
            return {alone: value[alone] if not nullable else [*choices, None]}
    out = {key: value[key] for key in _KEYWORDS if key in value}
    unknown = set(value) - set(_KEYWORDS) - {"title"}
    if unknown:
        raise ValueError(f"no compact form for {sorted(unknown)} in {generated}")
    if nullable and value.get("type") != "null":
        out["type"] = [value["type"], "null"]
    return out


def data_schema(model: type[EventData]) -> dict[str, Any]:
    """The JSON schema of an event type's data, from its model."""
    generated = model.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"inkwell/{model.TYPE}.json",
        "title": f"data of {model.TYPE}",
        "description": " ".join(str(generated["description"]).split()),
        "type": "object",
        "required": generated["required"],
        "additionalProperties": False,
        "properties": {name: _property(p) for name, p in generated["properties"].items()},
    }


def generate() -> dict[str, str]:
    """Every generated schema file's name and exact content."""
    if set(MODELS) != set(wiring.EVENT_TYPES):
        raise KeyError(
            "inkwell.event_models.MODELS and wiring.EVENT_TYPES name different "
            f"event types: {sorted(set(MODELS) ^ set(wiring.EVENT_TYPES))}"
        )
    return {f"{t}.json": json.dumps(data_schema(m), indent=2) + "\n" for t, m in MODELS.items()}


def stale() -> list[str]:
    """The schema files that are missing or differ from what `generate` produces."""
    return sorted(
        name
        for name, text in generate().items()
        if not (SCHEMAS_DIR / name).exists() or (SCHEMAS_DIR / name).read_text() != text
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.event_schemas",
        description="Generate events/schemas/ from the models.",
    )
    parser.add_argument("--check", action="store_true", help="only report stale schemas")
    args = parser.parse_args(argv)
    names = stale()
    if args.check:
        for name in names:
            print(f"stale: events/schemas/{name}")
        return 1 if names else 0
    for name, text in generate().items():
        if name in names:
            (SCHEMAS_DIR / name).write_text(text)
            print(f"wrote events/schemas/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
