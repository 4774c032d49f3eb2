"""CDK assertions on the synthesized Inkwell stack, checked against ``wiring``."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from aws_cdk.assertions import Match

import wiring
from infra.cdk.inkwell_infra.api import credential_routes
from infra.cdk.inkwell_infra.functions import db_host_env, db_secret_env
from tests.infra.conftest import Synthesized
from tests.infra.helpers import (
    PREFIX,
    as_list,
    function_id,
    function_props,
    only,
    ref,
    refs_in,
    role_id,
    role_statements,
)

pytestmark = pytest.mark.xdist_group("cdk")

XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
SECRET_READ_ACTIONS = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
PUT_EVENTS = {"events:PutEvents"}
# What a Lambda on-failure destination needs on the consumer's own dead-letter queue.
DLQ_SEND_ACTIONS = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}

# The runtime is the Python that builds (and compiles) the layer.
EXPECTED_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"


# --- helpers ---------------------------------------------------------------------------


def readable_secrets(synth: Synthesized, name: str) -> set[str]:
    """Logical ids of the secrets the function's role may read."""
    found: set[str] = set()
    for statement in role_statements(synth, name):
        if SECRET_READ_ACTIONS & set(as_list(statement["Action"])):
            found |= refs_in(statement["Resource"])
    return found


def jwt_secret_ids(synth: Synthesized) -> set[str]:
    secrets = {
        k
        for k, v in synth.of_type("AWS::SecretsManager::Secret").items()
        if v["Properties"].get("GenerateSecretString", {}).get("PasswordLength") == 64
    }
    assert len(secrets) == 1
    return secrets


def db_secret_ids(synth: Synthesized) -> set[str]:
    """The database secret and its attachment (whose Ref is the same secret ARN)."""
    ids: set[str] = set()
    for attachment_id, attachment in synth.of_type(
        "AWS::SecretsManager::SecretTargetAttachment"
    ).items():
        assert attachment["Properties"]["TargetType"] == "AWS::RDS::DBInstance"
        ids |= {attachment_id, *refs_in(attachment["Properties"]["SecretId"])}
    assert ids
    return ids


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


# --- functions -------------------------------------------------------------------------


def test_one_function_per_wiring_function(synth: Synthesized) -> None:
    layer_id, _ = only(synth.of_type("AWS::Lambda::LayerVersion"))
    ours = {
        k: v
        for k, v in synth.of_type("AWS::Lambda::Function").items()
        if str(v["Properties"].get("FunctionName", "")).startswith(f"{PREFIX}-")
    }
    assert len(ours) == len(wiring.all_functions())
    names = {f.name for f in wiring.all_functions()}
    assert {v["Properties"]["FunctionName"] for v in ours.values()} == {
        f"{PREFIX}-{n}" for n in names
    }
    # every route, the authorizer and the maintenance functions, as declared
    assert wiring.AUTHORIZER.name in names
    assert {m.name for m in wiring.MAINTENANCE} <= names
    for function in wiring.all_functions():
        props = function_props(synth, function.name)
        assert props["Handler"] == function.handler
        assert props["Runtime"] == EXPECTED_RUNTIME
        assert props["Architectures"] == ["arm64"]
        assert props["MemorySize"] == function.memory_mb
        assert props["Timeout"] == function.timeout_s
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["Layers"] == [ref(layer_id)]


def test_each_function_has_its_own_log_group(synth: Synthesized) -> None:
    log_groups = synth.of_type("AWS::Logs::LogGroup")
    seen: set[str] = set()
    for function in wiring.all_functions():
        (group,) = refs_in(function_props(synth, function.name)["LoggingConfig"]["LogGroup"])
        assert group in log_groups
        assert group not in seen, f"{function.name} shares a log group"
        seen.add(group)
        props = log_groups[group]["Properties"]
        assert props["LogGroupName"] == f"/aws/lambda/{PREFIX}-{function.name}"
        assert props["RetentionInDays"] == 30


def test_common_environment(synth: Synthesized) -> None:
    for function in wiring.all_functions():
        env = function_props(synth, function.name)["Environment"]["Variables"]
        assert env["INKWELL_STAGE"] == "dev"
        assert env["INKWELL_JWT_ISSUER"] == "inkwell"
        assert env["INKWELL_JWT_AUDIENCE"] == "inkwell-api"
        assert env["INKWELL_CORS_ORIGINS"] == "http://localhost:3000"
        assert env["POWERTOOLS_SERVICE_NAME"] == function.domain
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Inkwell"
        assert env["LOG_LEVEL"] == "INFO"


