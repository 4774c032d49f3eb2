"""CDK assertions on the event backbone (bus, archive, rules, DLQs, retries, the schedules
of the scheduled functions, PutEvents grants, the EventBridge endpoint, the outputs),
checked against ``wiring``; the alarms are in ``test_cdk_alarms``.
"""

from __future__ import annotations

import dataclasses
import json
from fnmatch import fnmatchcase
from typing import Any

import pytest

import wiring
from infra.cdk.inkwell_infra.events import (
    DELIVERY_RETRY_ATTEMPTS,
    event_pattern,
    validate_consumer,
    validate_relays,
    validate_scheduled,
)
from inkwell.env import EVENT_BUS_NAME as EVENT_BUS_ENV
from tests.infra.conftest import Synthesized
from tests.infra.helpers import (
    PREFIX,
    as_list,
    dlq_id,
    function_id,
    function_props,
    only,
    outbox_alarm,
    ref,
    refs_in,
    role_id,
    statements_by_role,
)

pytestmark = pytest.mark.xdist_group("cdk")


DLQ_RETENTION_S = 14 * 24 * 3600


def bus_id(synth: Synthesized) -> str:
    logical_id, _ = only(synth.of_type("AWS::Events::EventBus"))
    return logical_id


def bus_arn(synth: Synthesized) -> dict[str, Any]:
    return {"Fn::GetAtt": [bus_id(synth), "Arn"]}


def rules_targeting(synth: Synthesized, fn_logical_id: str) -> dict[str, dict[str, Any]]:
    return {
        k: v
        for k, v in synth.of_type("AWS::Events::Rule").items()
        if any(fn_logical_id in refs_in(t["Arn"]) for t in v["Properties"]["Targets"])
    }


def invoke_config(synth: Synthesized, name: str) -> dict[str, Any]:
    _, config = only(
        {
            k: v
            for k, v in synth.of_type("AWS::Lambda::EventInvokeConfig").items()
            if refs_in(v["Properties"]["FunctionName"]) == {function_id(synth, name)}
        }
    )
    props: dict[str, Any] = config["Properties"]
    return props


def grants_put_events(statement: dict[str, Any]) -> bool:
    """Whether any action of the statement (wildcards included) covers PutEvents."""
    return any(
        fnmatchcase("events:putevents", str(action).lower())
        for action in as_list(statement.get("Action", []))
    )


def test_one_custom_bus_with_an_archive_of_every_inkwell_event(synth: Synthesized) -> None:
    bus = bus_id(synth)
    assert synth.resources[bus]["Properties"]["Name"] == PREFIX
    _, archive = only(synth.of_type("AWS::Events::Archive"))
    props = archive["Properties"]
    assert props["SourceArn"] == bus_arn(synth)
    assert props["EventPattern"] == {"source": [{"prefix": "inkwell."}]}
    assert props["RetentionDays"] == 30
    # aws/aws-cdk#37847: an empty KmsKeyIdentifier fails deployment in some regions
    assert "KmsKeyIdentifier" not in props
    # no resource policy: who may publish is decided by the functions' roles only
    assert not synth.of_type("AWS::Events::EventBusPolicy")


def test_archive_retention_comes_from_context(prod_synth: Synthesized) -> None:
    _, archive = only(prod_synth.of_type("AWS::Events::Archive"))
    assert archive["Properties"]["RetentionDays"] == 90
    bus = bus_id(prod_synth)
    assert prod_synth.resources[bus]["Properties"]["Name"] == "inkwell-prod"


def test_exactly_one_rule_per_consumer_matching_its_pattern(synth: Synthesized) -> None:
    rules = synth.of_type("AWS::Events::Rule")
    assert len(rules) == len(wiring.CONSUMERS)
    assert wiring.CONSUMERS, "the wiring declares no consumer: nothing to check"
    for consumer in wiring.CONSUMERS:
        fn = function_id(synth, consumer.name)
        rule_id, rule = only(rules_targeting(synth, fn))
        props = rule["Properties"]
        assert props["EventBusName"] == ref(bus_id(synth))
        assert props["EventPattern"] == consumer.pattern()
        assert props["State"] == "ENABLED"
        (target,) = props["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [fn, "Arn"]}
        assert target["RetryPolicy"] == {
            "MaximumRetryAttempts": DELIVERY_RETRY_ATTEMPTS,
            "MaximumEventAgeInSeconds": consumer.max_event_age_s,
        }
        assert target["DeadLetterConfig"] == {
            "Arn": {"Fn::GetAtt": [dlq_id(synth, consumer), "Arn"]}
        }
        # EventBridge may invoke the consumer, for this rule only
        _, permission = only(
            {
                k: v
                for k, v in synth.of_type("AWS::Lambda::Permission").items()
                if v["Properties"]["Principal"] == "events.amazonaws.com"
                and refs_in(v["Properties"]["FunctionName"]) == {fn}
            }
        )
        assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}


