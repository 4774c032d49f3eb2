"""Alarms beyond the per-function ones, the alarm topic, and the stage's dashboard.

Per domain (in the domain's stack): Lambda throttles of the domain's functions, the
database instance's CPU, free storage and connections, and the RDS Proxy's borrow latency
(a borrow that waits this long is close to the proxy's borrow timeout, after which the
client gets an error) and pinned sessions (a pinned session holds a database connection
for its whole life: the pool stops multiplexing). For the API (in the API stack): the 5xx
rate and the p99 latency. Every alarm of the application notifies the alarm topic on ALARM
and OK (``attach_alarm_actions``), and the deploy guide says what each one means and what
to do.

The dashboard (one per stage, ``inkwell-<stage>``) shows the golden signals: traffic,
errors, latency and saturation, for the API and for each domain.

Metrics use the physical names every resource is given (``inkwell-<stage>-...``), so the
platform stack's dashboard needs no cross-stack reference.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

import wiring
from infra.cdk.inkwell_infra.config import InkwellConfig

# CloudWatch: an alarm on a metric math expression may use at most 10 metrics
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html).
MATH_ALARM_METRICS = 10
PERIOD = Duration.minutes(5)

API_5XX_RATE_THRESHOLD = 0.01  # 1 % of requests
API_P99_LATENCY_MS = 3000
DB_CPU_PERCENT = 80
DB_FREE_STORAGE_BYTES = 2 * 1024**3
# db.t4g.micro allows about 110 connections (LEAST(memory/9531392, 5000)); the proxy may
# use 90 % of them.
DB_CONNECTIONS = 80
PROXY_BORROW_LATENCY_US = 5_000_000  # 5 s of the 30 s borrow timeout
GE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
NOT_BREACHING = cloudwatch.TreatMissingData.NOT_BREACHING


def chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def function_name(config: InkwellConfig, function: wiring.Function) -> str:
    return f"{config.name_prefix}-{function.name}"


def lambda_metric(function: str, metric: str, statistic: str = "Sum") -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/Lambda",
        metric_name=metric,
        dimensions_map={"FunctionName": function},
        statistic=statistic,
        period=PERIOD,
    )


def summed(names: Sequence[str], metric: str, label: str) -> cloudwatch.MathExpression:
    """The sum of one Lambda metric over several functions (missing data = 0)."""
    using = {f"{metric.lower()}{i}": lambda_metric(name, metric) for i, name in enumerate(names)}
    return cloudwatch.MathExpression(
        expression=f"SUM([{','.join(f'FILL({k}, 0)' for k in using)}])",
        using_metrics=using,
        label=label,
        period=PERIOD,
    )


def rds_metric(
    metric: str, dimension: str, value: str, statistic: str = "Average"
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/RDS",
        metric_name=metric,
        dimensions_map={dimension: value},
        statistic=statistic,
        period=PERIOD,
    )


def alarm(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    metric: cloudwatch.IMetric,
    threshold: float,
    comparison: cloudwatch.ComparisonOperator = GE,
    periods: int = 1,
) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        evaluation_periods=periods,
        datapoints_to_alarm=periods,
        comparison_operator=comparison,
        treat_missing_data=NOT_BREACHING,
    )


class DomainAlarms(Construct):
    """Throttles of a domain's functions; its database instance and proxy."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: InkwellConfig,
        domain: str,
        functions: Sequence[wiring.Function],
        instance_id: str,
        proxy_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = f"{config.name_prefix} {domain}"
        names = [function_name(config, f) for f in functions]
        self.throttle_alarms = [
            alarm(
                self,
                f"ThrottlesAlarm{index}",
                description=f"{prefix}: Lambda throttled invocations of {', '.join(group)}",
                metric=summed(group, "Throttles", f"{domain} throttles"),
                threshold=1,
            )
            for index, group in enumerate(chunks(names, MATH_ALARM_METRICS), start=1)
        ]
        self.cpu = alarm(
            self,
            "DatabaseCpuAlarm",
            description=f"{prefix} database: CPU above {DB_CPU_PERCENT} % for 15 minutes",
            metric=rds_metric("CPUUtilization", "DBInstanceIdentifier", instance_id),
            threshold=DB_CPU_PERCENT,
            comparison=GT,
            periods=3,
        )
        self.storage = alarm(
            self,
            "DatabaseStorageAlarm",
            description=f"{prefix} database: less than 2 GiB of free storage",
            metric=rds_metric("FreeStorageSpace", "DBInstanceIdentifier", instance_id, "Minimum"),
            threshold=DB_FREE_STORAGE_BYTES,
            comparison=LT,
        )
        self.connections = alarm(
            self,
            "DatabaseConnectionsAlarm",
            description=f"{prefix} database: {DB_CONNECTIONS}+ connections for 15 minutes",
            metric=rds_metric(
                "DatabaseConnections", "DBInstanceIdentifier", instance_id, "Maximum"
            ),
            threshold=DB_CONNECTIONS,
            comparison=GE,
            periods=3,
        )
        self.borrow = alarm(
            self,
            "ProxyBorrowLatencyAlarm",
            description=f"{prefix} proxy: a request waited over 5 s for a database "
            "connection (the borrow timeout, 30 s, fails it)",
            metric=rds_metric(
                "DatabaseConnectionsBorrowLatency", "ProxyName", proxy_name, "Maximum"
            ),
            threshold=PROXY_BORROW_LATENCY_US,
            comparison=GT,
        )
        self.pinned = alarm(
            self,
            "ProxyPinnedSessionsAlarm",
            description=f"{prefix} proxy: client sessions pinned to a database connection "
            "for 15 minutes",
            metric=rds_metric(
                "DatabaseConnectionsCurrentlySessionPinned", "ProxyName", proxy_name, "Maximum"
            ),
            threshold=1,
            comparison=GE,
            periods=3,
        )