def test_access_decides_environment_and_vpc(synth: Synthesized) -> None:
    (jwt_secret,) = jwt_secret_ids(synth)
    proxy_id, _ = only(synth.of_type("AWS::RDS::DBProxy"))
    for function in wiring.all_functions():
        props = function_props(synth, function.name)
        env = props["Environment"]["Variables"]
        if wiring.Access.SIGNING_KEY in function.access:
            assert env["INKWELL_JWT_SECRET_ARN"] == ref(jwt_secret)
        else:
            assert "INKWELL_JWT_SECRET_ARN" not in env
        db_keys = {k for k in env if k.startswith("INKWELL_") and "_DB_" in k}
        if wiring.Access.DATABASE in function.access:
            assert refs_in(env[db_secret_env(function.domain)]) <= db_secret_ids(synth)
            assert env[db_host_env(function.domain)] == {
                "Fn::GetAtt": [proxy_id, "Endpoint"]
            }
            assert env["INKWELL_DB_TLS"] == "verify-full"
            assert "VpcConfig" in props, f"{function.name} must be in the VPC"
        else:
            assert not db_keys and "INKWELL_DB_TLS" not in env
            assert "VpcConfig" not in props, f"{function.name} must not be in the VPC"


def test_database_functions_run_in_isolated_subnets_with_the_client_group(
    synth: Synthesized,
) -> None:
    subnets = synth.of_type("AWS::EC2::Subnet")
    proxy = only(synth.of_type("AWS::RDS::DBProxy"))[1]["Properties"]
    (proxy_sg,) = refs_in(proxy["VpcSecurityGroupIds"])
    # the groups allowed into the proxy on 5432
    client_groups = {
        next(iter(refs_in(rule["Properties"]["SourceSecurityGroupId"])))
        for rule in synth.of_type("AWS::EC2::SecurityGroupIngress").values()
        if refs_in(rule["Properties"]["GroupId"]) == {proxy_sg}
        and rule["Properties"]["FromPort"] == 5432
    }
    assert len(client_groups) == 1
    for function in wiring.all_functions():
        if wiring.Access.DATABASE not in function.access:
            continue
        vpc_config = function_props(synth, function.name)["VpcConfig"]
        assert refs_in(vpc_config["SecurityGroupIds"]) == client_groups
        for subnet in refs_in(vpc_config["SubnetIds"]):
            tags = {t["Key"]: t["Value"] for t in subnets[subnet]["Properties"]["Tags"]}
            assert tags["aws-cdk:subnet-type"] == "Isolated"


def test_code_asset_holds_only_wiring_and_the_function_domain(synth: Synthesized) -> None:
    for function in wiring.all_functions():
        key = function_props(synth, function.name)["Code"]["S3Key"]
        asset_dir = synth.outdir / f"asset.{key.removesuffix('.zip')}"
        assert asset_dir.is_dir(), f"no staged asset for {function.name}"
        assert {p.name for p in asset_dir.iterdir()} <= {"wiring.py", function.domain}
        assert (asset_dir / "wiring.py").is_file()
        for path in asset_dir.rglob("*"):
            rel = path.relative_to(asset_dir)
            assert "__pycache__" not in rel.parts and path.suffix != ".pyc", rel
            assert "tests" not in rel.parts, rel


# --- least privilege -------------------------------------------------------------------


def test_roles_grant_only_what_access_declares(synth: Synthesized) -> None:
    jwt_secret = jwt_secret_ids(synth)
    db_secret = db_secret_ids(synth)
    (bus,) = synth.of_type("AWS::Events::EventBus")
    consumers = {c.name for c in wiring.CONSUMERS}
    for function in wiring.all_functions():
        actions: set[str] = set()
        for statement in role_statements(synth, function.name):
            assert statement["Effect"] == "Allow"
            statement_actions = set(as_list(statement["Action"]))
            actions |= statement_actions
            if statement_actions <= XRAY_ACTIONS:
                continue
            assert statement["Resource"] != "*", statement
            if statement_actions <= SECRET_READ_ACTIONS:
                continue  # scoped to named secrets, checked below
            if statement_actions == PUT_EVENTS:
                assert statement["Resource"] == {"Fn::GetAtt": [bus, "Arn"]}, statement
                continue
            # the only other grant: a consumer sends failure records to its own DLQ
            assert function.name in consumers, statement
            assert statement_actions <= DLQ_SEND_ACTIONS, statement
            (queue,) = refs_in(statement["Resource"])
            assert synth.resources[queue]["Properties"]["QueueName"] == (
                f"{PREFIX}-{function.name}-dlq"
            )
        readable = readable_secrets(synth, function.name)
        expected = set(XRAY_ACTIONS)
        if {wiring.Access.DATABASE, wiring.Access.SIGNING_KEY} & function.access:
            expected |= SECRET_READ_ACTIONS
        if wiring.Access.EVENTS in function.access:
            expected |= PUT_EVENTS
        if function.name in consumers:
            expected |= {"sqs:SendMessage"}
        assert expected <= actions <= expected | DLQ_SEND_ACTIONS, function.name
        assert bool(readable & jwt_secret) == (wiring.Access.SIGNING_KEY in function.access)
        assert bool(readable & db_secret) == (wiring.Access.DATABASE in function.access)
        assert readable <= jwt_secret | db_secret

        managed = json.dumps(synth.resources[role_id(synth, function.name)]["Properties"]
                             .get("ManagedPolicyArns", []))
        assert "service-role/AWSLambdaBasicExecutionRole" in managed
        assert ("AWSLambdaVPCAccessExecutionRole" in managed) == (
            wiring.Access.DATABASE in function.access
        )


