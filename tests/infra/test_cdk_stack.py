"""CDK assertions on the synthesized Inkwell stack, checked against ``wiring``."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from itertools import permutations
from typing import Any

import pytest
from aws_cdk.assertions import Match

import wiring
from infra.cdk.inkwell_infra.api import (
    credential_routes,
    sibling_variable_conflicts,
    validate_route_paths,
)
from infra.cdk.inkwell_infra.domain import maintenance_of
from inkwell import env
from tests.infra.conftest import Synthesized
from tests.infra.helpers import (
    PREFIX,
    DomainDb,
    as_list,
    domain_databases,
    function_id,
    function_props,
    group_id,
    only,
    prefix_of,
    ref,
    refs_in,
    role_id,
    role_members,
    role_statements,
    statements_by_role,
)

pytestmark = pytest.mark.xdist_group("cdk")

XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
SECRET_READ_ACTIONS = {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
PUT_EVENTS = {"events:PutEvents"}
SES_SEND = {"ses:SendEmail", "ses:SendRawEmail"}
# Writing to an existing log group (what AWSLambdaBasicExecutionRole allows on *, minus
# creating groups), and attaching to VPC subnets (the EC2 actions of
# AWSLambdaVPCAccessExecutionRole v3, without its logs:* on *).
LOG_WRITE_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
VPC_NETWORK_INTERFACE_ACTIONS = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}
# What a Lambda on-failure destination needs on the consumer's own dead-letter queue.
DLQ_SEND_ACTIONS = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}

# The runtime is the Python that builds (and compiles) the layer.
EXPECTED_RUNTIME = "python3.13"


# --- helpers ---------------------------------------------------------------------------


def readable_secrets(synth: Synthesized, name: str) -> set[str]:
    """Logical ids of the secrets the function's role may read."""
    found: set[str] = set()
    for statement in role_statements(synth, name):
        if SECRET_READ_ACTIONS & set(as_list(statement["Action"])):
            found |= refs_in(statement["Resource"])
    return found


def jwt_secret_ids(synth: Synthesized) -> set[str]:
    """The JWT private-key secret: the one secret that is no database's."""
    secrets = set(synth.of_type("AWS::SecretsManager::Secret")) - db_secret_ids(synth)
    assert len(secrets) == 1
    return secrets


RDS_CONNECT = "rds-db:connect"


def connect_grants(synth: Synthesized, name: str) -> list[Any]:
    """The resources of the function role's ``rds-db:connect`` statements."""
    return [
        statement["Resource"]
        for statement in role_statements(synth, name)
        if RDS_CONNECT in as_list(statement["Action"])
    ]


def db_secret_ids(synth: Synthesized) -> set[str]:
    """Every domain's database secret and its attachment (whose Ref is the same ARN)."""
    ids: set[str] = set()
    for attachment_id, attachment in synth.of_type(
        "AWS::SecretsManager::SecretTargetAttachment"
    ).items():
        assert attachment["Properties"]["TargetType"] == "AWS::RDS::DBInstance"
        ids |= {attachment_id, *refs_in(attachment["Properties"]["SecretId"])}
    assert ids
    return ids


def database_functions(domain: str) -> list[wiring.Function]:
    return [
        f for f in wiring.all_functions()
        if wiring.Access.DATABASE in f.access and f.domain == domain
    ]


def ingress_into(synth: Synthesized, group: str) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in synth.of_type("AWS::EC2::SecurityGroupIngress").values()
        if refs_in(r["Properties"]["GroupId"]) == {group}
    ]


def egress_from(synth: Synthesized, group: str) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in synth.of_type("AWS::EC2::SecurityGroupEgress").values()
        if refs_in(r["Properties"]["GroupId"]) == {group}
    ]


def source_of(rule: dict[str, Any]) -> str:
    """The security group an ingress rule admits, or its CIDR (``cidr:...``)."""
    if "SourceSecurityGroupId" in rule:
        return group_id(rule["SourceSecurityGroupId"])
    return f"cidr:{json.dumps(rule.get('CidrIp') or rule.get('CidrIpv6'))}"


def destination_of(rule: dict[str, Any]) -> str:
    """The security group an egress rule lets out to, or its CIDR (``cidr:...``)."""
    if "DestinationSecurityGroupId" in rule:
        return group_id(rule["DestinationSecurityGroupId"])
    return f"cidr:{json.dumps(rule.get('CidrIp') or rule.get('CidrIpv6'))}"