def api_alarms(
    scope: Construct, config: InkwellConfig, api_name: str, stage: str
) -> list[cloudwatch.Alarm]:
    """5xx rate and p99 latency of the API stage."""

    def api_metric(metric: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name=metric,
            dimensions_map={"ApiName": api_name, "Stage": stage},
            statistic=statistic,
            period=PERIOD,
        )

    prefix = config.name_prefix
    return [
        # API Gateway's 5XXError average is the fraction of requests that ended in 5xx.
        alarm(
            scope,
            "ServerErrorRateAlarm",
            description=f"{prefix}-api: over 1 % of requests answered 5xx for 10 minutes",
            metric=api_metric("5XXError", "Average"),
            threshold=API_5XX_RATE_THRESHOLD,
            comparison=GT,
            periods=2,
        ),
        alarm(
            scope,
            "LatencyP99Alarm",
            description=f"{prefix}-api: p99 latency above {API_P99_LATENCY_MS} ms for 15 minutes",
            metric=api_metric("Latency", "p99"),
            threshold=API_P99_LATENCY_MS,
            comparison=GT,
            periods=3,
        ),
    ]


def attach_alarm_actions(root: IConstruct, topic: sns.ITopic) -> int:
    """Every alarm under ``root`` (nested stacks included) notifies ``topic`` on ALARM
    and on OK. Returns how many."""
    action = cloudwatch_actions.SnsAction(topic)
    count = 0
    for construct in root.node.find_all():
        if isinstance(construct, cloudwatch.Alarm):
            construct.add_alarm_action(action)
            construct.add_ok_action(action)
            count += 1
    return count


def dashboard(scope: Construct, config: InkwellConfig) -> cloudwatch.Dashboard:
    """Golden signals of the API and of each domain, from the physical names."""
    prefix = config.name_prefix
    api_dims = {"ApiName": f"{prefix}-api", "Stage": config.stage}

    def api(metric: str, statistic: str, label: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name=metric,
            dimensions_map=api_dims,
            statistic=statistic,
            period=PERIOD,
            label=label,
        )

    board = cloudwatch.Dashboard(scope, "Dashboard", dashboard_name=prefix)
    board.add_widgets(
        cloudwatch.TextWidget(
            markdown=f"# {prefix}\nGolden signals: traffic, errors, latency, saturation. "
            "Alarms and what to do: docs/deploy.md.",
            width=24,
            height=2,
        )
    )
    board.add_widgets(
        cloudwatch.GraphWidget(
            title="API requests", left=[api("Count", "Sum", "requests")], width=6
        ),
        cloudwatch.GraphWidget(
            title="API errors",
            left=[api("4XXError", "Sum", "4xx"), api("5XXError", "Sum", "5xx")],
            width=6,
        ),
        cloudwatch.GraphWidget(
            title="API latency",
            left=[api("Latency", "p50", "p50"), api("Latency", "p99", "p99")],
            width=6,
        ),
        cloudwatch.GraphWidget(
            title="API integration latency p99",
            left=[api("IntegrationLatency", "p99", "p99")],
            width=6,
        ),
    )
    for domain in wiring.DATABASE_DOMAINS:
        names = [function_name(config, f) for f in wiring.all_functions() if f.domain == domain]
        instance = f"{prefix}-{domain}"
        durations = [lambda_metric(n, "Duration", "p99") for n in names]
        board.add_widgets(
            cloudwatch.GraphWidget(
                title=f"{domain}: invocations",
                left=[summed(names, "Invocations", "invocations")],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title=f"{domain}: errors and throttles",
                left=[summed(names, "Errors", "errors"), summed(names, "Throttles", "throttles")],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title=f"{domain}: p99 duration by function",
                left=durations,
                width=6,
                legend_position=(cloudwatch.LegendPosition.HIDDEN),
            ),
            cloudwatch.GraphWidget(
                title=f"{domain}: database",
                left=[
                    rds_metric("CPUUtilization", "DBInstanceIdentifier", instance),
                ],
                right=[
                    rds_metric("DatabaseConnections", "DBInstanceIdentifier", instance, "Maximum"),
                    rds_metric(
                        "DatabaseConnectionsCurrentlySessionPinned",
                        "ProxyName",
                        instance,
                        "Maximum",
                    ),
                ],
                width=6,
            ),
        )
    return board
