"""The event backbone on AWS: one custom EventBridge bus, its archive, the subscriptions of
the consumers, the schedules of the scheduled functions (the outbox relays and the domains'
own timers), and the alarms that say an event is stuck.

Everything comes from ``functions/wiring.py``: ``wiring.CONSUMERS`` (event types ->
consumer function, retry budget), ``wiring.SCHEDULED`` (every function run on a schedule,
with its period), ``wiring.RELAYS`` (the scheduled outbox relays, one per domain database)
and ``Access.EVENTS`` (who may publish; granted in ``functions``).

- ``InkwellBus`` (created before the functions, which need its name and ARN): the bus
  ``inkwell-<stage>`` and an archive of every ``inkwell.*`` event for replay.
- ``EventRouting`` (created after them, in each domain's stack, for that domain's
  functions): per consumer a rule, a dead-letter queue, the
  retry settings of both hops and the alarms; per scheduled function an EventBridge
  Scheduler schedule; per relay (i.e. per domain outbox) the outbox-age alarm.

Failures on the way to a consumer, and where each one ends up:

1. **Delivery** (EventBridge -> Lambda's asynchronous invoke API): throttling, a missing
   permission, the Lambda service unavailable. The *rule target's* retry policy retries
   with back-off until the event is ``max_event_age`` old, then the *target's dead-letter
   queue* gets it. Lambda's own settings never see these events: the function was never
   invoked.
2. **Processing** (the consumer's code raised or timed out): EventBridge's part is done
   once Lambda accepted the invocation, so its retry policy and DLQ do not apply. The
   *function's asynchronous invocation config* retries ``consumer.max_retries`` times
   within ``consumer.max_event_age_s`` and then sends a failure record (request payload =
   the event, plus the error) to the *same* queue through an on-failure destination.

So one queue per consumer holds everything that consumer did not process, in two shapes:
the raw EventBridge event (with ``ERROR_CODE``/``ERROR_MESSAGE`` message attributes) for
delivery failures, and a Lambda destination record (``requestPayload`` is the event) for
processing failures. Consumers are idempotent, so a redrive or an archive replay of an
event that was partly processed has no second effect.

Neither hop goes through the VPC: EventBridge and Lambda deliver to SQS themselves, so
in-VPC consumers need no SQS endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

import wiring
from infra.cdk.inkwell_infra.config import InkwellConfig
from infra.cdk.inkwell_infra.functions import (
    POWERTOOLS_METRICS_NAMESPACE,
    FunctionGroup,
    powertools_service,
)

# Every Inkwell event's source is ``inkwell.<domain>``.
SOURCE_PREFIX = "inkwell."

# Delivery failures are transient (throttling, service errors), so EventBridge keeps
# retrying (with back-off) for as long as the consumer's max event age allows; the age,
# not the count, is what bounds it. 185 is EventBridge's maximum (and its default).
DELIVERY_RETRY_ATTEMPTS = 185

DLQ_RETENTION = Duration.days(14)  # SQS maximum: time to look at and redrive failures

# The relay reports how old the oldest unpublished outbox row is (Powertools EMF).
OUTBOX_AGE_METRIC = "OutboxOldestUnpublishedAgeSeconds"
OUTBOX_AGE_THRESHOLD_S = 300
OUTBOX_AGE_EVALUATION_PERIODS = 2

# Lambda's asynchronous invocation limits (EventBridge's, 60 s..24 h, are wider).
LAMBDA_MAX_ASYNC_RETRIES = 2
LAMBDA_MAX_EVENT_AGE_RANGE_S = (60, 6 * 3600)

# EventBridge event pattern keys -> ``events.EventPattern`` properties.
_PATTERN_FIELDS: Mapping[str, str] = {
    "source": "source",
    "detail-type": "detail_type",
    "detail": "detail",
    "account": "account",
    "region": "region",
    "resources": "resources",
    "id": "id",
    "time": "time",
    "version": "version",
}


def event_pattern(pattern: Mapping[str, Any]) -> events.EventPattern:
    """``Consumer.pattern()`` (EventBridge JSON keys) as an ``events.EventPattern``."""
    unknown = set(pattern) - set(_PATTERN_FIELDS)
    if unknown:
        raise ValueError(f"unsupported event pattern keys: {sorted(unknown)}")
    return events.EventPattern(**{_PATTERN_FIELDS[k]: v for k, v in pattern.items()})


def validate_consumer(consumer: wiring.Consumer) -> None:
    """Reject retry settings AWS would reject at deploy time, at synth time instead."""
    if not consumer.events:
        raise ValueError(f"consumer {consumer.name} subscribes to no event types")
    unknown = [t for t in consumer.events if t not in wiring.EVENT_TYPES]
    if unknown:
        raise ValueError(f"consumer {consumer.name}: undeclared event types {unknown}")
    if not 0 <= consumer.max_retries <= LAMBDA_MAX_ASYNC_RETRIES:
        raise ValueError(
            f"consumer {consumer.name}: max_retries must be 0..{LAMBDA_MAX_ASYNC_RETRIES}"
        )
    low, high = LAMBDA_MAX_EVENT_AGE_RANGE_S
    if not low <= consumer.max_event_age_s <= high:
        raise ValueError(f"consumer {consumer.name}: max_event_age_s must be {low}..{high}")


def validate_scheduled(scheduled: wiring.Scheduled) -> None:
    """Reject a schedule EventBridge Scheduler would reject, at synth time instead."""
    if scheduled.schedule_minutes < 1:
        raise ValueError(f"{scheduled.name}: schedule_minutes must be at least 1")


def validate_relays(
    relays: Sequence[wiring.Scheduled], scheduled: Sequence[wiring.Scheduled]
) -> None:
    """Every relay is one of the scheduled functions (else it has no function and no
    schedule), and each domain outbox has one relay (its alarm is keyed by domain)."""
    names = {s.name for s in scheduled}
    missing = [r.name for r in relays if r.name not in names]
    if missing:
        raise ValueError(f"relays not in wiring.SCHEDULED: {missing}")
    domains = [r.domain for r in relays]
    duplicated = sorted({d for d in domains if domains.count(d) > 1})
    if duplicated:
        raise ValueError(f"more than one outbox relay for domain(s) {duplicated}")


def outbox_age_metric(relay: wiring.Scheduled) -> cloudwatch.Metric:
    """The metric the relay of ``relay.domain`` emits each run, exactly as it lands.

    CloudWatch identifies a metric by its full dimension set. Powertools adds a
    ``service`` dimension (``POWERTOOLS_SERVICE_NAME``) next to the relay's ``Domain``, so
    an alarm on ``Domain`` alone would watch a metric that never receives data.

    One period per scheduled run: each period normally holds exactly one data point.
    """
    return cloudwatch.Metric(
        namespace=POWERTOOLS_METRICS_NAMESPACE,
        metric_name=OUTBOX_AGE_METRIC,
        dimensions_map={"Domain": relay.domain, "service": powertools_service(relay)},
        statistic="Maximum",
        period=Duration.minutes(max(1, relay.schedule_minutes)),
    )


class InkwellBus(Construct):
    """The custom event bus every domain publishes to, and its archive for replay."""

    def __init__(self, scope: Construct, construct_id: str, *, config: InkwellConfig) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(
            self,
            "Bus",
            event_bus_name=config.name_prefix,
            description="Inkwell domain events (source inkwell.<domain>)",
        )
        # Replay (e.g. after fixing a consumer, or for a new consumer's read model) sends
        # archived events back to this bus, where the rules match them again.
        self.archive = self.bus.archive(
            "Archive",
            archive_name=f"{config.name_prefix}-events",
            description="Every inkwell.* event, for replay",
            event_pattern=events.EventPattern(source=events.Match.prefix(SOURCE_PREFIX)),
            retention=Duration.days(config.event_archive_retention_days),
        )
        # aws-cdk-lib renders ``KmsKeyIdentifier: ""`` when no key is given, which some
        # regions reject (aws/aws-cdk#37847): leave it out, i.e. the AWS-owned key.
        cfn_archive = self.archive.node.default_child
        if isinstance(cfn_archive, events.CfnArchive):
            cfn_archive.add_property_deletion_override("KmsKeyIdentifier")

    @property
    def bus_name(self) -> str:
        return self.bus.event_bus_name

    @property
    def bus_arn(self) -> str:
        return self.bus.event_bus_arn


class EventRouting(Construct):
    """Consumer subscriptions (rule, DLQ, retries, alarms), the schedules of the scheduled
    functions, and the outbox-age alarm of each relay."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: InkwellConfig,
        bus: events.IEventBus,
        functions: FunctionGroup,
        consumers: Sequence[wiring.Consumer],
        scheduled: Sequence[wiring.Scheduled],
        relays: Sequence[wiring.Scheduled],
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._bus = bus
        self.rules: dict[str, events.Rule] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.schedules: dict[str, scheduler.Schedule] = {}
        # Errors of the consumer function itself: the per-function alarm (functions.py).
        self.consumer_error_alarms: dict[str, cloudwatch.Alarm] = {}
        self.dlq_alarms: dict[str, cloudwatch.Alarm] = {}
        self.outbox_age_alarms: dict[str, cloudwatch.Alarm] = {}

        for consumer in consumers:
            self._subscribe(consumer, functions[consumer.name])
            self.consumer_error_alarms[consumer.name] = functions.error_alarms[consumer.name]
        for timer in scheduled:
            self._schedule(timer, functions[timer.name])
        for relay in relays:
            self._watch_outbox(relay)

    def _subscribe(self, consumer: wiring.Consumer, fn: lambda_.Function) -> None:
        validate_consumer(consumer)
        prefix = self._config.name_prefix
        scope = Construct(self, consumer.name)
        max_event_age = Duration.seconds(consumer.max_event_age_s)

        dlq = sqs.Queue(
            scope,
            "DeadLetterQueue",
            queue_name=f"{prefix}-{consumer.name}-dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
            removal_policy=RemovalPolicy.RETAIN if self._config.is_prod else RemovalPolicy.DESTROY,
        )
        self.dead_letter_queues[consumer.name] = dlq

        # Processing failures: Lambda retries, then a failure record goes to the DLQ (with
        # the function's role, which lets it send there: a consumer's role is its own).
        fn.configure_async_invoke(
            retry_attempts=consumer.max_retries,
            max_event_age=max_event_age,
            on_failure=destinations.SqsDestination(dlq),
        )

        # Delivery failures: EventBridge retries, then the event goes to the DLQ.
        self.rules[consumer.name] = events.Rule(
            scope,
            "Rule",
            rule_name=f"{prefix}-{consumer.name}",
            description=f"{', '.join(consumer.events)} -> {consumer.name}",
            event_bus=self._bus,
            event_pattern=event_pattern(consumer.pattern()),
            targets=[
                targets.LambdaFunction(
                    fn,
                    retry_attempts=DELIVERY_RETRY_ATTEMPTS,
                    max_event_age=max_event_age,
                    dead_letter_queue=dlq,
                )
            ],
        )

        self.dlq_alarms[consumer.name] = cloudwatch.Alarm(
            scope,
            "DeadLetterQueueAlarm",
            alarm_description=(
                f"{prefix}-{consumer.name}: events were not processed and are parked in "
                f"{dlq.queue_name}"
            ),
            metric=dlq.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _scope_of(self, function: wiring.Function) -> Construct:
        """The construct holding what is added for ``function`` (schedule, alarms)."""
        existing = self.node.try_find_child(function.name)
        return existing if isinstance(existing, Construct) else Construct(self, function.name)

    def _schedule(self, scheduled: wiring.Scheduled, fn: lambda_.Function) -> None:
        validate_scheduled(scheduled)
        prefix = self._config.name_prefix
        scope = self._scope_of(scheduled)
        every = Duration.minutes(scheduled.schedule_minutes)

        # A failed or missed run is not worth retrying: the next run is the retry, and
        # retries would only pile up runs behind a broken dependency. A run may overlap
        # the next one (a slow run, a late delivery): scheduled functions must tolerate
        # that (the relays and the post publisher claim rows with FOR UPDATE SKIP LOCKED).
        fn.configure_async_invoke(retry_attempts=0, max_event_age=Duration.seconds(60))
        self.schedules[scheduled.name] = scheduler.Schedule(
            scope,
            "Schedule",
            schedule_name=f"{prefix}-{scheduled.name}",
            description=(f"Runs {scheduled.name} every {scheduled.schedule_minutes} minute(s)"),
            schedule=scheduler.ScheduleExpression.rate(every),
            target=scheduler_targets.LambdaInvoke(
                fn, retry_attempts=0, max_event_age=Duration.seconds(60)
            ),
        )

    def _watch_outbox(self, relay: wiring.Scheduled) -> None:
        prefix = self._config.name_prefix
        scope = self._scope_of(relay)

        # The outbox is stuck: the oldest unpublished event is older than 5 minutes in
        # every period of the window. Missing data is BREACHING on purpose: the relay is
        # the only thing that emits this metric, so no data means the relay is not running
        # or dies before it reports (schedule disabled, function broken, database or
        # endpoint unreachable) - exactly when nothing is being published. One late run
        # leaves a single empty period, which does not fill the window.
        self.outbox_age_alarms[relay.domain] = cloudwatch.Alarm(
            scope,
            "OutboxAgeAlarm",
            alarm_description=(
                f"{prefix} {relay.domain} outbox: events unpublished for over "
                f"{OUTBOX_AGE_THRESHOLD_S} s, or {relay.name} is not reporting"
            ),
            metric=outbox_age_metric(relay),
            threshold=OUTBOX_AGE_THRESHOLD_S,
            evaluation_periods=OUTBOX_AGE_EVALUATION_PERIODS,
            datapoints_to_alarm=OUTBOX_AGE_EVALUATION_PERIODS,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