def endpoint_groups(synth: Synthesized) -> set[str]:
    return {
        group_id(v["Properties"]["SecurityGroupIds"])
        for v in synth.of_type("AWS::EC2::VPCEndpoint").values()
    }


def function_groups(synth: Synthesized, name: str) -> set[str]:
    vpc_config = function_props(synth, name).get("VpcConfig", {})
    return refs_in(vpc_config.get("SecurityGroupIds", []))


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
    (private_keys,) = jwt_secret_ids(synth)
    databases = domain_databases(synth)
    (keys_resource,) = synth.of_type("Custom::InkwellSigningKeys")
    for function in wiring.all_functions():
        props = function_props(synth, function.name)
        variables = props["Environment"]["Variables"]
        signs = function.access & {wiring.Access.SIGNING_KEY, wiring.Access.SIGNING_KEY_ADMIN}
        if signs:
            assert variables[env.JWT_PRIVATE_KEYS_SECRET_ARN] == ref(private_keys)
        else:
            assert env.JWT_PRIVATE_KEYS_SECRET_ARN not in variables, function.name
        if wiring.Access.VERIFY_KEY in function.access:
            assert variables[env.JWT_PUBLIC_KEYS] == {
                "Fn::GetAtt": [keys_resource, "PublicKeys"]
            }
        else:
            assert env.JWT_PUBLIC_KEYS not in variables, function.name
        db_keys = {k for k in variables if k.startswith("INKWELL_") and "_DB_" in k}
        if wiring.Access.DATABASE in function.access:
            # its own domain's database, as its own user, with IAM, and no other's
            domain = function.domain
            database = databases[domain]
            common = {env.db_name(domain), env.db_port(domain), env.db_user(domain),
                      env.DB_AUTH, env.DB_TLS}
            assert variables[env.db_name(domain)] == domain
            assert variables[env.DB_AUTH] == env.DB_AUTH_IAM
            assert variables[env.DB_TLS] == "verify-full"
            if function in wiring.MAINTENANCE:
                assert db_keys == common | {env.db_instance_host(domain),
                                            env.db_master_secret_arn(domain)}, function.name
                assert variables[env.db_user(domain)] == env.owner_user(domain)
                assert variables[env.db_instance_host(domain)] == {
                    "Fn::GetAtt": [database.instance, "Endpoint.Address"]}
                assert refs_in(variables[env.db_master_secret_arn(domain)]) <= database.secrets
            else:
                assert db_keys == common | {env.db_host(domain)}, function.name
                assert variables[env.db_user(domain)] == env.app_user(domain)
                assert variables[env.db_host(domain)] == {
                    "Fn::GetAtt": [database.proxy, "Endpoint"]
                }, function.name
            assert "VpcConfig" in props, f"{function.name} must be in the VPC"
        else:
            assert not db_keys and env.DB_TLS not in variables
            assert "VpcConfig" not in props, f"{function.name} must not be in the VPC"


def test_database_functions_run_in_isolated_subnets_in_their_domain_group(
    synth: Synthesized,
) -> None:
    subnets = synth.of_type("AWS::EC2::Subnet")
    databases = domain_databases(synth)
    for function in wiring.all_functions():
        if wiring.Access.DATABASE not in function.access:
            continue
        vpc_config = function_props(synth, function.name)["VpcConfig"]
        expected = (databases[function.domain].maintenance_group
                    if function in wiring.MAINTENANCE
                    else databases[function.domain].clients_group)
        assert function_groups(synth, function.name) == {expected}, function.name
        for subnet in refs_in(vpc_config["SubnetIds"]):
            tags = {t["Key"]: t["Value"] for t in subnets[subnet]["Properties"]["Tags"]}
            assert tags["aws-cdk:subnet-type"] == "Isolated"
    # a domain's group holds exactly that domain's database functions
    for database in databases.values():
        members = {
            f.name for f in wiring.all_functions()
            if database.clients_group in function_groups(synth, f.name)
        }
        assert members == {f.name for f in database_functions(database.domain)
                           if f not in wiring.MAINTENANCE}
        assert members, f"no function uses the {database.domain} database"


