"""The public HTTP API: API Gateway REST API (v1) in front of one Lambda per route.

Why a REST API and not an HTTP API (v2): the credential routes (login, register, refresh,
logout) are the target of credential stuffing and password spraying. A REST API stage can
be protected by AWS WAF, whose rate-based rules limit each client (source IP) separately,
and it has per-method throttling on top; an HTTP API cannot be associated with WAF and
only throttles per route for everyone at once. The price: a REST API costs more per
million requests and adds a few milliseconds of latency. Login protection is worth it.

Everything here is derived from ``wiring.ROUTES``:

- Lambda proxy integration for every route;
- auth ``required``: a TOKEN authorizer (``Authorization`` header, results cached 300 s;
  the authorizer allows every method of the stage, so a cached policy is valid for all
  routes); ``optional``: a REQUEST authorizer with no identity sources and no cache, so it
  runs on every call, lets anonymous callers through and rejects bad tokens; ``none``: no
  authorizer;
- per-method throttling from ``Route.throttle``, and a WAF web ACL on the stage with a
  per-IP rate limit on the credential routes (``throttle == CREDENTIALS_THROTTLE``) and a
  general per-IP rate limit;
- gateway responses (errors produced by API Gateway itself) in the same
  ``application/problem+json`` contract as the functions, with ``X-Request-ID``;
- CORS preflight for the configured origins on every resource that has a route
  (functions add CORS headers themselves);
- a HEAD method beside every GET route, on the same function and authorizer (the
  function answers it without the body, as the local gateway does);
- one invoke permission per route method (scoped to that method) and one for the
  authorizer function (scoped to this API's authorizers, which both run it).

The route paths become one resource tree. API Gateway allows static path parts next to a
path variable (``/users/me`` beside ``/users/{id}``) but only one variable among siblings,
and rejects the deployment otherwise ("A sibling ({id}) of this resource already has a
variable path part"); CDK does not check it, so ``validate_route_paths`` does, at synth.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, Duration, Names, NestedStack, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

import wiring
from infra.cdk.inkwell_infra.config import InkwellConfig
from infra.cdk.inkwell_infra.logs import retention_days
from infra.cdk.inkwell_infra.monitoring import api_alarms
from inkwell.errors import PROBLEM_CONTENT_TYPE, Problem

TOKEN_AUTHORIZER_CACHE_TTL = Duration.seconds(300)


@dataclass(frozen=True)
class GatewayProblem:
    """An API Gateway response type rendered as an RFC 9457 problem."""

    type: apigw.ResponseType
    status: int
    title: str
    # None: use API Gateway's own message ($context.error.messageString).
    detail: str | None = None
    retry_after: str | None = None


GATEWAY_PROBLEMS: tuple[GatewayProblem, ...] = (
    GatewayProblem(
        apigw.ResponseType.UNAUTHORIZED, 401, "Unauthorized", "Missing or invalid bearer token."
    ),
    GatewayProblem(
        apigw.ResponseType.ACCESS_DENIED, 403, "Forbidden", "The token does not allow this request."
    ),
    GatewayProblem(apigw.ResponseType.EXPIRED_TOKEN, 403, "Forbidden"),
    GatewayProblem(apigw.ResponseType.INVALID_SIGNATURE, 403, "Forbidden"),
    GatewayProblem(apigw.ResponseType.INVALID_API_KEY, 403, "Forbidden"),
    GatewayProblem(apigw.ResponseType.WAF_FILTERED, 403, "Forbidden", "The request was blocked."),
    # No IAM auth anywhere: this is what API Gateway answers for an unknown path/method.
    GatewayProblem(
        apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
        404,
        "Not Found",
        "There is no such resource or method.",
    ),
    GatewayProblem(apigw.ResponseType.RESOURCE_NOT_FOUND, 404, "Not Found"),
    GatewayProblem(apigw.ResponseType.BAD_REQUEST_BODY, 400, "Bad Request"),
    GatewayProblem(apigw.ResponseType.BAD_REQUEST_PARAMETERS, 400, "Bad Request"),
    GatewayProblem(apigw.ResponseType.REQUEST_TOO_LARGE, 413, "Content Too Large"),
    GatewayProblem(apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE, 415, "Unsupported Media Type"),
    GatewayProblem(
        apigw.ResponseType.THROTTLED,
        429,
        "Too Many Requests",
        "Request rate limit exceeded; retry later.",
        retry_after="1",
    ),
    GatewayProblem(
        apigw.ResponseType.QUOTA_EXCEEDED,
        429,
        "Too Many Requests",
        "Request quota exceeded; retry later.",
        retry_after="60",
    ),
    GatewayProblem(
        apigw.ResponseType.AUTHORIZER_FAILURE,
        500,
        "Internal Server Error",
        "The request could not be authorized.",
    ),
    GatewayProblem(
        apigw.ResponseType.AUTHORIZER_CONFIGURATION_ERROR,
        500,
        "Internal Server Error",
        "The request could not be authorized.",
    ),
    GatewayProblem(
        apigw.ResponseType.API_CONFIGURATION_ERROR,
        500,
        "Internal Server Error",
        "The API is misconfigured.",
    ),
    GatewayProblem(
        apigw.ResponseType.INTEGRATION_FAILURE, 502, "Bad Gateway", "The service failed to answer."
    ),
    GatewayProblem(
        apigw.ResponseType.INTEGRATION_TIMEOUT,
        504,
        "Gateway Timeout",
        "The service did not answer in time.",
    ),
    # Anything not listed above (every listed type overrides these defaults).
    GatewayProblem(apigw.ResponseType.DEFAULT_4_XX, 400, "Bad Request"),
    GatewayProblem(
        apigw.ResponseType.DEFAULT_5_XX, 500, "Internal Server Error", "Internal error."
    ),
)


# The AWS managed rule groups on the web ACL: (rule name, group, rules only counted).
# SizeRestrictions_BODY blocks bodies over 8 KB; posts are up to 100 KB of Markdown, so it
# only counts (API Gateway still caps payloads at 10 MB, and each function validates its
# own body size; docs/decisions/waf-managed-rules.md). Every other rule of the groups blocks.
# https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html
MANAGED_RULE_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("aws-ip-reputation", "AWSManagedRulesAmazonIpReputationList", ()),
    ("aws-common", "AWSManagedRulesCommonRuleSet", ("SizeRestrictions_BODY",)),
    ("aws-known-bad-inputs", "AWSManagedRulesKnownBadInputsRuleSet", ()),
)


def method_option_key(route: wiring.Route, http_method: str | None = None) -> str:
    """The stage ``method_options`` key of a route: ``/api/v1/users/login/POST``."""
    return f"{route.path}/{http_method or route.method}"


def _is_variable(part: str) -> bool:
    return part.startswith("{") and part.endswith("}")


def sibling_variable_conflicts(paths: Iterable[str]) -> dict[str, set[str]]:
    """Resource paths under which the routes put more than one path variable.

    ``{"/api/v1/posts": {"{id}", "{slug}"}}`` means API Gateway would reject the tree:
    ``/posts/{id}`` and ``/posts/{slug}`` are sibling resources with different variables.
    A greedy ``{proxy+}`` counts as a variable too.
    """
    variables: dict[str, set[str]] = {}
    for path in paths:
        parts = [part for part in path.split("/") if part]
        for index, part in enumerate(parts):
            if _is_variable(part):
                parent = "/" + "/".join(parts[:index])
                variables.setdefault(parent, set()).add(part)
    return {parent: names for parent, names in variables.items() if len(names) > 1}


def validate_route_paths(routes: Sequence[wiring.Route]) -> None:
    """Reject, at synth time, route paths API Gateway would reject at deploy time."""
    seen: set[tuple[str, str]] = set()
    for route in routes:
        if not route.path.startswith("/") or "//" in route.path or route.path.endswith("/"):
            raise ValueError(f"{route.name}: malformed path {route.path!r}")
        for part in route.path.split("/")[1:]:
            if ("{" in part or "}" in part) and not _is_variable(part):
                raise ValueError(f"{route.name}: malformed path variable {part!r}")
        key = (route.method, route.path)
        if key in seen:
            raise ValueError(f"two routes for {route.method} {route.path}")
        seen.add(key)
    conflicts = sibling_variable_conflicts(route.path for route in routes)
    if conflicts:
        described = "; ".join(
            f"{parent}/ has {', '.join(sorted(names))}"
            for parent, names in sorted(conflicts.items())
        )
        raise ValueError(
            "sibling path variables must share one name (API Gateway rejects the "
            f"deployment otherwise): {described}"
        )


def credential_routes() -> tuple[wiring.Route, ...]:
    return tuple(r for r in wiring.ROUTES if r.throttle == wiring.CREDENTIALS_THROTTLE)


# Where API Gateway's own message goes in a problem template: already a quoted JSON
# string ("$context.error.message", escaped), so it replaces the quoted placeholder.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html
GATEWAY_MESSAGE = "$context.error.messageString"
_MESSAGE_PLACEHOLDER = "\x00gateway-message\x00"


def problem_template(problem: GatewayProblem) -> str:
    """The problem body API Gateway (or WAF) answers with: serialized by
    ``Problem.to_json``, as the functions serialize theirs (same fields, order and
    compactness)."""
    detail = _MESSAGE_PLACEHOLDER if problem.detail is None else problem.detail
    body = Problem(problem.status, detail, title=problem.title).to_json().decode()
    return body.replace(json.dumps(_MESSAGE_PLACEHOLDER), GATEWAY_MESSAGE)


def static_header_value(value: str) -> str:
    """A header value as an API Gateway static mapping value: in single quotes.

    API Gateway takes what is between the first and the last quote as the value, so the
    quotes inside the Content-Security-Policy value (``'none'``) are kept as they are.
    """
    if "\n" in value or "\r" in value:
        raise ValueError(f"a header value cannot span lines: {value!r}")
    return f"'{value}'"


def security_header_values() -> dict[str, str]:
    """``wiring.SECURITY_HEADERS`` as static mapping values."""
    return {name: static_header_value(value) for name, value in wiring.SECURITY_HEADERS.items()}


def gateway_cors_origin(origins: Sequence[str]) -> str | None:
    """The fixed Access-Control-Allow-Origin value of gateway responses, if one exists.

    Gateway responses cannot pick one of several origins per request, and echoing the
    request's Origin would allow every site; with several origins we send none (the
    browser then reports a CORS failure instead of the error body).
    """
    if "*" in origins:
        return "*"
    if len(origins) == 1:
        return origins[0]
    return None


def _override_key(key: str) -> str:
    """A property name with dots (``method.response.header.X``) in an override path."""
    return key.replace(".", "\\.")


def add_security_headers_to_preflight(preflight: apigw.Method) -> None:
    """The preflight's mock integration answers with the security headers too.

    CDK's CORS options take no extra headers, so they are added to the integration
    response and declared on the method response of the method it generated (the same
    keys CDK uses for the CORS headers)."""
    method = preflight.node.default_child
    if not isinstance(method, apigw.CfnMethod):
        raise RuntimeError("the CORS preflight has no AWS::ApiGateway::Method to extend")
    for name, value in security_header_values().items():
        key = _override_key(f"method.response.header.{name}")
        method.add_property_override(
            f"Integration.IntegrationResponses.0.ResponseParameters.{key}", value
        )
        method.add_property_override(f"MethodResponses.0.ResponseParameters.{key}", True)


def cors_response_headers(origins: Sequence[str]) -> dict[str, str]:
    """The CORS headers of a response API Gateway or WAF writes (no per-request origin)."""
    origin = gateway_cors_origin(origins)
    if origin is None:
        return {}
    headers = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": ",".join(wiring.CORS_EXPOSE_HEADERS),
    }
    if origin != "*":
        headers["Vary"] = "Origin"
    return headers


def waf_response_headers(config: InkwellConfig) -> dict[str, str]:
    """The headers of WAF's 429 answer: what every response carries (WAF sets the
    content type itself from the body's, and has no request id to give)."""
    return {
        **wiring.SECURITY_HEADERS,
        **cors_response_headers(config.cors_origins),
        "Retry-After": str(config.waf_window_seconds),
    }


