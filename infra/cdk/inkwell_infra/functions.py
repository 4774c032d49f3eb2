"""One Lambda function per ``wiring`` Function, with exactly the access it declares.

Every function: Python (the version that builds the layer: see layer.py) on ARM64, the
shared dependency layer, its own log group,
X-Ray active tracing, a code asset holding only ``wiring.py`` and its own domain package,
and the common environment. What ``Function.access`` declares turns into the narrowest
grant and nothing more:

- ``Access.DATABASE``: placed in the isolated subnets in its domain's database-clients
  security group, may read only its own domain's database secret, and gets
  ``INKWELL_<DOMAIN>_DB_SECRET_ARN``, ``INKWELL_<DOMAIN>_DB_HOST`` (the RDS Proxy endpoint)
  and ``INKWELL_DB_TLS=verify-full``. Functions without it are not in the VPC.
- ``Access.SIGNING_KEY``: may read the JWT signing key secret, gets
  ``INKWELL_JWT_SECRET_ARN``.
- ``Access.EVENTS``: may ``events:PutEvents`` on the Inkwell bus only (no other function
  may publish), gets ``INKWELL_EVENT_BUS_NAME``; if it is in the VPC, its security group
  is let through to the EventBridge interface endpoint.

Route handlers, the authorizer, maintenance functions, event consumers and scheduled
functions (outbox relays included) all come from ``wiring.all_functions()`` and are built
here the same way; what is special about consumers (rules, dead-letter queues, retries) and
scheduled functions (schedules, the relays' outbox alarms) is added on top by
``events.EventRouting``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

import wiring
from infra.cdk.inkwell_infra.config import InkwellConfig
from infra.cdk.inkwell_infra.database import DomainDatabase
from infra.cdk.inkwell_infra.layer import ARCHITECTURE, RUNTIME
from infra.cdk.inkwell_infra.network import Network
from infra.cdk.inkwell_infra.paths import FUNCTIONS_DIR

POWERTOOLS_METRICS_NAMESPACE = "Inkwell"
EVENT_BUS_ENV = "INKWELL_EVENT_BUS_NAME"

_RETENTION: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def retention_days(days: int) -> logs.RetentionDays:
    try:
        return _RETENTION[days]
    except KeyError:
        raise ValueError(f"log retention must be one of {sorted(_RETENTION)} days") from None


def code_excludes(domain: str) -> list[str]:
    """Glob excludes that leave only ``wiring.py`` and ``<domain>/`` of ``functions/``.

    CDK's glob ignore matches patterns without a slash against every path's basename, and
    the last matching pattern wins: exclude everything, re-include the two things we
    ship, then drop caches and tests inside them.
    """
    return [
        "*",
        "!wiring.py",
        f"!{domain}",
        f"!{domain}/**",
        "__pycache__",
        "*.pyc",
        "*.pyo",
        ".mypy_cache",
        ".pytest_cache",
        "tests",
        "test_*.py",
        "*_test.py",
        "conftest.py",
    ]


def env_key(domain: str) -> str:
    """``users`` -> ``USERS``: the domain part of ``INKWELL_<DOMAIN>_DB_*``."""
    return re.sub(r"[^A-Za-z0-9]", "_", domain).upper()


def db_secret_env(domain: str) -> str:
    return f"INKWELL_{env_key(domain)}_DB_SECRET_ARN"


def db_host_env(domain: str) -> str:
    return f"INKWELL_{env_key(domain)}_DB_HOST"


def powertools_service(function: wiring.Function) -> str:
    """``POWERTOOLS_SERVICE_NAME`` of a function.

    Powertools Metrics adds it to every metric as the ``service`` dimension, so alarms on
    the functions' custom metrics must name it too (see ``events.outbox_age_metric``).
    """
    return function.domain


class InkwellFunctions(Construct):
    """Creates every function in ``wiring.all_functions()``; look them up by name."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: InkwellConfig,
        layer: lambda_.ILayerVersion,
        network: Network,
        databases: Mapping[str, DomainDatabase],
        signing_key: secretsmanager.ISecret,
        event_bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._layer = layer
        self._network = network
        self._databases = dict(databases)
        self._signing_key = signing_key
        self._event_bus = event_bus
        self._endpoint_allowed: set[str] = set()
        self._code: dict[str, lambda_.Code] = {}
        self.by_name: dict[str, lambda_.Function] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        # Errors >= 1 in 5 minutes, for every function (consumers and scheduled ones included).
        self.error_alarms: dict[str, cloudwatch.Alarm] = {}
        for function in wiring.all_functions():
            if function.name in self.by_name:
                raise ValueError(f"duplicate function name in wiring: {function.name}")
            self.by_name[function.name] = self._create(function)

    def __getitem__(self, name: str) -> lambda_.Function:
        return self.by_name[name]

    def database_of(self, function: wiring.Function) -> DomainDatabase:
        try:
            return self._databases[function.domain]
        except KeyError:
            raise ValueError(
                f"{function.name} needs database access but domain {function.domain!r} "
                f"is not in wiring.DATABASE_DOMAINS"
            ) from None

    def _code_for(self, domain: str) -> lambda_.Code:
        """One asset per domain, shared by all of its functions."""
        if domain not in self._code:
            if not (FUNCTIONS_DIR / domain).is_dir():
                raise ValueError(f"no code package functions/{domain}/ for domain {domain!r}")
            self._code[domain] = lambda_.Code.from_asset(
                str(FUNCTIONS_DIR), exclude=code_excludes(domain)
            )
        return self._code[domain]

    def _environment(self, function: wiring.Function) -> dict[str, str]:
        config = self._config
        env = {
            "INKWELL_STAGE": config.stage,
            "INKWELL_JWT_ISSUER": config.jwt_issuer,
            "INKWELL_JWT_AUDIENCE": config.jwt_audience,
            "INKWELL_CORS_ORIGINS": ",".join(config.cors_origins),
            "POWERTOOLS_SERVICE_NAME": powertools_service(function),
            "POWERTOOLS_METRICS_NAMESPACE": POWERTOOLS_METRICS_NAMESPACE,
            "LOG_LEVEL": "INFO",
        }
        if wiring.Access.SIGNING_KEY in function.access:
            env["INKWELL_JWT_SECRET_ARN"] = self._signing_key.secret_arn
        if wiring.Access.DATABASE in function.access:
            database = self.database_of(function)
            env[db_secret_env(database.domain)] = database.secret.secret_arn
            env[db_host_env(database.domain)] = database.endpoint
            env["INKWELL_DB_TLS"] = "verify-full"
        if wiring.Access.EVENTS in function.access:
            env[EVENT_BUS_ENV] = self._event_bus.event_bus_name
        return env

    def _create(self, function: wiring.Function) -> lambda_.Function:
        config = self._config
        function_name = f"{config.name_prefix}-{function.name}"
        scope = Construct(self, function.name)
        log_group = logs.LogGroup(
            scope,
            "Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=retention_days(config.log_retention_days),
            # A retained group with a fixed name would block re-creating a dev stack.
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        self.log_groups[function.name] = log_group

        uses_database = wiring.Access.DATABASE in function.access
        database = self.database_of(function) if uses_database else None
        fn = lambda_.Function(
            scope,
            "Function",
            function_name=function_name,
            description=function.description or function.name,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=function.handler,
            code=self._code_for(function.domain),
            layers=[self._layer],
            memory_size=function.memory_mb,
            timeout=Duration.seconds(function.timeout_s),
            environment=self._environment(function),
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            vpc=self._network.vpc if database else None,
            vpc_subnets=self._network.isolated_subnets if database else None,
            security_groups=[database.clients_security_group] if database else None,
        )

        # Grants: exactly what `access` declares.
        if database is not None:
            database.grant_connect_secret(fn)
        if wiring.Access.SIGNING_KEY in function.access:
            self._signing_key.grant_read(fn)
        if wiring.Access.EVENTS in function.access:
            # events:PutEvents on this bus's ARN, nothing else.
            self._event_bus.grant_put_events_to(fn)
            if database is not None:
                self._allow_to_events_endpoint(database)

        self.error_alarms[function.name] = cloudwatch.Alarm(
            scope,
            "ErrorsAlarm",
            alarm_description=f"{function_name}: invocations ended in an error",
            metric=fn.metric_errors(period=Duration.minutes(5), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        return fn

    def _allow_to_events_endpoint(self, database: DomainDatabase) -> None:
        """Let a domain's in-VPC functions reach the EventBridge endpoint (both directions
        of the security-group pair: the clients group allows no egress by default).

        The clients group is per domain, so the network path is shared by the domain's
        functions; IAM decides which of them may actually publish.
        """
        if database.domain in self._endpoint_allowed:
            return
        self._endpoint_allowed.add(database.domain)
        self._network.events_endpoint.connections.allow_default_port_from(
            database.clients_security_group, f"{database.domain} functions to EventBridge"
        )