def test_each_database_is_reachable_only_from_its_own_domain(synth: Synthesized) -> None:
    databases = domain_databases(synth)
    endpoints = endpoint_groups(synth)
    groups = synth.of_type("AWS::EC2::SecurityGroup")
    for db in databases.values():
        assert len({db.clients_group, db.proxy_group, db.instance_group}) == 3
        for group in (db.clients_group, db.proxy_group, db.instance_group):
            props = groups[group]["Properties"]
            # no inline rules (a CIDR rule would admit anything in the VPC); at most the
            # placeholder that matches no traffic
            assert not props.get("SecurityGroupIngress"), group
            for rule in props.get("SecurityGroupEgress", []):
                assert rule["CidrIp"] == "255.255.255.255/32", (group, rule)
        # the proxy admits the domain's functions only, on PostgreSQL only
        proxy_in = ingress_into(synth, db.proxy_group)
        sources = [source_of(rule) for rule in proxy_in]
        assert sources == [db.clients_group], f"the {db.domain} proxy admits {sources}"
        assert (proxy_in[0]["IpProtocol"], proxy_in[0]["FromPort"], proxy_in[0]["ToPort"]) == (
            "tcp", 5432, 5432
        )
        # the instance admits its proxy, the maintenance function and the master secret's
        # rotation only, on PostgreSQL only
        instance_in = ingress_into(synth, db.instance_group)
        sources = sorted(source_of(rule) for rule in instance_in)
        assert sources == sorted([db.proxy_group, db.maintenance_group, db.rotation_group]), (
            f"the {db.domain} instance admits {sources}")
        port = {"Fn::GetAtt": [db.instance, "Endpoint.Port"]}
        for rule in instance_in:
            assert (rule["FromPort"], rule["ToPort"]) in ((port, port), (5432, 5432)), rule
        maintenance_out = {destination_of(r) for r in egress_from(synth, db.maintenance_group)}
        assert maintenance_out <= {db.instance_group} | endpoints
        assert db.proxy_group not in maintenance_out
        # the domain's functions go out to their own proxy and the AWS endpoints, nowhere
        # else
        egress = egress_from(synth, db.clients_group)
        destinations = {destination_of(r): r for r in egress}
        assert set(destinations) <= {db.proxy_group} | endpoints
        assert destinations[db.proxy_group]["FromPort"] == 5432
        assert all(destinations[e]["FromPort"] == 443 for e in set(destinations) & endpoints)
    for a, b in permutations(databases.values(), 2):
        reaches = {destination_of(r) for r in egress_from(synth, a.clients_group)}
        admitted = {source_of(r) for r in ingress_into(synth, b.proxy_group)}
        assert b.proxy_group not in reaches, f"{a.domain} functions reach the {b.domain} proxy"
        assert a.clients_group not in admitted, f"{b.domain} proxy admits {a.domain} functions"


def test_code_asset_holds_only_wiring_and_the_function_domain(synth: Synthesized) -> None:
    assets_by_domain: dict[str, set[str]] = {}
    for function in wiring.all_functions():
        key = function_props(synth, function.name)["Code"]["S3Key"]
        assets_by_domain.setdefault(function.domain, set()).add(key)
        asset_dir = synth.outdir / f"asset.{key.removesuffix('.zip')}"
        assert asset_dir.is_dir(), f"no staged asset for {function.name}"
        assert {p.name for p in asset_dir.iterdir()} == {"wiring.py", function.domain}
        assert (asset_dir / "wiring.py").is_file()
        # the module Lambda imports is in the asset (else every invocation fails)
        relative = function.module.replace(".", "/") + ".py"
        module = asset_dir / relative
        assert module.is_file(), f"{function.name}: no {function.module} in its asset"
        for path in asset_dir.rglob("*"):
            rel = path.relative_to(asset_dir)
            assert "__pycache__" not in rel.parts and path.suffix != ".pyc", rel
            assert "tests" not in rel.parts, rel
    # one asset per domain, shared by its functions; different domains, different assets
    assert all(len(keys) == 1 for keys in assets_by_domain.values()), assets_by_domain
    assert len(set.union(*assets_by_domain.values())) == len(assets_by_domain)
    assert set(wiring.DATABASE_DOMAINS) <= set(assets_by_domain)
    # every database domain ships its migrations with its maintenance function
    for domain in wiring.DATABASE_DOMAINS:
        (key,) = assets_by_domain[domain]
        migrations = synth.outdir / f"asset.{key.removesuffix('.zip')}" / domain / "migrations"
        assert any(migrations.glob("*.sql")), f"no {domain}/migrations/*.sql in the asset"


