"""Helpers shared by the CDK assertion modules: walking the synthesized template."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnElement

import wiring
from infra.cdk.inkwell_infra.events import OUTBOX_AGE_METRIC
from tests.infra.conftest import Synthesized

PREFIX = "inkwell-dev"


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def only(items: dict[str, Any]) -> tuple[str, Any]:
    assert len(items) == 1, f"expected exactly one, got {sorted(items)}"
    return next(iter(items.items()))


def refs_in(value: Any) -> set[str]:
    """Every logical id referenced (Ref / Fn::GetAtt) anywhere inside ``value``."""
    found: set[str] = set()
    if isinstance(value, dict):
        if set(value) == {"Ref"} and isinstance(value["Ref"], str):
            found.add(value["Ref"])
        elif set(value) == {"Fn::GetAtt"}:
            found.add(value["Fn::GetAtt"][0])
        else:
            for item in value.values():
                found |= refs_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= refs_in(item)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def prefix_of(synth: Synthesized) -> str:
    """The physical name prefix of the synthesized stage (``inkwell-dev``, ...)."""
    return synth.stack.config.name_prefix


def function_id(synth: Synthesized, name: str) -> str:
    matches = {
        k: v
        for k, v in synth.of_type("AWS::Lambda::Function").items()
        if v["Properties"].get("FunctionName") == f"{prefix_of(synth)}-{name}"
    }
    logical_id, _ = only(matches)
    return logical_id


def function_props(synth: Synthesized, name: str) -> dict[str, Any]:
    props: dict[str, Any] = synth.resources[function_id(synth, name)]["Properties"]
    return props


def role_id(synth: Synthesized, name: str) -> str:
    (role,) = refs_in(function_props(synth, name)["Role"])
    return role


def role_statements(synth: Synthesized, name: str) -> list[dict[str, Any]]:
    role = role_id(synth, name)
    statements: list[dict[str, Any]] = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if ref(role) in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    for inline in synth.resources[role]["Properties"].get("Policies", []):
        statements += inline["PolicyDocument"]["Statement"]
    return statements


def role_members(synth: Synthesized) -> dict[str, list[wiring.Function]]:
    """The role of every function (its logical id) -> the functions that use it."""
    members: dict[str, list[wiring.Function]] = {}
    for function in wiring.all_functions():
        members.setdefault(role_id(synth, function.name), []).append(function)
    return members


def statements_by_role(synth: Synthesized) -> dict[str, list[dict[str, Any]]]:
    """Every IAM statement in the template, by the logical id of the role it applies to.

    Covers ``AWS::IAM::Policy``, ``AWS::IAM::ManagedPolicy`` (attached to roles in the
    template) and roles' inline policies.
    """
    found: dict[str, list[dict[str, Any]]] = {}
    for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy in synth.of_type(policy_type).values():
            props = policy["Properties"]
            for role in refs_in(props.get("Roles", [])):
                found.setdefault(role, []).extend(props["PolicyDocument"]["Statement"])
    for logical_id, resource in synth.of_type("AWS::IAM::Role").items():
        for inline in resource["Properties"].get("Policies", []):
            found.setdefault(logical_id, []).extend(inline["PolicyDocument"]["Statement"])
    return found


def group_id(value: Any) -> str:
    """The logical id of the one security group ``value`` refers to."""
    (group,) = refs_in(value)
    return group


@dataclass(frozen=True)
class DomainDb:
    """The logical ids of one domain's database resources, as found in the template."""

    domain: str
    instance: str
    proxy: str
    # The generated secret and its attachment to the instance (both Ref to the secret ARN).
    secrets: frozenset[str]
    clients_group: str
    maintenance_group: str
    rotation_group: str
    proxy_group: str
    instance_group: str


def domain_databases(synth: Synthesized) -> dict[str, DomainDb]:
    """Every domain database, found by its DBName and followed through the references
    (instance -> secret attachment, proxy target group -> proxy -> its security group).

    The clients group is the one the stack gives the domain's functions
    (``DomainDatabase.clients_security_group``): tests then check what the template
    does with it rather than derive it from the rules under test.
    """
    instances = {
        v["Properties"]["DBName"]: k for k, v in synth.of_type("AWS::RDS::DBInstance").items()
    }
    assert sorted(instances) == sorted(wiring.DATABASE_DOMAINS), instances
    attachments = synth.of_type("AWS::SecretsManager::SecretTargetAttachment")
    target_groups = synth.of_type("AWS::RDS::DBProxyTargetGroup")
    found: dict[str, DomainDb] = {}
    for domain, instance in instances.items():
        (attachment,) = [
            k for k, v in attachments.items() if refs_in(v["Properties"]["TargetId"]) == {instance}
        ]
        secret = refs_in(attachments[attachment]["Properties"]["SecretId"])
        (target_group,) = [
            v
            for v in target_groups.values()
            if refs_in(v["Properties"]["DBInstanceIdentifiers"]) == {instance}
        ]
        (proxy,) = refs_in(target_group["Properties"]["DBProxyName"])
        database = synth.stack.databases[domain]

        def logical(group: Any) -> str:
            element = group.node.default_child
            assert isinstance(element, CfnElement)
            return str(element.stack.resolve(element.logical_id))

        found[domain] = DomainDb(
            domain=domain,
            instance=instance,
            proxy=proxy,
            secrets=frozenset({attachment, *secret}),
            clients_group=logical(database.clients_security_group),
            maintenance_group=logical(database.maintenance_security_group),
            rotation_group=logical(database.node.find_child("RotationSecurityGroup")),
            proxy_group=group_id(synth.resources[proxy]["Properties"]["VpcSecurityGroupIds"]),
            instance_group=group_id(synth.resources[instance]["Properties"]["VPCSecurityGroups"]),
        )
    return found


# The runtime is the Python that builds (and compiles) the layer.
EXPECTED_RUNTIME = "python3.13"


def jwt_secret_ids(synth: Synthesized) -> set[str]:
    """The JWT private-key secret: the one secret that is no database's."""
    secrets = set(synth.of_type("AWS::SecretsManager::Secret")) - db_secret_ids(synth)
    assert len(secrets) == 1
    return secrets


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


def dlq_id(synth: Synthesized, consumer: wiring.Consumer) -> str:
    logical_id, _ = only(
        {
            k: v
            for k, v in synth.of_type("AWS::SQS::Queue").items()
            if v["Properties"].get("QueueName") == f"{PREFIX}-{consumer.name}-dlq"
        }
    )
    return logical_id


def alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in synth.of_type("AWS::CloudWatch::Alarm").items()}


def outbox_alarm(synth: Synthesized, domain: str) -> dict[str, Any]:
    _, props = only(
        {
            k: v
            for k, v in alarms(synth).items()
            if v.get("MetricName") == OUTBOX_AGE_METRIC
            and {"Name": "Domain", "Value": domain} in v["Dimensions"]
        }
    )
    return props
