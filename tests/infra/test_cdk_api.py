"""The REST API: routes, authorizers, throttling, WAF, gateway responses, CORS, outputs."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match

import wiring
from infra.cdk.inkwell_infra.api import (
    credential_routes,
    sibling_variable_conflicts,
    validate_route_paths,
)
from inkwell.errors import PROBLEM_CONTENT_TYPE, Problem
from tests.infra.conftest import Synthesized
from tests.infra.helpers import (
    domain_databases,
    function_id,
    function_props,
    only,
    ref,
    refs_in,
)

pytestmark = pytest.mark.xdist_group("cdk")


def resource_paths(synth: Synthesized) -> dict[str, str]:
    """AWS::ApiGateway::Resource logical id -> full path (/api/v1/users/{id})."""
    resources = synth.of_type("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = resources[logical_id]["Properties"]
            parent = props["ParentId"]
            prefix = "" if "Fn::GetAtt" in parent else path_of(parent["Ref"])
            paths[logical_id] = f"{prefix}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id in resources:
        path_of(logical_id)
    return paths


def methods_by_route(synth: Synthesized) -> dict[tuple[str, str], dict[str, Any]]:
    """(HTTP method, path) -> Method properties, preflight OPTIONS excluded."""
    paths = resource_paths(synth)
    methods: dict[tuple[str, str], dict[str, Any]] = {}
    for method in synth.of_type("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        if props["HttpMethod"] == "OPTIONS":
            continue
        resource = props["ResourceId"]
        path = "/" if "Fn::GetAtt" in resource else paths[resource["Ref"]]
        key = (props["HttpMethod"], path)
        assert key not in methods, f"two methods for {key}"
        methods[key] = props
    return methods


def authorizer_id(synth: Synthesized, authorizer_type: str) -> str:
    logical_id, _ = only(
        {
            k: v
            for k, v in synth.of_type("AWS::ApiGateway::Authorizer").items()
            if v["Properties"]["Type"] == authorizer_type
        }
    )
    return logical_id


def test_every_route_is_a_lambda_proxy_method(synth: Synthesized) -> None:
    methods = methods_by_route(synth)
    assert set(methods) == {
        (method, r.path) for r in wiring.ROUTES for method in wiring.http_methods(r)
    }
    for route in wiring.ROUTES:
        for method in wiring.http_methods(route):
            integration = methods[(method, route.path)]["Integration"]
            assert integration["Type"] == "AWS_PROXY"
            assert integration["IntegrationHttpMethod"] == "POST"
            assert function_id(synth, route.name) in refs_in(integration["Uri"])


def test_every_get_route_answers_head_with_its_function_and_authorizer(
    synth: Synthesized,
) -> None:
    """Locally a HEAD is served by the GET route; on API Gateway a resource without a
    HEAD method would answer 403 (our 404): each GET route has its HEAD twin."""
    methods = methods_by_route(synth)
    gets = [r for r in wiring.ROUTES if r.method == "GET"]
    assert gets
    for route in gets:
        head, get = methods[("HEAD", route.path)], methods[("GET", route.path)]
        for key in ("Integration", "AuthorizationType", "AuthorizerId", "ResourceId"):
            assert head.get(key) == get.get(key), (route.name, key)
    heads = {path for method, path in methods if method == "HEAD"}
    assert heads == {r.path for r in gets}


def test_sibling_path_variables_share_one_name(synth: Synthesized) -> None:
    """API Gateway rejects a deployment in which one resource has two path-variable
    children (``/posts/{id}`` beside ``/posts/{slug}``); static siblings are fine."""
    paths = resource_paths(synth)
    children: dict[str, list[str]] = {}
    for logical_id, resource in synth.of_type("AWS::ApiGateway::Resource").items():
        parent = resource["Properties"]["ParentId"]
        parent_path = "/" if "Fn::GetAtt" in parent else paths[parent["Ref"]]
        children.setdefault(parent_path, []).append(resource["Properties"]["PathPart"])
        assert paths[logical_id].startswith(parent_path.rstrip("/") + "/")
    for parent_path, parts in children.items():
        assert len(parts) == len(set(parts)), f"duplicate resources under {parent_path}: {parts}"
        variables = sorted(p for p in parts if p.startswith("{"))
        assert len(variables) <= 1, (
            f"{parent_path} has sibling path variables {variables}: API Gateway rejects this"
        )
    assert sibling_variable_conflicts(r.path for r in wiring.ROUTES) == {}


def test_route_paths_api_gateway_would_reject_fail_the_synth() -> None:
    validate_route_paths(wiring.ROUTES)
    get_post = wiring.route_by_name("content-get-post")
    renamed = dataclasses.replace(get_post, path=get_post.path.replace("{id}", "{idOrSlug}"))
    routes = tuple(renamed if r == get_post else r for r in wiring.ROUTES)
    assert sibling_variable_conflicts(r.path for r in routes) == {
        "/api/v1/posts": {"{id}", "{idOrSlug}"}
    }
    with pytest.raises(ValueError, match="sibling path variables"):
        validate_route_paths(routes)
    # deeper down, and greedy variables count too
    assert sibling_variable_conflicts(["/a/{id}/b/{x}", "/a/{id}/b/{y}/c"]) == {
        "/a/{id}/b": {"{x}", "{y}"}
    }
    assert sibling_variable_conflicts(["/a/{id}", "/a/{proxy+}"]) == {"/a": {"{id}", "{proxy+}"}}
    # a static part beside a variable is allowed: /users/me beside /users/{id}
    assert not sibling_variable_conflicts(
        ["/api/v1/users/me/posts", "/api/v1/users/{id}/follow", "/api/v1/users/me"]
    )
    for bad in (
        (get_post, get_post),
        (dataclasses.replace(get_post, path="/api/v1/posts/{id"),),
        (dataclasses.replace(get_post, path="/api/v1/posts/"),),
        (dataclasses.replace(get_post, path="api/v1/posts"),),
        (dataclasses.replace(get_post, path="/api/v1//posts"),),
    ):
        with pytest.raises(ValueError):
            validate_route_paths(bad)


def test_users_me_posts_beside_the_user_id_routes(synth: Synthesized) -> None:
    paths = set(resource_paths(synth).values())
    assert {
        "/api/v1/users/me",
        "/api/v1/users/me/posts",
        "/api/v1/users/{id}",
        "/api/v1/users/{id}/follow",
        "/api/v1/posts/{id}/publish",
        "/api/v1/posts/{id}/favorite",
        "/api/v1/posts/{id}/comments",
        "/api/v1/comments/moderation",
        "/api/v1/comments/{id}",
        "/api/v1/comments/{id}/moderate",
        "/api/v1/notifications/read",
    } <= paths
    methods = methods_by_route(synth)
    for method, path, name in (
        ("GET", "/api/v1/users/me", "users-get-me"),
        ("GET", "/api/v1/users/me/posts", "content-list-my-posts"),
        ("GET", "/api/v1/users/{id}", "users-get-user"),
        ("POST", "/api/v1/users/{id}/follow", "users-follow-user"),
        ("DELETE", "/api/v1/users/{id}/follow", "users-unfollow-user"),
        ("GET", "/api/v1/posts/{id}", "content-get-post"),
        ("GET", "/api/v1/feed", "content-get-feed"),
        ("GET", "/api/v1/tags", "content-list-tags"),
        # comments of a post live under the post's {id}; the moderation queue is a static
        # sibling of a comment's {id}
        ("POST", "/api/v1/posts/{id}/comments", "comments-create-comment"),
        ("GET", "/api/v1/posts/{id}/comments", "comments-list-comments"),
        ("GET", "/api/v1/comments/moderation", "comments-moderation-queue"),
        ("PATCH", "/api/v1/comments/{id}", "comments-update-comment"),
        ("POST", "/api/v1/comments/{id}/report", "comments-report-comment"),
        ("POST", "/api/v1/notifications/read", "comments-mark-notifications-read"),
    ):
        integration = methods[(method, path)]["Integration"]
        assert function_id(synth, name) in refs_in(integration["Uri"]), (method, path)


def test_authorizers_match_route_auth(synth: Synthesized) -> None:
    token = authorizer_id(synth, "TOKEN")
    request = authorizer_id(synth, "REQUEST")
    methods = methods_by_route(synth)
    for route, method in ((r, m) for r in wiring.ROUTES for m in wiring.http_methods(r)):
        props = methods[(method, route.path)]
        if route.auth == "required":
            assert props["AuthorizationType"] == "CUSTOM"
            assert props["AuthorizerId"] == ref(token), route.name
        elif route.auth == "optional":
            assert props["AuthorizationType"] == "CUSTOM"
            assert props["AuthorizerId"] == ref(request), route.name
        else:
            assert props["AuthorizationType"] == "NONE"
            assert "AuthorizerId" not in props, route.name
    # and the wiring exercises all three kinds
    assert {r.auth for r in wiring.ROUTES} == {"required", "optional", "none"}


def test_authorizer_configuration(synth: Synthesized) -> None:
    authorizer_fn = function_id(synth, wiring.AUTHORIZER.name)
    token = synth.resources[authorizer_id(synth, "TOKEN")]["Properties"]
    assert token["IdentitySource"] == "method.request.header.Authorization"
    assert token["AuthorizerResultTtlInSeconds"] == 300
    request = synth.resources[authorizer_id(synth, "REQUEST")]["Properties"]
    assert "IdentitySource" not in request  # runs for anonymous callers too
    assert request["AuthorizerResultTtlInSeconds"] == 0
    for props in (token, request):
        assert authorizer_fn in refs_in(props["AuthorizerUri"])


def test_method_throttling_matches_wiring(synth: Synthesized) -> None:
    stage = only(synth.of_type("AWS::ApiGateway::Stage"))[1]["Properties"]
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["MethodSettings"]}
    for route in wiring.ROUTES:
        for method in wiring.http_methods(route):
            setting = settings[("/" + route.path.replace("/", "~1"), method)]
            assert setting["ThrottlingRateLimit"] == route.throttle.rate, route.name
            assert setting["ThrottlingBurstLimit"] == route.throttle.burst, route.name
    login = wiring.route_by_name("users-login")
    assert login.throttle == wiring.CREDENTIALS_THROTTLE
    assert settings[("/~1api~1v1~1users~1login", "POST")]["ThrottlingRateLimit"] == (
        wiring.CREDENTIALS_THROTTLE.rate
    )
    assert stage["StageName"] == "dev"
    assert stage["TracingEnabled"] is True


def test_waf_rate_limits_credential_routes_and_is_on_the_stage(synth: Synthesized) -> None:
    acl_id, acl = only(synth.of_type("AWS::WAFv2::WebACL"))
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL"
    rate_rules = {
        r["Name"]: r["Statement"]["RateBasedStatement"]
        for r in props["Rules"]
        if "RateBasedStatement" in r["Statement"]
    }
    scoped = [s for s in rate_rules.values() if "ScopeDownStatement" in s]
    general = [s for s in rate_rules.values() if "ScopeDownStatement" not in s]
    assert len(scoped) == 1 and len(general) == 1
    assert all(s["AggregateKeyType"] == "IP" for s in rate_rules.values())
    scope_down = json.dumps(scoped[0]["ScopeDownStatement"])
    expected = {r.path for r in credential_routes()}
    assert expected == {r.path for r in wiring.ROUTES if r.throttle == wiring.CREDENTIALS_THROTTLE}
    found = {
        s["ByteMatchStatement"]["SearchString"]
        for s in scoped[0]["ScopeDownStatement"]["OrStatement"]["Statements"]
    }
    assert found == expected, scope_down
    assert scoped[0]["Limit"] < general[0]["Limit"]
    for rule in props["Rules"]:
        if rule["Name"] in rate_rules:
            assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429

    stage_id, _ = only(synth.of_type("AWS::ApiGateway::Stage"))
    _, association = only(synth.of_type("AWS::WAFv2::WebACLAssociation"))
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert stage_id in refs_in(association["Properties"]["ResourceArn"])
    assert ":apigateway:" in json.dumps(association["Properties"]["ResourceArn"])


def test_gateway_responses_are_problem_json_with_request_id(synth: Synthesized) -> None:
    responses = {
        v["Properties"]["ResponseType"]: v["Properties"]
        for v in synth.of_type("AWS::ApiGateway::GatewayResponse").values()
    }
    required = {
        "UNAUTHORIZED",
        "ACCESS_DENIED",
        "THROTTLED",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
        "MISSING_AUTHENTICATION_TOKEN",
        "WAF_FILTERED",
        "INTEGRATION_TIMEOUT",
    }
    assert required <= set(responses)
    for response_type, props in responses.items():
        headers = props["ResponseParameters"]
        for name, value in wiring.SECURITY_HEADERS.items():
            assert headers[f"gatewayresponse.header.{name}"] == f"'{value}'", response_type
        assert headers["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
        assert headers["gatewayresponse.header.X-Request-ID"] == "context.requestId"
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == (
            "'http://localhost:3000'"
        )
        template = props["ResponseTemplates"]["application/json"]
        assert props["ResponseTemplates"][PROBLEM_CONTENT_TYPE] == template
        body = json.loads(template.replace("$context.error.messageString", '"message"'))
        assert list(body) == ["type", "title", "status", "detail"], response_type
        assert body["type"] == "about:blank"
        assert body["status"] == int(props["StatusCode"]), response_type
        # byte for byte what a function writes for the same problem
        as_function = Problem(body["status"], body["detail"], title=body["title"]).to_json()
        assert template.replace("$context.error.messageString", '"message"').encode() == (
            as_function
        ), response_type
    assert responses["UNAUTHORIZED"]["StatusCode"] == "401"
    assert responses["ACCESS_DENIED"]["StatusCode"] == "403"
    throttled = responses["THROTTLED"]
    assert throttled["StatusCode"] == "429"
    assert throttled["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"


def test_cors_preflight_uses_the_configured_origins(synth: Synthesized) -> None:
    synth.api_template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "OPTIONS",
            "AuthorizationType": "NONE",
            "Integration": Match.object_like(
                {
                    "Type": "MOCK",
                    "IntegrationResponses": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "ResponseParameters": Match.object_like(
                                        {
                                            "method.response.header.Access-Control-Allow-Origin": "'http://localhost:3000'"
                                        }
                                    )
                                }
                            )
                        ]
                    ),
                }
            ),
        },
    )


def test_cors_preflight_on_every_resource_with_a_route_and_only_there(
    synth: Synthesized,
) -> None:
    paths = resource_paths(synth)
    preflight: list[str] = []
    for method in synth.of_type("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        if props["HttpMethod"] == "OPTIONS":
            resource = props["ResourceId"]
            preflight.append("/" if "Fn::GetAtt" in resource else paths[resource["Ref"]])
            assert props["AuthorizationType"] == "NONE"
            assert props["Integration"]["Type"] == "MOCK"
    assert sorted(preflight) == sorted({route.path for route in wiring.ROUTES})


def test_one_invoke_permission_per_invoker(synth: Synthesized) -> None:
    """A route function may be invoked by API Gateway for its own method only; the
    authorizer function by this API's authorizers (one permission for both); a consumer
    by its rule (test_cdk_events); nothing else is granted by a Lambda permission."""
    (api,) = synth.of_type("AWS::ApiGateway::RestApi")
    stage, _ = only(synth.of_type("AWS::ApiGateway::Stage"))
    permissions: dict[str, list[dict[str, Any]]] = {}
    for permission in synth.of_type("AWS::Lambda::Permission").values():
        props = permission["Properties"]
        assert props["Action"] == "lambda:InvokeFunction"
        (fn,) = refs_in(props["FunctionName"])
        permissions.setdefault(fn, []).append(props)
    for route in wiring.ROUTES:
        granted = permissions.pop(function_id(synth, route.name))
        # one per method: GET and HEAD each scoped to their own method
        method_path = re.sub(r"\{[^}]+\}", "*", route.path)  # the method ARN's form
        ends = []
        for props in granted:
            assert props["Principal"] == "apigateway.amazonaws.com"
            assert refs_in(props["SourceArn"]) >= {api, stage}, route.name
            ends.append(json.dumps(props["SourceArn"]).rsplit('"/', 1)[1])
        assert sorted(ends) == sorted(
            f'{method}{method_path}"]]}}' for method in wiring.http_methods(route)
        ), route.name
    (props,) = permissions.pop(function_id(synth, wiring.AUTHORIZER.name))
    assert props["Principal"] == "apigateway.amazonaws.com"
    assert {r for r in refs_in(props["SourceArn"]) if not r.startswith("AWS::")} == {api}
    assert json.dumps(props["SourceArn"]).endswith('"/authorizers/*"]]}'), props
    for consumer in wiring.CONSUMERS:
        (props,) = permissions.pop(function_id(synth, consumer.name))
        assert props["Principal"] == "events.amazonaws.com"
    assert not permissions, sorted(permissions)


def test_outputs(synth: Synthesized) -> None:
    assert {
        "ApiUrl",
        "WebAclArn",
        "EventBusName",
        "EventBusArn",
        "AlarmTopicArn",
        "DashboardName",
    } <= set(synth.outputs)
    # no database secret is an output: only the maintenance function reads one
    assert not [k for k in synth.outputs if "Secret" in k]
    databases = domain_databases(synth)
    for domain, db in databases.items():
        key = domain.capitalize()
        assert synth.outputs[f"{key}DbProxyEndpoint"]["Value"] == {
            "Fn::GetAtt": [db.proxy, "Endpoint"]
        }
    for maintenance in wiring.MAINTENANCE:
        key = "".join(p.capitalize() for p in maintenance.name.split("-")) + "FunctionName"
        name = function_props(synth, maintenance.name)["FunctionName"]
        assert synth.outputs[key]["Value"] == name


def test_cors_preflights_carry_the_security_headers(synth: Synthesized) -> None:
    preflights = [
        m["Properties"]
        for m in synth.of_type("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    ]
    assert preflights
    for props in preflights:
        (integration_response,) = props["Integration"]["IntegrationResponses"]
        (method_response,) = props["MethodResponses"]
        assert integration_response["StatusCode"] == method_response["StatusCode"]
        given = integration_response["ResponseParameters"]
        declared = method_response["ResponseParameters"]
        for name, value in wiring.SECURITY_HEADERS.items():
            key = f"method.response.header.{name}"
            assert given[key] == f"'{value}'" and declared[key] is True, name
        # CDK's own CORS headers are still there
        assert given["method.response.header.Access-Control-Allow-Origin"] == (
            "'http://localhost:3000'"
        )
        assert set(given) == set(declared)


def test_waf_429_is_the_functions_problem_with_their_headers(synth: Synthesized) -> None:
    _, acl = only(synth.of_type("AWS::WAFv2::WebACL"))
    props = acl["Properties"]
    (body,) = props["CustomResponseBodies"].values()
    assert body["ContentType"] == "APPLICATION_JSON"
    problem = json.loads(body["Content"])
    assert list(problem) == ["type", "title", "status", "detail"]
    assert (
        body["Content"].encode()
        == Problem(429, problem["detail"], title="Too Many Requests").to_json()
    )
    blocks = [
        r["Action"]["Block"]["CustomResponse"]
        for r in props["Rules"]
        if "Block" in r.get("Action", {})
    ]
    assert len(blocks) == 2
    for block in blocks:
        headers = {h["Name"]: h["Value"] for h in block["ResponseHeaders"]}
        assert {k: headers[k] for k in wiring.SECURITY_HEADERS} == wiring.SECURITY_HEADERS
        assert headers["Retry-After"] == "300"
        assert headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
        assert headers["Vary"] == "Origin"