def test_named_least_privilege_cases(synth: Synthesized) -> None:
    jwt_secret = jwt_secret_ids(synth)
    db_secret = db_secret_ids(synth)
    register = readable_secrets(synth, "users-register")
    assert register & db_secret and not register & jwt_secret
    for name in ("health", wiring.AUTHORIZER.name):
        assert not readable_secrets(synth, name) & db_secret
    assert not readable_secrets(synth, "health")
    login = readable_secrets(synth, "users-login")
    assert login & db_secret and login & jwt_secret
    assert readable_secrets(synth, wiring.AUTHORIZER.name) & jwt_secret


# --- API -------------------------------------------------------------------------------


def test_every_route_is_a_lambda_proxy_method(synth: Synthesized) -> None:
    methods = methods_by_route(synth)
    assert set(methods) == {(r.method, r.path) for r in wiring.ROUTES}
    for route in wiring.ROUTES:
        integration = methods[(route.method, route.path)]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert integration["IntegrationHttpMethod"] == "POST"
        assert function_id(synth, route.name) in refs_in(integration["Uri"])


def test_authorizers_match_route_auth(synth: Synthesized) -> None:
    token = authorizer_id(synth, "TOKEN")
    request = authorizer_id(synth, "REQUEST")
    methods = methods_by_route(synth)
    for route in wiring.ROUTES:
        props = methods[(route.method, route.path)]
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
        setting = settings[("/" + route.path.replace("/", "~1"), route.method)]
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
    assert expected == {
        r.path for r in wiring.ROUTES if r.throttle == wiring.CREDENTIALS_THROTTLE
    }
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
    required = {"UNAUTHORIZED", "ACCESS_DENIED", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX",
                "MISSING_AUTHENTICATION_TOKEN", "WAF_FILTERED", "INTEGRATION_TIMEOUT"}
    assert required <= set(responses)
    for response_type, props in responses.items():
        headers = props["ResponseParameters"]
        assert headers["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
        assert headers["gatewayresponse.header.X-Request-ID"] == "context.requestId"
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == (
            "'http://localhost:3000'"
        )
        template = props["ResponseTemplates"]["application/json"]
        body = json.loads(template.replace("$context.error.messageString", '"message"'))
        assert set(body) == {"type", "title", "status", "detail"}, response_type
        assert body["type"] == "about:blank"
        assert body["status"] == int(props["StatusCode"]), response_type
    assert responses["UNAUTHORIZED"]["StatusCode"] == "401"
    assert responses["ACCESS_DENIED"]["StatusCode"] == "403"
    throttled = responses["THROTTLED"]
    assert throttled["StatusCode"] == "429"
    assert throttled["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"


def test_cors_preflight_uses_the_configured_origins(synth: Synthesized) -> None:
    synth.template.has_resource_properties(
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
                                            "method.response.header.Access-Control-Allow-Origin":
                                                "'http://localhost:3000'"
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


def test_outputs(synth: Synthesized) -> None:
    assert {
        "ApiUrl",
        "WebAclArn",
        "UsersDbSecretArn",
        "UsersMaintenanceFunctionName",
        "EventBusName",
        "EventBusArn",
    } <= set(synth.outputs)
    maintenance = function_id(synth, wiring.MAINTENANCE[0].name)
    assert synth.outputs["UsersMaintenanceFunctionName"]["Value"] == ref(maintenance)


# --- network and database --------------------------------------------------------------


def test_vpc_has_no_nat_and_the_interface_endpoints(synth: Synthesized) -> None:
    synth.template.resource_count_is("AWS::EC2::NatGateway", 0)
    synth.template.resource_count_is("AWS::EC2::InternetGateway", 0)
    synth.template.resource_count_is("AWS::EC2::Subnet", 2)
    for subnet in synth.of_type("AWS::EC2::Subnet").values():
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        assert tags["aws-cdk:subnet-type"] == "Isolated"
    services = set()
    for endpoint in synth.of_type("AWS::EC2::VPCEndpoint").values():
        props = endpoint["Properties"]
        assert props["VpcEndpointType"] == "Interface"
        assert props["PrivateDnsEnabled"] is True
        services.add(props["ServiceName"]["Fn::Join"][1][-1])
    # Secrets Manager (credentials, signing key) and EventBridge (PutEvents) only
    assert services == {".secretsmanager", ".events"}


def test_database_is_private_encrypted_and_tls_only(synth: Synthesized) -> None:
    assert len(synth.of_type("AWS::RDS::DBInstance")) == len(wiring.DATABASE_DOMAINS)
    _, instance = only(synth.of_type("AWS::RDS::DBInstance"))
    props = instance["Properties"]
    assert props["Engine"] == "postgres"
    assert int(props["EngineVersion"].split(".")[0]) >= 16
    assert props["StorageEncrypted"] is True
    assert props["PubliclyAccessible"] is False
    assert props["DBName"] == "users"
    assert props["BackupRetentionPeriod"] >= 1
    assert props["DeletionProtection"] is False  # dev stage
    assert instance["DeletionPolicy"] == "Delete"

    (subnet_group,) = refs_in(props["DBSubnetGroupName"])
    for subnet in refs_in(synth.resources[subnet_group]["Properties"]["SubnetIds"]):
        tags = {t["Key"]: t["Value"] for t in synth.resources[subnet]["Properties"]["Tags"]}
        assert tags["aws-cdk:subnet-type"] == "Isolated"

    (parameter_group,) = refs_in(props["DBParameterGroupName"])
    assert synth.resources[parameter_group]["Properties"]["Parameters"]["rds.force_ssl"] == "1"

    secret_ids = db_secret_ids(synth)
    assert "MasterUserPassword" in props
    assert refs_in(props["MasterUserPassword"]) & secret_ids

    _, proxy = only(synth.of_type("AWS::RDS::DBProxy"))
    assert proxy["Properties"]["RequireTLS"] is True
    assert proxy["Properties"]["EngineFamily"] == "POSTGRESQL"
    assert refs_in(proxy["Properties"]["Auth"]) & secret_ids


def test_prod_stage_protects_the_database(prod_synth: Synthesized) -> None:
    _, instance = only(prod_synth.of_type("AWS::RDS::DBInstance"))
    assert instance["Properties"]["DeletionProtection"] is True
    assert instance["DeletionPolicy"] == "Snapshot"
    assert instance["Properties"]["MultiAZ"] is True


# --- layer and triggers ----------------------------------------------------------------


def test_layer_targets_python312_arm64(synth: Synthesized) -> None:
    synth.template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": [EXPECTED_RUNTIME], "CompatibleArchitectures": ["arm64"]},
    )


def test_maintenance_trigger_runs_after_the_database(synth: Synthesized) -> None:
    triggers = synth.of_type("Custom::Trigger")
    assert len(triggers) == len(wiring.MAINTENANCE)
    versions = synth.of_type("AWS::Lambda::Version")
    instance_id, _ = only(synth.of_type("AWS::RDS::DBInstance"))
    proxy_id, _ = only(synth.of_type("AWS::RDS::DBProxy"))
    endpoints = set(synth.of_type("AWS::EC2::VPCEndpoint"))
    for maintenance in wiring.MAINTENANCE:
        fn = function_id(synth, maintenance.name)
        matching = {
            k: v
            for k, v in triggers.items()
            if any(
                refs_in(versions[v_id]["Properties"]["FunctionName"]) == {fn}
                for v_id in refs_in(v["Properties"]["HandlerArn"])
                if v_id in versions
            )
        }
        _, trigger = only(matching)
        assert trigger["Properties"]["ExecuteOnHandlerChange"] is True
        assert trigger["Properties"]["InvocationType"] == "RequestResponse"
        # the database and every endpoint the function may call are in place first
        assert {instance_id, proxy_id} | endpoints <= set(trigger.get("DependsOn", []))