def test_comments_domain_subscriptions(synth: Synthesized) -> None:
    """Named cases of the generic checks above, for the third domain: its consumers of the
    other domains' events, and the users domain's consumer of its notifications."""
    rules = synth.of_type("AWS::Events::Rule")
    consumers = {c.name: c for c in wiring.CONSUMERS}
    for name, source, types in (
        (
            "comments-posts",
            "inkwell.content",
            {"post.published", "post.updated", "post.unpublished", "post.deleted"},
        ),
        (
            "comments-users",
            "inkwell.users",
            {"user.registered", "user.updated", "user.role_changed", "user.deactivated"},
        ),
        (
            "comments-notify",
            "inkwell.comments",
            {"comment.created", "comment.approved", "comment.rejected"},
        ),
        ("users-email", "inkwell.comments", {"notification.created"}),
    ):
        (rule_id,) = rules_targeting(synth, function_id(synth, name))
        pattern = rules[rule_id]["Properties"]["EventPattern"]
        assert pattern["source"] == [source], name
        assert set(pattern["detail-type"]) == types, name
        assert rules[rule_id]["Properties"]["Name"] == f"{PREFIX}-{name}"
        dlq_id(synth, consumers[name])  # and its own dead-letter queue
    # comments publishes (its writers, the notify consumer, its relay) on the one bus
    env = function_props(synth, "comments-notify")["Environment"]["Variables"]
    assert env[EVENT_BUS_ENV] == ref(bus_id(synth))
    assert "comments" in {r.domain for r in wiring.RELAYS}
    assert outbox_alarm(synth, "comments")["Dimensions"] == [
        {"Name": "Domain", "Value": "comments"},
        {"Name": "service", "Value": "comments"},
    ]


def test_rule_patterns_match_only_declared_sources_and_types() -> None:
    for consumer in wiring.CONSUMERS:
        pattern = consumer.pattern()
        assert set(pattern["detail-type"]) == set(consumer.events)
        assert set(pattern["source"]) == {
            f"inkwell.{wiring.EVENT_TYPES[t]}" for t in consumer.events
        }


def test_each_consumer_has_an_encrypted_ssl_only_dead_letter_queue(synth: Synthesized) -> None:
    queues = synth.of_type("AWS::SQS::Queue")
    assert len(queues) == len(wiring.CONSUMERS)
    for consumer in wiring.CONSUMERS:
        queue = dlq_id(synth, consumer)
        props = queues[queue]["Properties"]
        assert props["SqsManagedSseEnabled"] is True
        assert props["MessageRetentionPeriod"] == DLQ_RETENTION_S
        _, policy = only(
            {
                k: v
                for k, v in synth.of_type("AWS::SQS::QueuePolicy").items()
                if refs_in(v["Properties"]["Queues"]) == {queue}
            }
        )
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert {
            "Action": "sqs:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": {"Fn::GetAtt": [queue, "Arn"]},
        } in statements
        # EventBridge may send undeliverable events, from this consumer's rule only
        (rule_id,) = rules_targeting(synth, function_id(synth, consumer.name))
        allows = [s for s in statements if s["Effect"] == "Allow"]
        assert len(allows) == 1
        assert allows[0]["Principal"] == {"Service": "events.amazonaws.com"}
        assert allows[0]["Action"] == "sqs:SendMessage"
        assert allows[0]["Condition"] == {
            "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}
        }