# --- least privilege -------------------------------------------------------------------


# One (action, resource, condition) triple per thing a role allows, JSON-rendered.
Grant = tuple[str, str, str]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def grants_of(statements: list[dict[str, Any]]) -> set[Grant]:
    """Every (action, resource, condition) the statements allow; refuses anything that
    could allow more than it spells out (Deny, NotAction, NotResource, a principal)."""
    grants: set[Grant] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow", statement
        assert not {"NotAction", "NotResource", "Principal", "NotPrincipal"} & set(statement)
        condition = _canonical(statement.get("Condition"))
        for action in as_list(statement["Action"]):
            assert "*" not in action, statement
            for resource in as_list(statement["Resource"]):
                grants.add((action, _canonical(resource), condition))
    return grants


def allow(actions: Iterable[str], *resources: Any, condition: Any = None) -> set[Grant]:
    return {
        (action, _canonical(resource), _canonical(condition))
        for action in actions
        for resource in resources
    }


def ses_identity_arn(identity: str) -> dict[str, Any]:
    """``arn:<partition>:ses:<region>:<account>:identity/<identity>``, as CDK renders it
    for an environment-agnostic stack."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:", {"Ref": "AWS::Partition"}, ":ses:", {"Ref": "AWS::Region"}, ":",
                {"Ref": "AWS::AccountId"}, f":identity/{identity}",
            ],
        ]
    }


def expected_grants(
    synth: Synthesized, function: wiring.Function, role_mates: list[wiring.Function]
) -> set[Grant]:
    """What the role of ``function`` must allow, from its declared access (and, for
    logging, the functions it shares the role with), nothing else."""
    props = function_props(synth, function.name)
    variables = props["Environment"]["Variables"]
    expected = allow(XRAY_ACTIONS, "*")
    for mate in role_mates:
        log_group = function_props(synth, mate.name)["LoggingConfig"]["LogGroup"]
        (log_group_id,) = refs_in(log_group)
        expected |= allow(LOG_WRITE_ACTIONS, {"Fn::GetAtt": [log_group_id, "Arn"]})
    if wiring.Access.DATABASE in function.access:
        expected |= allow(VPC_NETWORK_INTERFACE_ACTIONS, "*")
        (connect,) = connect_grants(synth, function.name)  # checked on its own
        expected |= allow([RDS_CONNECT], connect)
        if function in wiring.MAINTENANCE:
            secret = variables[env.db_master_secret_arn(function.domain)]
            expected |= allow(SECRET_READ_ACTIONS, secret)
    (jwt_secret,) = jwt_secret_ids(synth)
    if wiring.Access.SIGNING_KEY in function.access:
        expected |= allow({"secretsmanager:GetSecretValue"}, ref(jwt_secret))
    if wiring.Access.SIGNING_KEY_ADMIN in function.access:
        expected |= allow({"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"},
                          ref(jwt_secret))
    if wiring.Access.EVENTS in function.access:
        (bus,) = synth.of_type("AWS::Events::EventBus")
        expected |= allow(PUT_EVENTS, {"Fn::GetAtt": [bus, "Arn"]})
    address = synth.stack.config.email_sender_address
    if wiring.Access.EMAIL in function.access and address:
        expected |= allow(
            SES_SEND,
            ses_identity_arn(address.rpartition("@")[2]),
            ses_identity_arn(address),
            condition={"StringEquals": {"ses:FromAddress": address}},
        )
    if isinstance(function, wiring.Consumer):
        queue_name = f"{prefix_of(synth)}-{function.name}-dlq"
        (queue,) = [
            k for k, v in synth.of_type("AWS::SQS::Queue").items()
            if v["Properties"]["QueueName"] == queue_name
        ]
        expected |= allow(DLQ_SEND_ACTIONS, {"Fn::GetAtt": [queue, "Arn"]})
    return expected


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_role_grants_exactly_what_its_functions_declare(
    stage: str, synth: Synthesized, prod_synth: Synthesized
) -> None:
    """Every function's role allows exactly its declared access, X-Ray, writing to the log
    groups of the functions sharing the role and, for a consumer, sending to its
    dead-letter queue: no action, resource or condition more or less. prod has
    ``emailSender`` set (SES), dev does not."""
    synthesized = synth if stage == "dev" else prod_synth
    by_role = statements_by_role(synthesized)
    members = role_members(synthesized)
    for role, functions in members.items():
        props = synthesized.resources[role]["Properties"]
        # a plain Lambda execution role: no managed policy (no logs:* on *), lambda only
        assert not props.get("ManagedPolicyArns"), role
        (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert trust["Action"] == "sts:AssumeRole" and "Condition" not in trust
        granted = grants_of(by_role[role])
        for function in functions:
            expected = expected_grants(synthesized, function, functions)
            assert granted == expected, (
                f"{function.name}: more {sorted(granted - expected)}, "
                f"missing {sorted(expected - granted)}"
            )


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_functions_share_a_role_exactly_when_their_grants_are_identical(
    stage: str, synth: Synthesized, prod_synth: Synthesized
) -> None:
    synthesized = synth if stage == "dev" else prod_synth
    members = role_members(synthesized)
    for role, functions in members.items():
        # one domain (one database), one access set, all in the VPC or none, maintenance
        # on its own
        kinds = {(f.domain, f.access, wiring.Access.DATABASE in f.access,
                  f in wiring.MAINTENANCE) for f in functions}
        assert len(kinds) == 1, f"{role} is shared by {[f.name for f in functions]}"
        # a consumer may send to its own dead-letter queue: its role is its own
        consumers = [f.name for f in functions if isinstance(f, wiring.Consumer)]
        assert not consumers or len(functions) == 1, (role, [f.name for f in functions])
    # and every group of functions with identical grants uses one role (no duplicates)
    roles_by_kind: dict[tuple[str, frozenset[wiring.Access], bool], set[str]] = {}
    for function in wiring.all_functions():
        if not isinstance(function, wiring.Consumer):
            kind = (function.domain, function.access, function in wiring.MAINTENANCE)
            roles_by_kind.setdefault(kind, set()).add(
                role_id(synthesized, function.name)
            )
    assert all(len(roles) == 1 for roles in roles_by_kind.values()), roles_by_kind
    assert len(members) == len(roles_by_kind) + len(wiring.CONSUMERS)


def test_named_least_privilege_cases(synth: Synthesized) -> None:
    jwt_secret = jwt_secret_ids(synth)
    db_secret = db_secret_ids(synth)
    for name in ("users-register", "users-login", "health", wiring.AUTHORIZER.name,
                 "content-create-post", "users-outbox-relay", "comments-notify"):
        assert not readable_secrets(synth, name) & db_secret, name
    assert not readable_secrets(synth, "users-register") & jwt_secret
    assert readable_secrets(synth, "users-login") == jwt_secret
    assert readable_secrets(synth, "users-refresh") == jwt_secret
    # the authorizer verifies with public keys in its environment: no secret at all
    assert not readable_secrets(synth, wiring.AUTHORIZER.name)
    assert not readable_secrets(synth, "health")
    assert readable_secrets(synth, "users-maintenance") & db_secret


def test_only_maintenance_reads_a_database_master_secret(synth: Synthesized) -> None:
    """Across every role in the template (not only the functions' roles): the domain's
    maintenance function, and the master secret's own rotation."""
    databases = domain_databases(synth)
    maintenance = {f.domain: role_id(synth, f.name) for f in wiring.MAINTENANCE}
    for db in databases.values():
        readers = {
            role
            for role, statements in statements_by_role(synth).items()
            for statement in statements
            if statement["Effect"] == "Allow"
            and any(str(a).startswith("secretsmanager:Get") or a == "*"
                    for a in as_list(statement.get("Action", [])))
            and refs_in(statement.get("Resource")) & db.secrets
        }
        assert readers == {maintenance[db.domain]}, db.domain
    # the proxy reads no secret: end-to-end IAM
    for proxy in synth.of_type("AWS::RDS::DBProxy").values():
        assert "Auth" not in proxy["Properties"]
        assert proxy["Properties"]["DefaultAuthScheme"] == "IAM_AUTH"
        assert proxy["Properties"]["RequireTLS"] is True


def test_only_signing_functions_read_the_private_keys(synth: Synthesized) -> None:
    (jwt_secret,) = jwt_secret_ids(synth)
    readers = {
        role
        for role, statements in statements_by_role(synth).items()
        for statement in statements
        if statement["Effect"] == "Allow"
        and any(str(a).startswith("secretsmanager:") for a in as_list(statement["Action"]))
        and jwt_secret in refs_in(statement.get("Resource"))
    }
    signers = {role_id(synth, f.name) for f in wiring.all_functions()
               if f.access & {wiring.Access.SIGNING_KEY, wiring.Access.SIGNING_KEY_ADMIN}}
    assert readers == signers
    assert {f.name for f in wiring.all_functions() if wiring.Access.SIGNING_KEY in f.access} == {
        "users-login", "users-refresh"}
    assert role_id(synth, wiring.AUTHORIZER.name) not in readers


def test_each_database_function_connects_only_as_its_domain_user(synth: Synthesized) -> None:
    """``rds-db:connect`` as ``<domain>_app`` through the domain's own proxy, or (the
    maintenance function) as ``<domain>_owner`` to the domain's own instance."""
    databases = domain_databases(synth)
    for function in wiring.all_functions():
        grants = connect_grants(synth, function.name)
        if wiring.Access.DATABASE not in function.access:
            assert not grants, function.name
            continue
        (resource,) = grants
        own = databases[function.domain]
        others = {d.proxy for d in databases.values()} | {d.instance for d in databases.values()}
        text = json.dumps(resource)
        if function in wiring.MAINTENANCE:
            assert refs_in(resource) & others == {own.instance}, function.name
            assert text.endswith(f'/{env.owner_user(function.domain)}"]]}}'), text
        else:
            assert refs_in(resource) & others == {own.proxy}, function.name
            assert text.endswith(f'/{env.app_user(function.domain)}"]]}}'), text
    # the proxies connect as the application user only
    for db in databases.values():
        (proxy_role,) = refs_in(synth.resources[db.proxy]["Properties"]["RoleArn"])
        (statement,) = [s for s in statements_by_role(synth)[proxy_role]
                        if RDS_CONNECT in as_list(s["Action"])]
        instances = {d.instance for d in databases.values()}
        assert refs_in(statement["Resource"]) & instances == {db.instance}
        assert json.dumps(statement["Resource"]).endswith(f'/{env.app_user(db.domain)}"]]}}')


# --- API -------------------------------------------------------------------------------


def test_every_route_is_a_lambda_proxy_method(synth: Synthesized) -> None:
    methods = methods_by_route(synth)
    assert set(methods) == {(r.method, r.path) for r in wiring.ROUTES}
    for route in wiring.ROUTES:
        integration = methods[(route.method, route.path)]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert integration["IntegrationHttpMethod"] == "POST"
        assert function_id(synth, route.name) in refs_in(integration["Uri"])


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
    assert sibling_variable_conflicts(["/a/{id}", "/a/{proxy+}"]) == {
        "/a": {"{id}", "{proxy+}"}
    }
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
        (props,) = permissions.pop(function_id(synth, route.name))
        assert props["Principal"] == "apigateway.amazonaws.com"
        source = json.dumps(props["SourceArn"])
        assert refs_in(props["SourceArn"]) >= {api, stage}, route.name
        method_path = re.sub(r"\{[^}]+\}", "*", route.path)  # the method ARN's form
        assert source.endswith(f'"/{route.method}{method_path}"]]}}'), (route.name, source)
    (props,) = permissions.pop(function_id(synth, wiring.AUTHORIZER.name))
    assert props["Principal"] == "apigateway.amazonaws.com"
    assert {r for r in refs_in(props["SourceArn"]) if not r.startswith("AWS::")} == {api}
    assert json.dumps(props["SourceArn"]).endswith('"/authorizers/*"]]}'), props
    for consumer in wiring.CONSUMERS:
        (props,) = permissions.pop(function_id(synth, consumer.name))
        assert props["Principal"] == "events.amazonaws.com"
    assert not permissions, sorted(permissions)


def test_outputs(synth: Synthesized) -> None:
    assert {"ApiUrl", "WebAclArn", "EventBusName", "EventBusArn", "AlarmTopicArn",
            "DashboardName"} <= set(synth.outputs)
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


def test_each_domain_database_is_private_encrypted_and_tls_only(synth: Synthesized) -> None:
    databases = domain_databases(synth)  # one instance per domain, found by DBName
    assert len(synth.of_type("AWS::RDS::DBInstance")) == len(wiring.DATABASE_DOMAINS)
    assert len(synth.of_type("AWS::RDS::DBProxy")) == len(wiring.DATABASE_DOMAINS)
    assert len(db_secret_ids(synth)) == 2 * len(wiring.DATABASE_DOMAINS)
    rotations = synth.of_type("AWS::SecretsManager::RotationSchedule")
    assert len(rotations) == len(wiring.DATABASE_DOMAINS)
    for domain, db in databases.items():
        instance = synth.resources[db.instance]
        props = instance["Properties"]
        assert props["Engine"] == "postgres"
        assert int(props["EngineVersion"].split(".")[0]) >= 16
        assert props["StorageEncrypted"] is True
        assert props["PubliclyAccessible"] is False
        assert props["DBName"] == domain
        assert props["BackupRetentionPeriod"] >= 1
        assert props["DeletionProtection"] is False  # dev stage
        assert instance["DeletionPolicy"] == "Delete"

        (subnet_group,) = refs_in(props["DBSubnetGroupName"])
        for subnet in refs_in(synth.resources[subnet_group]["Properties"]["SubnetIds"]):
            tags = {
                t["Key"]: t["Value"] for t in synth.resources[subnet]["Properties"]["Tags"]
            }
            assert tags["aws-cdk:subnet-type"] == "Isolated"

        (parameter_group,) = refs_in(props["DBParameterGroupName"])
        parameters = synth.resources[parameter_group]["Properties"]["Parameters"]
        assert parameters["rds.force_ssl"] == "1"
        assert props["EnableIAMDatabaseAuthentication"] is True

        # its own generated master credentials, rotating; the proxy uses IAM end to end
        assert "MasterUserPassword" in props
        assert refs_in(props["MasterUserPassword"]) & db.secrets
        (rotation,) = [r for r in rotations.values()
                       if refs_in(r["Properties"]["SecretId"]) & db.secrets]
        assert rotation["Properties"]["RotationRules"]["ScheduleExpression"] == "rate(30 days)"
        proxy = synth.resources[db.proxy]["Properties"]
        assert proxy["RequireTLS"] is True
        assert proxy["EngineFamily"] == "POSTGRESQL"
        assert proxy["DefaultAuthScheme"] == "IAM_AUTH" and "Auth" not in proxy
    # no two domains share a secret, a proxy or a security group
    for a, b in permutations(databases.values(), 2):
        assert not a.secrets & b.secrets
        assert a.proxy != b.proxy
        assert not {a.clients_group, a.proxy_group, a.instance_group} & {
            b.clients_group, b.proxy_group, b.instance_group
        }


def test_prod_stage_protects_every_database(prod_synth: Synthesized) -> None:
    instances = prod_synth.of_type("AWS::RDS::DBInstance")
    assert len(instances) == len(wiring.DATABASE_DOMAINS)
    for instance in instances.values():
        assert instance["Properties"]["DeletionProtection"] is True
        assert instance["DeletionPolicy"] == "Snapshot"
        assert instance["Properties"]["MultiAZ"] is True


# --- layer and triggers ----------------------------------------------------------------


def test_layer_targets_python312_arm64(synth: Synthesized) -> None:
    synth.template.has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": [EXPECTED_RUNTIME], "CompatibleArchitectures": ["arm64"]},
    )


