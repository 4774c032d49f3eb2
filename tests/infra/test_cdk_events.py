"""CDK assertions on the event backbone (bus, archive, rules, DLQs, retries, the schedules
of the scheduled functions, PutEvents grants, the EventBridge endpoint, alarms), checked
against ``wiring``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from fnmatch import fnmatchcase
from typing import Any

import pytest

import wiring
from infra.cdk.inkwell_infra.events import (
    DELIVERY_RETRY_ATTEMPTS,
    OUTBOX_AGE_METRIC,
    event_pattern,
    validate_consumer,
    validate_relays,
    validate_scheduled,
)
from infra.cdk.inkwell_infra.paths import FUNCTIONS_DIR, LAYER_PYTHON_DIR
from inkwell.env import EVENT_BUS_NAME as EVENT_BUS_ENV
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
    statements_by_role,
)

pytestmark = pytest.mark.xdist_group("cdk")

DLQ_RETENTION_S = 14 * 24 * 3600


# --- helpers ---------------------------------------------------------------------------


def bus_id(synth: Synthesized) -> str:
    logical_id, _ = only(synth.of_type("AWS::Events::EventBus"))
    return logical_id


def bus_arn(synth: Synthesized) -> dict[str, Any]:
    return {"Fn::GetAtt": [bus_id(synth), "Arn"]}


def dlq_id(synth: Synthesized, consumer: wiring.Consumer) -> str:
    logical_id, _ = only(
        {
            k: v
            for k, v in synth.of_type("AWS::SQS::Queue").items()
            if v["Properties"].get("QueueName") == f"{PREFIX}-{consumer.name}-dlq"
        }
    )
    return logical_id


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


def alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in synth.of_type("AWS::CloudWatch::Alarm").items()}


def fires_on_any(props: dict[str, Any]) -> bool:
    """The alarm fires as soon as the metric is above zero (``> 0`` or ``>= 1``)."""
    return (props["ComparisonOperator"], props["Threshold"]) in {
        ("GreaterThanThreshold", 0),
        ("GreaterThanOrEqualToThreshold", 1),
    }


def grants_put_events(statement: dict[str, Any]) -> bool:
    """Whether any action of the statement (wildcards included) covers PutEvents."""
    return any(
        fnmatchcase("events:putevents", str(action).lower())
        for action in as_list(statement.get("Action", []))
    )


def relay_of(domain: str) -> wiring.Scheduled:
    (relay,) = [r for r in wiring.RELAYS if r.domain == domain]
    return relay


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


# --- bus and archive -------------------------------------------------------------------


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


# --- consumers -------------------------------------------------------------------------


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
        ("comments-posts", "inkwell.content",
         {"post.published", "post.updated", "post.unpublished", "post.deleted"}),
        ("comments-users", "inkwell.users",
         {"user.registered", "user.updated", "user.role_changed", "user.deactivated"}),
        ("comments-notify", "inkwell.comments",
         {"comment.created", "comment.approved", "comment.rejected"}),
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
        {"Name": "Domain", "Value": "comments"}, {"Name": "service", "Value": "comments"}
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


# --- scheduled functions and relays ------------------------------------------------------


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
            {k: v for k, v in schedules.items() if v["Properties"]["Target"]["Arn"]
             == {"Fn::GetAtt": [fn, "Arn"]}}
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
        assert {a for s in statements for a in as_list(s["Action"])} == {
            "lambda:InvokeFunction"
        }
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


# --- who may publish -------------------------------------------------------------------


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
    assert {next(iter(refs_in(r["SourceSecurityGroupId"]))) for r in ingress} == (
        publisher_groups
    )
    assert all((r["FromPort"], r["ToPort"], r["IpProtocol"]) == (443, 443, "tcp")
               for r in ingress)
    # the publishers' groups allow no egress by default: each has a rule out to it
    egress_to_endpoint = {
        next(iter(refs_in(r["Properties"]["GroupId"])))
        for r in synth.of_type("AWS::EC2::SecurityGroupEgress").values()
        if refs_in(r["Properties"].get("DestinationSecurityGroupId")) == {endpoint_sg}
        and r["Properties"]["FromPort"] == 443
    }
    assert egress_to_endpoint == publisher_groups


# --- alarms ----------------------------------------------------------------------------


def test_consumer_errors_alarm(synth: Synthesized) -> None:
    for consumer in wiring.CONSUMERS:
        fn = function_id(synth, consumer.name)
        _, props = only(
            {
                k: v
                for k, v in alarms(synth).items()
                if v.get("Namespace") == "AWS/Lambda"
                and v.get("MetricName") == "Errors"
                and v["Dimensions"] == [{"Name": "FunctionName", "Value": ref(fn)}]
            }
        )
        assert props["Statistic"] == "Sum"
        assert props["Period"] == 300
        assert props["EvaluationPeriods"] == 1
        assert fires_on_any(props)
        assert props["TreatMissingData"] == "notBreaching"


def test_dead_letter_queue_depth_alarm(synth: Synthesized) -> None:
    depth = {
        k: v
        for k, v in alarms(synth).items()
        if v.get("Namespace") == "AWS/SQS"
        and v.get("MetricName") == "ApproximateNumberOfMessagesVisible"
    }
    assert len(depth) == len(wiring.CONSUMERS)
    for consumer in wiring.CONSUMERS:
        queue = dlq_id(synth, consumer)
        _, props = only(
            {
                k: v
                for k, v in depth.items()
                if v["Dimensions"]
                == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
            }
        )
        assert props["Statistic"] == "Maximum"
        assert fires_on_any(props)


def test_outbox_age_alarm_per_relay_domain(synth: Synthesized) -> None:
    outbox_alarms = [
        v for v in alarms(synth).values() if v.get("MetricName") == OUTBOX_AGE_METRIC
    ]
    # one per relay (i.e. per domain outbox); other scheduled functions have none
    assert len(outbox_alarms) == len(wiring.RELAYS)
    for relay in wiring.RELAYS:
        props = outbox_alarm(synth, relay.domain)
        assert props["Namespace"] == "Inkwell"
        assert props["Statistic"] == "Maximum"
        # one period per relay run (every minute by default)
        assert props["Period"] == 60 * relay_of(relay.domain).schedule_minutes
        assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert props["Threshold"] == 300
        assert props["EvaluationPeriods"] == 2
        assert props["DatapointsToAlarm"] == 2
        # no data = the relay is not running: that must alarm too
        assert props["TreatMissingData"] == "breaching"


def test_outbox_age_alarm_watches_the_metric_the_relay_emits(synth: Synthesized) -> None:
    """Run the real ``inkwell.relay.report_backlog`` with the relay's deployed environment
    and compare the EMF record it prints with the alarm's metric: CloudWatch matches the
    full dimension set, so a dimension the alarm does not name means it sees no data."""
    script = (
        "import sys\n"
        "import inkwell.relay as relay\n"
        "relay.oldest_unpublished_age_s = lambda db: 42.0\n"
        "class Db:\n"
        "    domain = sys.argv[1]\n"
        "relay.report_backlog(Db())\n"
    )
    for relay in wiring.RELAYS:
        deployed = function_props(synth, relay.name)["Environment"]["Variables"]
        env = {k: v for k, v in deployed.items() if isinstance(v, str)}
        env |= {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join([str(FUNCTIONS_DIR), str(LAYER_PYTHON_DIR)]),
            "AWS_LAMBDA_FUNCTION_NAME": f"{PREFIX}-{relay.name}",
        }
        done = subprocess.run(
            [sys.executable, "-c", script, relay.domain],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        records = [
            json.loads(line)
            for line in done.stdout.splitlines()
            if line.startswith("{") and '"_aws"' in line
        ]
        (record,) = [r for r in records if OUTBOX_AGE_METRIC in r]
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        (dimension_names,) = directive["Dimensions"]
        emitted = {name: record[name] for name in dimension_names}

        props = outbox_alarm(synth, relay.domain)
        assert props["Namespace"] == directive["Namespace"]
        assert props["MetricName"] in {m["Name"] for m in directive["Metrics"]}
        assert {d["Name"]: d["Value"] for d in props["Dimensions"]} == emitted
        assert emitted["Domain"] == relay.domain


def test_alarms_always_notify_the_topic(synth: Synthesized) -> None:
    """Without alarmEmail (dev) there is still the topic, and every alarm notifies it;
    nobody is subscribed until someone is."""
    topic, _ = only(synth.of_type("AWS::SNS::Topic"))
    assert not synth.of_type("AWS::SNS::Subscription")
    for props in alarms(synth).values():
        assert props["AlarmActions"] == [ref(topic)]
        assert props["OKActions"] == [ref(topic)]


def test_alarm_email_notifies_on_every_alarm(prod_synth: Synthesized) -> None:
    topic, _ = only(prod_synth.of_type("AWS::SNS::Topic"))
    _, subscription = only(prod_synth.of_type("AWS::SNS::Subscription"))
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "oncall@inkwell.example"
    assert subscription["Properties"]["TopicArn"] == ref(topic)
    every_alarm = alarms(prod_synth)
    assert len(every_alarm) >= len(wiring.all_functions()) + len(wiring.CONSUMERS) + len(
        wiring.RELAYS
    )
    for props in every_alarm.values():
        assert props["AlarmActions"] == [ref(topic)]
        assert props["OKActions"] == [ref(topic)]
    assert prod_synth.outputs["AlarmTopicArn"]["Value"] == ref(topic)


# --- outputs ---------------------------------------------------------------------------


def test_event_outputs(synth: Synthesized) -> None:
    assert synth.outputs["EventBusName"]["Value"] == ref(bus_id(synth))
    assert synth.outputs["EventBusArn"]["Value"] == bus_arn(synth)
    for consumer in wiring.CONSUMERS:
        key = "".join(p.capitalize() for p in consumer.name.split("-")) + "DeadLetterQueueUrl"
        assert synth.outputs[key]["Value"] == ref(dlq_id(synth, consumer))
