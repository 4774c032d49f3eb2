"""The OpenAPI document generated from the wiring: complete, secured, self-consistent."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

import wiring
from inkwell.errors import PROBLEM_CONTENT_TYPE
from local import openapi


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi.build()


def _operation(document: dict[str, Any], route: wiring.Route) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][route.path][route.method.lower()]
    return operation


def test_info_and_security_scheme(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "Inkwell API"
    assert document["info"]["version"] == openapi.project_version()
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }


def test_every_route_and_nothing_else(document: dict[str, Any]) -> None:
    declared = {(r.path, r.method.lower()) for r in wiring.ROUTES}
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert documented == declared


@pytest.mark.parametrize("route", wiring.ROUTES, ids=lambda r: r.name)
def test_operation_follows_the_wiring(document: dict[str, Any], route: wiring.Route) -> None:
    operation = _operation(document, route)
    assert operation["operationId"] == route.name
    assert (
        operation["security"]
        == {
            "required": [{"bearerAuth": []}],
            "optional": [{}, {"bearerAuth": []}],
            "none": [],
        }[route.auth]
    )
    default = operation["responses"]["default"]
    assert default["content"][PROBLEM_CONTENT_TYPE]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def test_every_ref_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    refs = openapi.refs(document)
    assert refs, "the document should reference component schemas"
    for ref in refs:
        assert ref.startswith(openapi.SCHEMA_REF_PREFIX), ref
        assert ref.removeprefix(openapi.SCHEMA_REF_PREFIX) in schemas, ref


def test_component_schemas_are_valid_json_schema(document: dict[str, Any]) -> None:
    for name, schema in document["components"]["schemas"].items():
        errors = list(Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema))
        assert not errors, f"schema {name} is not valid JSON Schema: {errors[0].message}"


def test_problem_schema_matches_what_the_api_returns(document: dict[str, Any]) -> None:
    from inkwell.errors import FieldProblem, Problem

    problem = Problem(422, "bad", errors=[FieldProblem("email", "is not an email")]).to_dict()
    Draft202012Validator(document["components"]["schemas"]["Problem"]).validate(problem)


def test_building_does_not_change_the_functions_own_documents() -> None:
    route = wiring.route_by_name("users-get-me")
    before = openapi.function_document(route)
    openapi.build()
    assert openapi.function_document(route) == before


def test_same_name_same_schema_merges() -> None:
    schemas: dict[str, Any] = {}
    owners: dict[str, str] = {}
    openapi.merge_schemas(schemas, owners, {"User": {"type": "object"}}, "a")
    openapi.merge_schemas(schemas, owners, {"User": {"type": "object"}}, "b")
    assert schemas == {"User": {"type": "object"}}


def test_same_name_different_schema_is_refused() -> None:
    schemas: dict[str, Any] = {}
    owners: dict[str, str] = {}
    openapi.merge_schemas(schemas, owners, {"User": {"type": "object"}}, "users-get-me")
    with pytest.raises(openapi.SchemaConflict, match="'User' differs between users-get-me and"):
        openapi.merge_schemas(schemas, owners, {"User": {"type": "string"}}, "content-x")