def test_each_database_domain_has_one_maintenance_function() -> None:
    for domain in wiring.DATABASE_DOMAINS:
        maintenance = maintenance_of(domain)
        assert wiring.Access.DATABASE in maintenance.access
    with pytest.raises(ValueError, match="exactly one maintenance"):
        # a database domain without a maintenance function
        maintenance_of("reviews")


def trigger_of(synth: Synthesized, maintenance: wiring.Function) -> tuple[str, dict[str, Any]]:
    triggers = synth.of_type("Custom::Trigger")
    versions = synth.of_type("AWS::Lambda::Version")
    fn = function_id(synth, maintenance.name)
    return only({
        k: v
        for k, v in triggers.items()
        if any(
            refs_in(versions[v_id]["Properties"]["FunctionName"]) == {fn}
            for v_id in refs_in(v["Properties"]["HandlerArn"])
            if v_id in versions
        )
    })


def test_maintenance_trigger_runs_after_its_database(synth: Synthesized) -> None:
    assert len(synth.of_type("Custom::Trigger")) == len(wiring.MAINTENANCE)
    databases = domain_databases(synth)
    endpoints = set(synth.of_type("AWS::EC2::VPCEndpoint"))
    nested = synth.of_type("AWS::CloudFormation::Stack")
    for maintenance in wiring.MAINTENANCE:
        db: DomainDb = databases[maintenance.domain]
        _, trigger = trigger_of(synth, maintenance)
        assert trigger["Properties"]["ExecuteOnHandlerChange"] is True
        assert trigger["Properties"]["InvocationType"] == "RequestResponse"
        # its own database is in place first, and (in the platform stack) every endpoint
        # the function may call: the domain's nested stack waits for them
        assert {db.instance, db.proxy} <= set(trigger.get("DependsOn", []))
        (domain_stack,) = [v for k, v in nested.items()
                           if k.startswith(maintenance.domain.capitalize())]
        assert endpoints <= set(domain_stack.get("DependsOn", []))