class InkwellApi(Construct):
    """REST API, authorizers, routes, gateway responses, throttling, WAF, CORS."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: InkwellConfig,
        handlers: Mapping[str, lambda_.Function],
        authorizer_function: lambda_.IFunction,
        permissions_scope: Construct | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        # Where the routes' invoke permissions go (default: with their methods).
        self._permissions_scope = permissions_scope
        prefix = config.name_prefix

        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=f"/aws/apigateway/{prefix}-access",
            retention=retention_days(config.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        stage_throttle = wiring.DEFAULT_THROTTLE
        self.api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"{prefix}-api",
            description="Inkwell blogging API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Access logging needs the (account-wide) API Gateway CloudWatch role.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=config.stage,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # would log request bodies (passwords)
                throttling_rate_limit=stage_throttle.rate,
                throttling_burst_limit=stage_throttle.burst,
                method_options={
                    method_option_key(route, http_method): apigw.MethodDeploymentOptions(
                        throttling_rate_limit=route.throttle.rate,
                        throttling_burst_limit=route.throttle.burst,
                    )
                    for route in wiring.ROUTES
                    for http_method in wiring.http_methods(route)
                },
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.custom(
                    json.dumps(
                        {
                            "requestId": "$context.requestId",
                            "ip": "$context.identity.sourceIp",
                            "method": "$context.httpMethod",
                            "path": "$context.path",
                            "resourcePath": "$context.resourcePath",
                            "status": "$context.status",
                            "responseLength": "$context.responseLength",
                            "latencyMs": "$context.responseLatency",
                            "integrationLatencyMs": "$context.integrationLatency",
                            "userId": "$context.authorizer.userId",
                            "authorizerError": "$context.authorizer.error",
                            "errorType": "$context.error.responseType",
                            "wafStatus": "$context.waf.status",
                            "userAgent": "$context.identity.userAgent",
                        }
                    )
                ),
            ),
        )
        # Preflight (OPTIONS) on the resources that have routes, not on every resource of
        # the tree: /, /api, /api/v1 have no method a browser could call.
        self._cors = apigw.CorsOptions(
            allow_origins=list(config.cors_origins),
            allow_methods=list(wiring.cors_allow_methods()),
            allow_headers=list(wiring.CORS_ALLOW_HEADERS),
            max_age=Duration.seconds(wiring.CORS_MAX_AGE_S),
        )
        self._preflight_paths: set[str] = set()

        self.token_authorizer = apigw.TokenAuthorizer(
            self,
            "TokenAuthorizer",
            authorizer_name=f"{prefix}-token",
            handler=authorizer_function,
            identity_source=apigw.IdentitySource.header("Authorization"),
            results_cache_ttl=TOKEN_AUTHORIZER_CACHE_TTL,
        )
        self.request_authorizer = apigw.RequestAuthorizer(
            self,
            "OptionalAuthorizer",
            authorizer_name=f"{prefix}-optional",
            handler=authorizer_function,
            identity_sources=[],
            results_cache_ttl=Duration.seconds(0),
        )
        # With identity sources, API Gateway would answer 401 itself when they are absent
        # (anonymous callers): leave the property out entirely so the authorizer always runs.
        request_authorizer_resource = self.request_authorizer.node.default_child
        if isinstance(request_authorizer_resource, apigw.CfnAuthorizer):
            request_authorizer_resource.add_property_deletion_override("IdentitySource")
        self._share_authorizer_permission(
            authorizer_function, (self.token_authorizer, self.request_authorizer)
        )

        validate_route_paths(wiring.ROUTES)
        self.methods: dict[str, apigw.Method] = {}
        for route in wiring.ROUTES:
            self.methods[route.name] = self._add_route(route, handlers[route.name])

        self._add_gateway_responses()
        self.web_acl = self._add_waf()

        self.alarms = api_alarms(self, config, f"{prefix}-api", config.stage)

    @property
    def url(self) -> str:
        return self.api.url

    def _share_authorizer_permission(
        self, function: lambda_.IFunction, authorizers: Sequence[apigw.Authorizer]
    ) -> None:
        """One invoke permission for the authorizers of this API, instead of the one per
        authorizer CDK adds: both authorizers run the same function, so the second
        permission allowed nothing the first did not (API Gateway, this API's
        authorizers)."""
        for authorizer in authorizers:
            # The id aws-cdk-lib's Lambda authorizers give their permission.
            permission_id = f"{Names.unique_id(authorizer)}:Permissions"
            if not function.node.try_remove_child(permission_id):
                raise RuntimeError(f"no authorizer permission {permission_id!r} to replace")
        function.add_permission(
            "ApiAuthorizersPermission",
            principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
            source_arn=Stack.of(self).format_arn(
                service="execute-api",
                resource=self.api.rest_api_id,
                resource_name="authorizers/*",
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            ),
        )

    def _add_route(self, route: wiring.Route, handler: lambda_.Function) -> apigw.Method:
        resource = self.api.root.resource_for_path(route.path)
        if route.path not in self._preflight_paths:
            self._preflight_paths.add(route.path)
            preflight = resource.add_cors_preflight(
                allow_origins=self._cors.allow_origins,
                allow_methods=self._cors.allow_methods,
                allow_headers=self._cors.allow_headers,
                max_age=self._cors.max_age,
            )
            add_security_headers_to_preflight(preflight)
        integration = apigw.LambdaIntegration(handler, proxy=True, allow_test_invoke=False)
        authorizer: apigw.IAuthorizer | None
        if route.auth == "required":
            authorizer = self.token_authorizer
        elif route.auth == "optional":
            authorizer = self.request_authorizer
        elif route.auth == "none":
            authorizer = None
        else:  # pragma: no cover - guarded by the Literal type
            raise ValueError(f"{route.name}: unknown auth {route.auth!r}")
        # A GET route answers HEAD too: a HEAD method on the same function and authorizer
        # (the function drops the body); without it API Gateway answers 403 (our 404).
        methods = []
        for http_method in wiring.http_methods(route):
            method = resource.add_method(
                http_method,
                integration,
                operation_name=(
                    route.name
                    if http_method == route.method
                    else f"{route.name}_{http_method.lower()}"
                ),
                authorizer=authorizer,
                authorization_type=(
                    apigw.AuthorizationType.CUSTOM if authorizer else apigw.AuthorizationType.NONE
                ),
            )
            if self._permissions_scope is not None:
                self._move_permissions(route, http_method, method, self._permissions_scope)
            methods.append(method)
        return methods[0]

    def _move_permissions(
        self, route: wiring.Route, http_method: str, method: apigw.Method, scope: Construct
    ) -> None:
        """Move the invoke permission CDK puts beside the method into the permissions
        scope (a stack of its own): the same grant, one resource fewer per route in the
        API's template."""
        moved = [c for c in method.node.children if isinstance(c, lambda_.CfnPermission)]
        if len(moved) != 1:
            raise RuntimeError(f"{route.name}: expected one invoke permission, got {moved}")
        (permission,) = moved
        method.node.try_remove_child(permission.node.id)
        suffix = "" if http_method == route.method else http_method.capitalize()
        lambda_.CfnPermission(
            scope,
            "".join(w.capitalize() for w in route.name.split("-")) + suffix,
            action=permission.action,
            function_name=permission.function_name,
            principal=permission.principal,
            source_arn=permission.source_arn,
        )

    def _add_gateway_responses(self) -> None:
        cors = {
            name: static_header_value(value)
            for name, value in cors_response_headers(self._config.cors_origins).items()
        }
        for problem in GATEWAY_PROBLEMS:
            headers = {
                "Content-Type": static_header_value(PROBLEM_CONTENT_TYPE),
                "X-Request-ID": "context.requestId",
                **security_header_values(),
                **cors,
            }
            if problem.retry_after is not None:
                headers["Retry-After"] = f"'{problem.retry_after}'"
            body = problem_template(problem)
            self.api.add_gateway_response(
                f"Gateway{problem.type.response_type}",
                type=problem.type,
                status_code=str(problem.status),
                response_headers=headers,
                templates={"application/json": body, PROBLEM_CONTENT_TYPE: body},
            )

    def _add_waf(self) -> wafv2.CfnWebACL:
        config = self._config
        prefix = config.name_prefix
        rate_limited_body = "rate-limited"
        rate_limited_action = wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                    response_code=429,
                    custom_response_body_key=rate_limited_body,
                    response_headers=[
                        wafv2.CfnWebACL.CustomHTTPHeaderProperty(name=name, value=value)
                        for name, value in waf_response_headers(config).items()
                    ],
                )
            )
        )

        def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True,
                metric_name=f"{prefix}-{metric}",
                sampled_requests_enabled=True,
            )

        # The credential routes, matched on the normalized, URL-decoded path. CONTAINS
        # (not EXACTLY) so the stage prefix (/dev/...) of the default endpoint, a custom
        # domain without it, and a trailing slash all match.
        path_matches = [
            wafv2.CfnWebACL.StatementProperty(
                byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                    field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                    positional_constraint="CONTAINS",
                    search_string=route.path,
                    text_transformations=[
                        wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="URL_DECODE"),
                        wafv2.CfnWebACL.TextTransformationProperty(
                            priority=1, type="NORMALIZE_PATH"
                        ),
                    ],
                )
            )
            for route in credential_routes()
        ]
        if not path_matches:
            raise ValueError("wiring declares no credential routes to protect")
        scope_down = (
            path_matches[0]
            if len(path_matches) == 1
            else wafv2.CfnWebACL.StatementProperty(
                or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=path_matches)
            )
        )

        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name="credentials-per-ip",
                priority=0,
                action=rate_limited_action,
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP",
                        limit=config.waf_credentials_limit,
                        evaluation_window_sec=config.waf_window_seconds,
                        scope_down_statement=scope_down,
                    )
                ),
                visibility_config=visibility("credentials-per-ip"),
            ),
            wafv2.CfnWebACL.RuleProperty(
                name="general-per-ip",
                priority=1,
                action=rate_limited_action,
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP",
                        limit=config.waf_general_limit,
                        evaluation_window_sec=config.waf_window_seconds,
                    )
                ),
                visibility_config=visibility("general-per-ip"),
            ),
        ]
        # AWS managed rule groups: known bad sources (botnets, scanners - the usual
        # credential stuffers), common exploits (OWASP), known bad inputs (Log4j, ...).
        for priority, (name, group, count_only) in enumerate(MANAGED_RULE_GROUPS, start=2):
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name=name,
                    priority=priority,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS",
                            name=group,
                            rule_action_overrides=[
                                wafv2.CfnWebACL.RuleActionOverrideProperty(
                                    name=rule,
                                    action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={}),
                                )
                                for rule in count_only
                            ]
                            or None,
                        )
                    ),
                    visibility_config=visibility(name),
                )
            )

        problem = GatewayProblem(
            apigw.ResponseType.THROTTLED,
            429,
            "Too Many Requests",
            "Too many requests from this client; retry later.",
        )
        web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"{prefix}-api",
            description="Per-client rate limits and AWS managed rules for the Inkwell API",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            custom_response_bodies={
                rate_limited_body: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=problem_template(problem),
                )
            },
            rules=rules,
            visibility_config=visibility("api"),
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.api.deployment_stage.stage_arn,
            web_acl_arn=web_acl.attr_arn,
        )
        return web_acl


class InvokePermissions(NestedStack):
    """The routes' Lambda invoke permissions: one per route, in a template of their own
    (created after the API and the functions, both of which they name)."""


class ApiStack(NestedStack):
    """The REST API and its WAF, in a nested stack of their own: each route adds a method
    and maybe a resource and a preflight, which grow with wiring (its invoke permission is
    in ``InvokePermissions``)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: InkwellConfig,
        handlers: Mapping[str, lambda_.Function],
        authorizer_function: lambda_.IFunction,
        permissions: Construct | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.api = InkwellApi(
            self,
            "Api",
            config=config,
            handlers=handlers,
            authorizer_function=authorizer_function,
            permissions_scope=permissions,
        )