def test_each_consumer_retries_then_parks_function_failures(synth: Synthesized) -> None:
    for consumer in wiring.CONSUMERS:
        props = invoke_config(synth, consumer.name)
        assert props["MaximumRetryAttempts"] == consumer.max_retries
        assert props["MaximumEventAgeInSeconds"] == consumer.max_event_age_s
        assert props["Qualifier"] == "$LATEST"
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": [dlq_id(synth, consumer), "Arn"]
        }


def test_consumers_are_built_like_every_other_function(synth: Synthesized) -> None:
    for consumer in wiring.CONSUMERS:
        props = function_props(synth, consumer.name)
        assert props["Handler"] == consumer.handler
        assert ("VpcConfig" in props) == (wiring.Access.DATABASE in consumer.access)
        env = props["Environment"]["Variables"]
        assert (EVENT_BUS_ENV in env) == (wiring.Access.EVENTS in consumer.access)


def test_consumer_declarations_aws_would_reject_fail_the_synth() -> None:
    consumer = wiring.CONSUMERS[0]
    validate_consumer(consumer)
    for bad in (
        dataclasses.replace(consumer, max_retries=3),
        dataclasses.replace(consumer, max_retries=-1),
        dataclasses.replace(consumer, max_event_age_s=30),
        dataclasses.replace(consumer, max_event_age_s=7 * 3600),
        dataclasses.replace(consumer, events=()),
        dataclasses.replace(consumer, events=("user.exploded",)),
    ):
        with pytest.raises((ValueError, KeyError)):
            validate_consumer(bad)
    with pytest.raises(ValueError):
        event_pattern({"source": ["inkwell.users"], "detail_type": ["user.registered"]})


