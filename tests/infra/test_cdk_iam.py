"""Least privilege: each role grants exactly what its functions declare."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

import wiring
from inkwell import env
from tests.infra.conftest import Synthesized
from tests.infra.helpers import (
    as_list,
    db_secret_ids,
    domain_databases,
    function_props,
    jwt_secret_ids,
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


def readable_secrets(synth: Synthesized, name: str) -> set[str]:
    """Logical ids of the secrets the function's role may read."""
    found: set[str] = set()
    for statement in role_statements(synth, name):
        if SECRET_READ_ACTIONS & set(as_list(statement["Action"])):
            found |= refs_in(statement["Resource"])
    return found


RDS_CONNECT = "rds-db:connect"


def connect_grants(synth: Synthesized, name: str) -> list[Any]:
    """The resources of the function role's ``rds-db:connect`` statements."""
    return [
        statement["Resource"]
        for statement in role_statements(synth, name)
        if RDS_CONNECT in as_list(statement["Action"])
    ]


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
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ses:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":identity/{identity}",
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
        expected |= allow(
            {"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"}, ref(jwt_secret)
        )
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
            k
            for k, v in synth.of_type("AWS::SQS::Queue").items()
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
        kinds = {
            (f.domain, f.access, wiring.Access.DATABASE in f.access, f in wiring.MAINTENANCE)
            for f in functions
        }
        assert len(kinds) == 1, f"{role} is shared by {[f.name for f in functions]}"
        # a consumer may send to its own dead-letter queue: its role is its own
        consumers = [f.name for f in functions if isinstance(f, wiring.Consumer)]
        assert not consumers or len(functions) == 1, (role, [f.name for f in functions])
    # and every group of functions with identical grants uses one role (no duplicates)
    roles_by_kind: dict[tuple[str, frozenset[wiring.Access], bool], set[str]] = {}
    for function in wiring.all_functions():
        if not isinstance(function, wiring.Consumer):
            kind = (function.domain, function.access, function in wiring.MAINTENANCE)
            roles_by_kind.setdefault(kind, set()).add(role_id(synthesized, function.name))
    assert all(len(roles) == 1 for roles in roles_by_kind.values()), roles_by_kind
    assert len(members) == len(roles_by_kind) + len(wiring.CONSUMERS)


def test_named_least_privilege_cases(synth: Synthesized) -> None:
    jwt_secret = jwt_secret_ids(synth)
    db_secret = db_secret_ids(synth)
    for name in (
        "users-register",
        "users-login",
        "health",
        wiring.AUTHORIZER.name,
        "content-create-post",
        "users-outbox-relay",
        "comments-notify",
    ):
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
            and any(
                str(a).startswith("secretsmanager:Get") or a == "*"
                for a in as_list(statement.get("Action", []))
            )
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
    signers = {
        role_id(synth, f.name)
        for f in wiring.all_functions()
        if f.access & {wiring.Access.SIGNING_KEY, wiring.Access.SIGNING_KEY_ADMIN}
    }
    assert readers == signers
    assert {f.name for f in wiring.all_functions() if wiring.Access.SIGNING_KEY in f.access} == {
        "users-login",
        "users-refresh",
    }
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
        (statement,) = [
            s for s in statements_by_role(synth)[proxy_role] if RDS_CONNECT in as_list(s["Action"])
        ]
        instances = {d.instance for d in databases.values()}
        assert refs_in(statement["Resource"]) & instances == {db.instance}
        assert json.dumps(statement["Resource"]).endswith(f'/{env.app_user(db.domain)}"]]}}')
