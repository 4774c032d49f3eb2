"""CDK assertions on the alarms of the event backbone (consumer errors, dead letters, outbox
age) and their notifications, checked against ``wiring``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

import wiring
from infra.cdk.inkwell_infra.events import (
    OUTBOX_AGE_METRIC,
)
from infra.cdk.inkwell_infra.paths import FUNCTIONS_DIR, LAYER_PYTHON_DIR
from tests.infra.conftest import Synthesized
from tests.infra.helpers import (
    PREFIX,
    alarms,
    dlq_id,
    function_id,
    function_props,
    only,
    outbox_alarm,
    ref,
)

pytestmark = pytest.mark.xdist_group("cdk")


def fires_on_any(props: dict[str, Any]) -> bool:
    """The alarm fires as soon as the metric is above zero (``> 0`` or ``>= 1``)."""
    return (props["ComparisonOperator"], props["Threshold"]) in {
        ("GreaterThanThreshold", 0),
        ("GreaterThanOrEqualToThreshold", 1),
    }


def relay_of(domain: str) -> wiring.Scheduled:
    (relay,) = [r for r in wiring.RELAYS if r.domain == domain]
    return relay


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
    outbox_alarms = [v for v in alarms(synth).values() if v.get("MetricName") == OUTBOX_AGE_METRIC]
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
    every_alarm = alarms(synth)
    assert len(every_alarm) >= len(wiring.all_functions())  # one errors alarm each, at least
    for props in every_alarm.values():
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
