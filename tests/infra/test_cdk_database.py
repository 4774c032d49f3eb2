"""The network and the databases: no NAT, private, encrypted and TLS-only databases, each
protected in prod."""

from __future__ import annotations

from itertools import permutations

import pytest

import wiring
from tests.infra.conftest import Synthesized
from tests.infra.helpers import (
    db_secret_ids,
    domain_databases,
    refs_in,
)

pytestmark = pytest.mark.xdist_group("cdk")


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
            tags = {t["Key"]: t["Value"] for t in synth.resources[subnet]["Properties"]["Tags"]}
            assert tags["aws-cdk:subnet-type"] == "Isolated"

        (parameter_group,) = refs_in(props["DBParameterGroupName"])
        parameters = synth.resources[parameter_group]["Properties"]["Parameters"]
        assert parameters["rds.force_ssl"] == "1"
        assert props["EnableIAMDatabaseAuthentication"] is True

        # its own generated master credentials, rotating; the proxy uses IAM end to end
        assert "MasterUserPassword" in props
        assert refs_in(props["MasterUserPassword"]) & db.secrets
        (rotation,) = [
            r for r in rotations.values() if refs_in(r["Properties"]["SecretId"]) & db.secrets
        ]
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
            b.clients_group,
            b.proxy_group,
            b.instance_group,
        }


def test_prod_stage_protects_every_database(prod_synth: Synthesized) -> None:
    instances = prod_synth.of_type("AWS::RDS::DBInstance")
    assert len(instances) == len(wiring.DATABASE_DOMAINS)
    for instance in instances.values():
        assert instance["Properties"]["DeletionProtection"] is True
        assert instance["DeletionPolicy"] == "Snapshot"
        assert instance["Properties"]["MultiAZ"] is True
