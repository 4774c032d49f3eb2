"""CDK assertions on email: ``Access.EMAIL`` with and without context ``emailSender``.

The dev synth leaves ``emailSender`` unset (email goes to the log: no SES permission, no
endpoint); the prod synth sets it (``conftest.PROD_CONTEXT``): SES, as that sender only,
through a closed interface endpoint for the in-VPC senders. The exact IAM grants of every
role, SES included, are checked by ``test_cdk_iam.test_each_role_grants_exactly_what_its_
functions_declare``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import wiring
from inkwell.env import EMAIL_SENDER as EMAIL_SENDER_ENV
from inkwell.env import EMAIL_TRANSPORT as EMAIL_TRANSPORT_ENV
from inkwell.env import PASSWORD_RESET_TTL, PASSWORD_RESET_URL
from tests.infra.conftest import PROD_CONTEXT, Synthesized
from tests.infra.helpers import as_list, function_props, only, refs_in, role_id, statements_by_role

pytestmark = pytest.mark.xdist_group("cdk")

SENDER = PROD_CONTEXT["emailSender"]


def senders() -> list[wiring.Function]:
    found = [f for f in wiring.all_functions() if wiring.Access.EMAIL in f.access]
    assert found, "no function declares Access.EMAIL: nothing to check"
    return found


def ses_roles(synth: Synthesized) -> set[str]:
    """Roles with any statement naming an SES action (wildcards included)."""
    return {
        role
        for role, statements in statements_by_role(synth).items()
        for statement in statements
        for action in as_list(statement.get("Action", []))
        if str(action).lower().startswith("ses:") or action == "*"
    }


def endpoint_services(synth: Synthesized) -> dict[str, str]:
    """VPC endpoint logical id -> service suffix (``.secretsmanager``, ``.email``...)."""
    return {
        k: v["Properties"]["ServiceName"]["Fn::Join"][1][-1]
        for k, v in synth.of_type("AWS::EC2::VPCEndpoint").items()
    }


def email_endpoint_group(synth: Synthesized) -> str:
    endpoint, _ = only({k: s for k, s in endpoint_services(synth).items() if s == ".email"})
    (group,) = refs_in(synth.resources[endpoint]["Properties"]["SecurityGroupIds"])
    return group


def environment(synth: Synthesized, function: wiring.Function) -> dict[str, Any]:
    env: dict[str, Any] = function_props(synth, function.name)["Environment"]["Variables"]
    return env


def test_the_sender_reads_the_database_and_sends_from_the_vpc() -> None:
    """What the SES endpoint test below relies on: a sender in the VPC (users-email)."""
    assert any(wiring.Access.DATABASE in f.access for f in senders())


# --- emailSender unset (dev) -------------------------------------------------------------


def test_without_a_sender_email_goes_to_the_log(synth: Synthesized) -> None:
    assert synth.stack.config.email_sender is None
    for function in wiring.all_functions():
        env = environment(synth, function)
        if wiring.Access.EMAIL in function.access:
            assert env[EMAIL_TRANSPORT_ENV] == "log", function.name
        else:
            assert EMAIL_TRANSPORT_ENV not in env, function.name
        assert EMAIL_SENDER_ENV not in env, function.name


def test_the_reset_email_settings_reach_the_functions_that_send_email(
    synth: Synthesized, prod_synth: Synthesized
) -> None:
    """passwordResetUrl/passwordResetTtlMinutes become what inkwell.settings reads, on the
    email senders (the reset request among them) and nowhere else."""
    names = {f.name for f in senders()}
    assert "users-request-password-reset" in names
    for function in wiring.all_functions():
        dev, prod = environment(synth, function), environment(prod_synth, function)
        if function.name in names:
            assert dev[PASSWORD_RESET_TTL] == "1800" and PASSWORD_RESET_URL not in dev
            assert prod[PASSWORD_RESET_TTL] == str(20 * 60)
            assert prod[PASSWORD_RESET_URL] == PROD_CONTEXT["passwordResetUrl"]
        else:
            for variables in (dev, prod):
                assert PASSWORD_RESET_TTL not in variables, function.name
                assert PASSWORD_RESET_URL not in variables, function.name


def test_without_a_sender_no_ses_permission_and_no_endpoint(synth: Synthesized) -> None:
    assert not ses_roles(synth)
    assert ".email" not in endpoint_services(synth).values()


# --- emailSender set (prod) --------------------------------------------------------------


def test_with_a_sender_email_functions_use_ses(prod_synth: Synthesized) -> None:
    assert prod_synth.stack.config.email_sender == SENDER
    for function in wiring.all_functions():
        env = environment(prod_synth, function)
        if wiring.Access.EMAIL in function.access:
            assert env[EMAIL_TRANSPORT_ENV] == "ses", function.name
            # display name included: SES shows it, the IAM condition checks the address
            assert env[EMAIL_SENDER_ENV] == SENDER, function.name
        else:
            assert EMAIL_TRANSPORT_ENV not in env and EMAIL_SENDER_ENV not in env


def test_with_a_sender_only_email_functions_may_send(prod_synth: Synthesized) -> None:
    allowed = {role_id(prod_synth, f.name) for f in senders()}
    assert ses_roles(prod_synth) == allowed
    for role in allowed:
        (statement,) = [
            s
            for s in statements_by_role(prod_synth)[role]
            if any(str(a).startswith("ses:") for a in as_list(s["Action"]))
        ]
        assert sorted(as_list(statement["Action"])) == ["ses:SendEmail", "ses:SendRawEmail"]
        assert statement["Condition"] == {
            "StringEquals": {"ses:FromAddress": "no-reply@inkwell.example"}
        }
        resources = [json.dumps(r) for r in as_list(statement["Resource"])]
        assert len(resources) == 2 and all('":ses:"' in r for r in resources)
        assert {r.rsplit(":identity/", 1)[1] for r in resources} == {
            'inkwell.example"]]}',
            'no-reply@inkwell.example"]]}',
        }


def test_with_a_sender_in_vpc_senders_reach_ses_through_a_closed_endpoint(
    prod_synth: Synthesized,
) -> None:
    services = endpoint_services(prod_synth)
    # the SES API (email), not SMTP (email-smtp)
    assert sorted(services.values()) == [".email", ".events", ".secretsmanager"]
    endpoint, _ = only({k: s for k, s in services.items() if s == ".email"})
    props = prod_synth.resources[endpoint]["Properties"]
    assert props["VpcEndpointType"] == "Interface"
    assert props["PrivateDnsEnabled"] is True
    group = email_endpoint_group(prod_synth)
    assert not prod_synth.resources[group]["Properties"].get("SecurityGroupIngress")

    sender_groups: set[str] = set()
    for function in senders():
        vpc_config = function_props(prod_synth, function.name).get("VpcConfig")
        if vpc_config:
            sender_groups |= refs_in(vpc_config["SecurityGroupIds"])
    assert sender_groups

    ingress = [
        r["Properties"]
        for r in prod_synth.of_type("AWS::EC2::SecurityGroupIngress").values()
        if refs_in(r["Properties"]["GroupId"]) == {group}
    ]
    assert {g for r in ingress for g in refs_in(r["SourceSecurityGroupId"])} == sender_groups
    assert all((r["IpProtocol"], r["FromPort"], r["ToPort"]) == ("tcp", 443, 443) for r in ingress)
    egress_to_endpoint = {
        g
        for r in prod_synth.of_type("AWS::EC2::SecurityGroupEgress").values()
        if refs_in(r["Properties"].get("DestinationSecurityGroupId")) == {group}
        and r["Properties"]["FromPort"] == 443
        for g in refs_in(r["Properties"]["GroupId"])
    }
    assert egress_to_endpoint == sender_groups