def test_functions_wait_for_their_domain_migrations(synth: Synthesized) -> None:
    """Routes, consumers, relays and schedulers of a domain are updated only after its
    migration trigger succeeded; the trigger outlasts the maintenance function."""
    for maintenance in wiring.MAINTENANCE:
        trigger_id, trigger = trigger_of(synth, maintenance)
        waiting = {
            f.name for f in wiring.all_functions()
            if trigger_id in synth.resources[function_id(synth, f.name)].get("DependsOn", [])
        }
        expected = {
            f.name for f in wiring.all_functions()
            if f.domain == maintenance.domain and wiring.Access.DATABASE in f.access
            and f not in wiring.MAINTENANCE
        }
        assert waiting == expected, maintenance.domain
        assert expected
        timeout = function_props(synth, maintenance.name)["Timeout"]
        assert timeout == maintenance.timeout_s
        assert int(trigger["Properties"]["Timeout"]) > timeout * 1000


# --- CloudFormation limits -------------------------------------------------------------

# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
MAX_RESOURCES = 500
MAX_OUTPUTS = 200
MAX_PARAMETERS = 200
MAX_TEMPLATE_BYTES = 1_000_000  # uploaded to S3 by the CDK
# Physical name limits: Lambda function, Scheduler schedule and EventBridge rule 64, SQS 80.
MAX_NAME = {"AWS::Lambda::Function": ("FunctionName", 64),
            "AWS::Scheduler::Schedule": ("Name", 64),
            "AWS::Events::Rule": ("Name", 64),
            "AWS::SQS::Queue": ("QueueName", 80)}


# Room to grow: every template at most 60 % of the limit.
MAX_TEMPLATE_RESOURCES = int(MAX_RESOURCES * 0.6)


def test_every_template_stays_well_within_cloudformation_limits(
    synth: Synthesized, prod_synth: Synthesized
) -> None:
    for synthesized in (synth, prod_synth):
        assert len(synthesized.templates) == len(wiring.DATABASE_DOMAINS) + 3
        for path, template in synthesized.templates.items():
            count = len(template["Resources"])
            assert count <= MAX_TEMPLATE_RESOURCES, (
                f"{path}: {count} resources, over 60 % of CloudFormation's {MAX_RESOURCES}"
            )
            assert len(template.get("Outputs", {})) <= MAX_OUTPUTS
            assert len(template.get("Parameters", {})) <= MAX_PARAMETERS
            assert len(json.dumps(template)) <= MAX_TEMPLATE_BYTES
    # prod has the longest name prefix
    for resource_type, (prop, limit) in MAX_NAME.items():
        for resource in prod_synth.of_type(resource_type).values():
            name = resource["Properties"].get(prop)
            if isinstance(name, str):
                assert len(name) <= limit, f"{resource_type} name too long: {name}"
