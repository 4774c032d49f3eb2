"""The OpenAPI 3.1 document of the whole Inkwell API, generated from wiring.ROUTES.

Each function is its own FastAPI app and knows only its own operation, so the document is
assembled here: every route's handler module is imported, its `api.openapi()` is taken, and
the paths and component schemas are merged. Security comes from the wiring (``route.auth``),
not from the functions, because on AWS it is API Gateway that enforces it.

Run ``python -m local.openapi`` to print the document.
"""

from __future__ import annotations

import copy
import importlib
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import wiring
from inkwell.errors import PROBLEM_CONTENT_TYPE
from inkwell.http import FunctionApp

Document = dict[str, Any]

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
TITLE = "Inkwell API"
SECURITY_SCHEME = "bearerAuth"
SCHEMA_REF_PREFIX = "#/components/schemas/"

# What API Gateway lets through, per wiring.Auth: an empty requirement ({}) means
# "anonymous is fine", so optional auth lists both alternatives.
SECURITY: dict[wiring.Auth, list[dict[str, list[str]]]] = {
    "required": [{SECURITY_SCHEME: []}],
    "optional": [{}, {SECURITY_SCHEME: []}],
    "none": [],
}

# RFC 9457, as inkwell.errors.Problem writes it. The functions only say "default: problem+json"
# without a schema; the schema is given once, here.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "An RFC 9457 problem document: every error of the API has this shape.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "example": "about:blank"},
        "title": {"type": "string", "example": "Unprocessable Content"},
        "status": {"type": "integer", "example": 422},
        "detail": {"type": "string", "example": "The request has invalid fields."},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "The invalid fields, for validation failures.",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


class SchemaConflict(Exception):
    """Two functions publish different schemas under the same component name."""


def project_version() -> str:
    with PYPROJECT.open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def function_document(route: wiring.Route) -> Document:
    """The OpenAPI document of one function, as its own FastAPI app generates it."""
    module = importlib.import_module(route.module)
    app = getattr(module, "api", None)
    if not isinstance(app, FunctionApp):
        raise TypeError(f"{route.module} (route {route.name}) has no FunctionApp named 'api'")
    # FastAPI caches the document on the app: copy before changing anything.
    return copy.deepcopy(app.openapi())


def _operation(route: wiring.Route, doc: Document) -> dict[str, Any]:
    try:
        operation: dict[str, Any] = doc["paths"][route.path][route.method.lower()]
    except KeyError:
        raise ValueError(
            f"{route.module} does not define {route.method} {route.path} (route {route.name})"
        ) from None
    operation["security"] = copy.deepcopy(SECURITY[route.auth])
    problem = {"schema": {"$ref": f"{SCHEMA_REF_PREFIX}Problem"}}
    responses = operation.setdefault("responses", {})
    default = responses.setdefault("default", {"description": "Problem"})
    default["content"] = {PROBLEM_CONTENT_TYPE: problem}
    return operation


def merge_schemas(
    schemas: dict[str, Any], owners: dict[str, str], new: dict[str, Any], owner: str
) -> None:
    for name, schema in new.items():
        if name not in schemas:
            schemas[name], owners[name] = schema, owner
        elif schemas[name] != schema:
            # Swagger would silently show one of them: refuse instead, naming both sides.
            raise SchemaConflict(
                f"schema {name!r} differs between {owners[name]} and {owner}: "
                "rename one of the models, or share a single model"
            )


def build() -> Document:
    """The merged document of every route in wiring.ROUTES."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    owners: dict[str, str] = {"Problem": "local.openapi"}
    for route in wiring.ROUTES:
        doc = function_document(route)
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, doc)
        merge_schemas(schemas, owners, doc.get("components", {}).get("schemas", {}), route.name)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": project_version(),
            "description": "Every error is application/problem+json; every response carries "
            "X-Request-ID.",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                SECURITY_SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def refs(node: Any) -> list[str]:
    """Every "$ref" value anywhere in `node`."""
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            found.extend(refs(value))
        return found
    if isinstance(node, list):
        return [ref for item in node for ref in refs(item)]
    return []


def main() -> int:
    json.dump(build(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