def test_each_scheduled_function_runs_on_its_schedule(synth: Synthesized) -> None:
    schedules = synth.of_type("AWS::Scheduler::Schedule")
    assert len(schedules) == len(wiring.SCHEDULED)
    # every relay is scheduled, and not only relays are
    assert {r.name for r in wiring.RELAYS} <= {s.name for s in wiring.SCHEDULED}
    assert len(wiring.SCHEDULED) > len(wiring.RELAYS)
    by_role = statements_by_role(synth)
    for scheduled in wiring.SCHEDULED:
        fn = function_id(synth, scheduled.name)
        _, schedule = only(
            {
                k: v
                for k, v in schedules.items()
                if v["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [fn, "Arn"]}
            }
        )
        props = schedule["Properties"]
        assert props["Name"] == f"{PREFIX}-{scheduled.name}"
        minutes = scheduled.schedule_minutes
        assert props["ScheduleExpression"] == (
            f"rate({minutes} minute{'s' if minutes != 1 else ''})"
        )
        assert props["State"] == "ENABLED"
        assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
        # the scheduler's role may invoke this function and nothing else
        (scheduler_role,) = refs_in(props["Target"]["RoleArn"])
        statements = by_role[scheduler_role]
        assert {a for s in statements for a in as_list(s["Action"])} == {"lambda:InvokeFunction"}
        assert all(refs_in(s["Resource"]) == {fn} for s in statements)
        # a failed run is not retried: the next scheduled run is the retry
        assert props["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0
        assert invoke_config(synth, scheduled.name)["MaximumRetryAttempts"] == 0
        # built like any other function: in the VPC exactly when it uses its database
        assert ("VpcConfig" in function_props(synth, scheduled.name)) == (
            wiring.Access.DATABASE in scheduled.access
        )


def test_relays_are_the_scheduled_publishers_of_each_domain_outbox() -> None:
    assert {r.domain for r in wiring.RELAYS} == set(wiring.DATABASE_DOMAINS)
    assert len(wiring.RELAYS) == len(wiring.DATABASE_DOMAINS)
    for relay in wiring.RELAYS:
        assert {wiring.Access.DATABASE, wiring.Access.EVENTS} <= relay.access
    validate_relays(wiring.RELAYS, wiring.SCHEDULED)


def test_scheduled_declarations_aws_would_reject_fail_the_synth() -> None:
    scheduled = wiring.SCHEDULED[-1]
    validate_scheduled(scheduled)
    with pytest.raises(ValueError):
        validate_scheduled(dataclasses.replace(scheduled, schedule_minutes=0))
    relay = wiring.RELAYS[0]
    # a relay missing from SCHEDULED would have no function; two relays, one alarm key
    with pytest.raises(ValueError, match=r"not in wiring\.SCHEDULED"):
        validate_relays(wiring.RELAYS, [s for s in wiring.SCHEDULED if s != relay])
    with pytest.raises(ValueError, match="more than one outbox relay"):
        twin = dataclasses.replace(relay, name=f"{relay.name}-2")
        validate_relays((*wiring.RELAYS, twin), (*wiring.SCHEDULED, twin))


def test_put_events_only_for_events_access_and_only_on_the_bus(synth: Synthesized) -> None:
    publishers = {
        role_id(synth, f.name) for f in wiring.all_functions() if wiring.Access.EVENTS in f.access
    }
    assert publishers, "no function declares Access.EVENTS: nothing to check"
    granted: dict[str, int] = {}
    for role, statements in statements_by_role(synth).items():
        for statement in statements:
            if "NotAction" in statement or "NotResource" in statement:
                raise AssertionError(f"{role}: NotAction/NotResource statement {statement}")
            if not grants_put_events(statement):
                continue
            assert role in publishers, f"{role} may PutEvents: {statement}"
            assert statement["Effect"] == "Allow"
            assert as_list(statement["Action"]) == ["events:PutEvents"], statement
            assert statement["Resource"] == bus_arn(synth), statement
            assert "*" not in json.dumps(statement["Resource"]), statement
            granted[role] = granted.get(role, 0) + 1
    assert granted == dict.fromkeys(publishers, 1)


def test_publishers_get_the_bus_name(synth: Synthesized) -> None:
    for function in wiring.all_functions():
        env = function_props(synth, function.name)["Environment"]["Variables"]
        if wiring.Access.EVENTS in function.access:
            assert env[EVENT_BUS_ENV] == ref(bus_id(synth)), function.name
        else:
            assert EVENT_BUS_ENV not in env, function.name


def test_in_vpc_publishers_reach_eventbridge_through_a_closed_endpoint(
    synth: Synthesized,
) -> None:
    _, endpoint = only(
        {
            k: v
            for k, v in synth.of_type("AWS::EC2::VPCEndpoint").items()
            if ".events" in json.dumps(v["Properties"]["ServiceName"])
        }
    )
    props = endpoint["Properties"]
    assert props["VpcEndpointType"] == "Interface"
    assert props["PrivateDnsEnabled"] is True
    (endpoint_sg,) = refs_in(props["SecurityGroupIds"])
    # not open to the VPC CIDR: no inline ingress at all
    assert not synth.resources[endpoint_sg]["Properties"].get("SecurityGroupIngress")

    publisher_groups: set[str] = set()
    for function in wiring.all_functions():
        vpc_config = function_props(synth, function.name).get("VpcConfig")
        if wiring.Access.EVENTS in function.access and vpc_config:
            publisher_groups |= refs_in(vpc_config["SecurityGroupIds"])
    assert publisher_groups

    ingress = [
        r["Properties"]
        for r in synth.of_type("AWS::EC2::SecurityGroupIngress").values()
        if refs_in(r["Properties"]["GroupId"]) == {endpoint_sg}
    ]
    assert {next(iter(refs_in(r["SourceSecurityGroupId"]))) for r in ingress} == (publisher_groups)
    assert all((r["FromPort"], r["ToPort"], r["IpProtocol"]) == (443, 443, "tcp") for r in ingress)
    # the publishers' groups allow no egress by default: each has a rule out to it
    egress_to_endpoint = {
        next(iter(refs_in(r["Properties"]["GroupId"])))
        for r in synth.of_type("AWS::EC2::SecurityGroupEgress").values()
        if refs_in(r["Properties"].get("DestinationSecurityGroupId")) == {endpoint_sg}
        and r["Properties"]["FromPort"] == 443
    }
    assert egress_to_endpoint == publisher_groups


def test_event_outputs(synth: Synthesized) -> None:
    assert synth.outputs["EventBusName"]["Value"] == ref(bus_id(synth))
    assert synth.outputs["EventBusArn"]["Value"] == bus_arn(synth)
    for consumer in wiring.CONSUMERS:
        key = "".join(p.capitalize() for p in consumer.name.split("-")) + "DeadLetterQueueUrl"
        assert synth.outputs[key]["Value"] == ref(dlq_id(synth, consumer))
