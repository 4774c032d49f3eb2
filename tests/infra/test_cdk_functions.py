"""The functions: one per wiring function, their log groups, environment, VPC placement and code."""

from __future__ import annotations

import json
from itertools import permutations
from typing import Any

import pytest

import wiring
from inkwell import env
from tests.infra.conftest import Synthesized
from tests.infra.helpers import (
    EXPECTED_RUNTIME,
    PREFIX,
    domain_databases,
    function_props,
    group_id,
    jwt_secret_ids,
    only,
    ref,
    refs_in,
)

pytestmark = pytest.mark.xdist_group("cdk")


def database_functions(domain: str) -> list[wiring.Function]:
    return [
        f
        for f in wiring.all_functions()
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
            assert variables[env.JWT_PUBLIC_KEYS] == {"Fn::GetAtt": [keys_resource, "PublicKeys"]}
        else:
            assert env.JWT_PUBLIC_KEYS not in variables, function.name
        db_keys = {k for k in variables if k.startswith("INKWELL_") and "_DB_" in k}
        if wiring.Access.DATABASE in function.access:
            # its own domain's database, as its own user, with IAM, and no other's
            domain = function.domain
            database = databases[domain]
            common = {
                env.db_name(domain),
                env.db_port(domain),
                env.db_user(domain),
                env.DB_AUTH,
                env.DB_TLS,
            }
            assert variables[env.db_name(domain)] == domain
            assert variables[env.DB_AUTH] == env.DB_AUTH_IAM
            assert variables[env.DB_TLS] == "verify-full"
            if function in wiring.MAINTENANCE:
                assert db_keys == common | {
                    env.db_instance_host(domain),
                    env.db_master_secret_arn(domain),
                    env.DB_CA_BUNDLE,
                }, function.name
                # the instance's certificate is signed by the RDS CA: the layer's bundle
                assert variables[env.DB_CA_BUNDLE] == "/opt/certs/rds-ca-bundle.pem"
                assert variables[env.db_user(domain)] == env.owner_user(domain)
                assert variables[env.db_instance_host(domain)] == {
                    "Fn::GetAtt": [database.instance, "Endpoint.Address"]
                }
                assert refs_in(variables[env.db_master_secret_arn(domain)]) <= database.secrets
            else:
                assert db_keys == common | {env.db_host(domain)}, function.name
                assert env.DB_CA_BUNDLE not in variables, function.name  # public ACM cert
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
        expected = (
            databases[function.domain].maintenance_group
            if function in wiring.MAINTENANCE
            else databases[function.domain].clients_group
        )
        assert function_groups(synth, function.name) == {expected}, function.name
        for subnet in refs_in(vpc_config["SubnetIds"]):
            tags = {t["Key"]: t["Value"] for t in subnets[subnet]["Properties"]["Tags"]}
            assert tags["aws-cdk:subnet-type"] == "Isolated"
    # a domain's group holds exactly that domain's database functions
    for database in databases.values():
        members = {
            f.name
            for f in wiring.all_functions()
            if database.clients_group in function_groups(synth, f.name)
        }
        assert members == {
            f.name for f in database_functions(database.domain) if f not in wiring.MAINTENANCE
        }
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
            "tcp",
            5432,
            5432,
        )
        # the instance admits its proxy, the maintenance function and the master secret's
        # rotation only, on PostgreSQL only
        instance_in = ingress_into(synth, db.instance_group)
        sources = sorted(source_of(rule) for rule in instance_in)
        assert sources == sorted([db.proxy_group, db.maintenance_group, db.rotation_group]), (
            f"the {db.domain} instance admits {sources}"
        )
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
