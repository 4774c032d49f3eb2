"""The layer's runtime, and the migrations that run before the functions that need them."""

from __future__ import annotations

from typing import Any

import pytest

import wiring
from infra.cdk.inkwell_infra.domain import maintenance_of
from tests.infra.conftest import Synthesized
from tests.infra.helpers import (
    EXPECTED_RUNTIME,
    DomainDb,
    domain_databases,
    function_id,
    function_props,
    only,
    refs_in,
)

pytestmark = pytest.mark.xdist_group("cdk")


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
    return only(
        {
            k: v
            for k, v in triggers.items()
            if any(
                refs_in(versions[v_id]["Properties"]["FunctionName"]) == {fn}
                for v_id in refs_in(v["Properties"]["HandlerArn"])
                if v_id in versions
            )
        }
    )


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
        (domain_stack,) = [
            v for k, v in nested.items() if k.startswith(maintenance.domain.capitalize())
        ]
        assert endpoints <= set(domain_stack.get("DependsOn", []))


def test_functions_wait_for_their_domain_migrations(synth: Synthesized) -> None:
    """Routes, consumers, relays and schedulers of a domain are updated only after its
    migration trigger succeeded; the trigger outlasts the maintenance function."""
    for maintenance in wiring.MAINTENANCE:
        trigger_id, trigger = trigger_of(synth, maintenance)
        waiting = {
            f.name
            for f in wiring.all_functions()
            if trigger_id in synth.resources[function_id(synth, f.name)].get("DependsOn", [])
        }
        expected = {
            f.name
            for f in wiring.all_functions()
            if f.domain == maintenance.domain
            and wiring.Access.DATABASE in f.access
            and f not in wiring.MAINTENANCE
        }
        assert waiting == expected, maintenance.domain
        assert expected
        timeout = function_props(synth, maintenance.name)["Timeout"]
        assert timeout == maintenance.timeout_s
        assert int(trigger["Properties"]["Timeout"]) > timeout * 1000
