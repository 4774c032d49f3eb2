"""One Lambda function per ``wiring`` Function, with exactly the access it declares.

Every function: Python (the version that builds the layer: see layer.py) on ARM64, the
shared dependency layer, its own log group, its own errors alarm,
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
- ``Access.EMAIL``: with context ``emailSender`` set, gets ``INKWELL_EMAIL_TRANSPORT=ses``
  and ``INKWELL_EMAIL_SENDER``, may ``ses:SendEmail``/``ses:SendRawEmail`` on the SES
  identity of the sender's address or domain with ``ses:FromAddress`` = that address, and,
  in the VPC, is let through to the SES interface endpoint. Without it:
  ``INKWELL_EMAIL_TRANSPORT=log`` (messages go to the log) and no SES grant at all.

**Execution roles, one per group of identical grants.** One role per function would be
two IAM resources per function (the role and its policy), too many for one CloudFormation
stack (500 resources). Functions whose grants are identical share one role instead:
the key (``RoleKey``) is the domain (which database secret), the access set (which
grants) and whether the function is in the VPC (network-interface permissions). A
consumer has a role of its own: its on-failure destination (``events.py``) lets the role
send to *that consumer's* dead-letter queue, a grant no other function has. Each role is
created here (an ``InlinePolicyRole``: its grants are in the role resource, no separate
policy resource) and passed to ``lambda_.Function``, so CDK adds no managed policy; the
role gets, once:

- logging: ``logs:CreateLogStream``/``logs:PutLogEvents`` on the log groups of the
  functions using the role, and nowhere else (not the ``AWSLambdaBasicExecutionRole``
  wildcard);
- in the VPC: the network-interface actions Lambda needs to attach the function to its
  subnets (those of ``AWSLambdaVPCAccessExecutionRole``, without its ``logs:*`` on ``*``);
- X-Ray: ``xray:PutTraceSegments``/``PutTelemetryRecords`` (CDK adds it for active
  tracing);
- the grants of the access set above.

Route handlers, the authorizer, maintenance functions, event consumers and scheduled
functions (outbox relays included) all come from ``wiring.all_functions()`` and are built
here the same way; what is special about consumers (rules, dead-letter queues, retries) and
scheduled functions (schedules, the relays' outbox alarms) is added on top by
``events.EventRouting``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
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
EMAIL_TRANSPORT_ENV = "INKWELL_EMAIL_TRANSPORT"
EMAIL_SENDER_ENV = "INKWELL_EMAIL_SENDER"

# What the Lambda service needs to write a function's logs to its (existing) log group.
LOG_WRITE_ACTIONS: tuple[str, ...] = ("logs:CreateLogStream", "logs:PutLogEvents")
# What Lambda needs to attach a function to VPC subnets: the EC2 actions of the managed
# policy AWSLambdaVPCAccessExecutionRole (v3). Describe* only works on "*", and Lambda
# manages the interfaces it creates itself.
VPC_NETWORK_INTERFACE_ACTIONS: tuple[str, ...] = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
SES_SEND_ACTIONS: tuple[str, ...] = ("ses:SendEmail", "ses:SendRawEmail")

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


class InlinePolicyRole(iam.Role):
    """A role whose grants (``grant_*`` calls, CDK's own X-Ray and destination grants,
    ``add_to_policy``) all land in one inline policy of the role itself, instead of the
    separate ``AWS::IAM::Policy`` resource (``DefaultPolicy``) a ``Role`` creates: one
    resource per role instead of two, and the permissions exist as soon as the role does.
    IAM's size limit is the same either way (a role's inline policies count together).
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        self._grants = iam.PolicyDocument()
        super().__init__(scope, construct_id, inline_policies={"grants": self._grants},
                         **kwargs)

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        # Overrides the jsii method: CDK's own calls (Grant, Function tracing, Lambda
        # destinations) reach it too.
        self._grants.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self)


@dataclass(frozen=True)
class RoleKey:
    """What decides a function's grants: functions with equal keys share one role."""

    domain: str
    access: frozenset[wiring.Access]
    in_vpc: bool
    # A consumer's role may send to its own dead-letter queue: consumers never share.
    consumer: str | None = None

    @property
    def construct_id(self) -> str:
        """``users`` + {database, events} + VPC -> ``UsersDatabaseEventsVpc``."""
        if self.consumer is not None:
            parts = [self.consumer, "consumer"]
        else:
            parts = [self.domain, *sorted(a.value for a in self.access)]
            if not self.access:
                parts.append("no-access")
        if self.in_vpc:
            parts.append("vpc")
        return "".join(w.capitalize() for p in parts for w in re.split(r"[^A-Za-z0-9]+", p))


def role_key(function: wiring.Function) -> RoleKey:
    return RoleKey(
        domain=function.domain,
        access=frozenset(function.access),
        in_vpc=wiring.Access.DATABASE in function.access,
        consumer=function.name if isinstance(function, wiring.Consumer) else None,
    )


def ses_identity_arns(scope: Construct, address: str) -> list[str]:
    """The SES identities that may be sending as ``address``: the address itself and its
    domain (SES authorizes against whichever of them is verified)."""
    stack = Stack.of(scope)
    domain = address.rpartition("@")[2]
    return [
        stack.format_arn(
            service="ses",
            resource="identity",
            resource_name=identity,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        for identity in (domain, address)
    ]


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
        self._endpoint_allowed: set[tuple[str, str]] = set()
        self._code: dict[str, lambda_.Code] = {}
        self._roles_scope = Construct(self, "Roles")
        # One execution role per RoleKey.
        self.roles: dict[RoleKey, iam.Role] = {}
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
        if wiring.Access.EMAIL in function.access:
            if config.email_sender:
                env[EMAIL_TRANSPORT_ENV] = "ses"
                env[EMAIL_SENDER_ENV] = config.email_sender
            else:
                env[EMAIL_TRANSPORT_ENV] = "log"
        return env

    def _role_for(self, function: wiring.Function, log_group: logs.ILogGroup) -> iam.Role:
        """The shared role of the function's RoleKey (created with its grants on first
        use), now also allowed to write to this function's log group."""
        key = role_key(function)
        role = self.roles.get(key)
        if role is None:
            role = self._create_role(key, function)
            self.roles[key] = role
        role.add_to_policy(
            iam.PolicyStatement(
                actions=list(LOG_WRITE_ACTIONS), resources=[log_group.log_group_arn]
            )
        )
        return role

    def _create_role(self, key: RoleKey, function: wiring.Function) -> iam.Role:
        """A role with the grants of ``key`` (taken from its first ``function``)."""
        config = self._config
        access = ", ".join(sorted(a.value for a in key.access)) or "no AWS access"
        where = " in the VPC" if key.in_vpc else ""
        whose = f"consumer {key.consumer}" if key.consumer else f"{key.domain} functions"
        role = InlinePolicyRole(
            self._roles_scope,
            key.construct_id,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{config.name_prefix}: {whose} with {access}{where}",
        )
        if key.in_vpc:
            role.add_to_policy(
                iam.PolicyStatement(actions=list(VPC_NETWORK_INTERFACE_ACTIONS), resources=["*"])
            )
        # Grants: exactly what `access` declares.
        if wiring.Access.DATABASE in key.access:
            self.database_of(function).grant_connect_secret(role)
        if wiring.Access.SIGNING_KEY in key.access:
            self._signing_key.grant_read(role)
        if wiring.Access.EVENTS in key.access:
            # events:PutEvents on this bus's ARN, nothing else.
            self._event_bus.grant_put_events_to(role)
        address = config.email_sender_address
        if wiring.Access.EMAIL in key.access and address:
            # Only as the configured sender: its identity (address or domain), and the
            # From address must be exactly it.
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=list(SES_SEND_ACTIONS),
                    resources=ses_identity_arns(self, address),
                    conditions={"StringEquals": {"ses:FromAddress": address}},
                )
            )
        return role

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
            role=self._role_for(function, log_group),
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            vpc=self._network.vpc if database else None,
            vpc_subnets=self._network.isolated_subnets if database else None,
            security_groups=[database.clients_security_group] if database else None,
        )

        # The network paths `access` needs from inside the VPC (IAM is on the role).
        if database is not None:
            if wiring.Access.EVENTS in function.access:
                self._allow_to_endpoint(
                    database, self._network.events_endpoint, "EventBridge"
                )
            if wiring.Access.EMAIL in function.access and config.email_sender:
                self._allow_to_endpoint(database, self._network.email_endpoint(), "SES")

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

    def _allow_to_endpoint(
        self, database: DomainDatabase, endpoint: ec2.InterfaceVpcEndpoint, service: str
    ) -> None:
        """Let a domain's in-VPC functions reach a closed interface endpoint (both
        directions of the security-group pair: the clients group allows no egress by
        default).

        The clients group is per domain, so the network path is shared by the domain's
        functions; IAM decides which of them may actually call the service.
        """
        if (database.domain, service) in self._endpoint_allowed:
            return
        self._endpoint_allowed.add((database.domain, service))
        endpoint.connections.allow_default_port_from(
            database.clients_security_group, f"{database.domain} functions to {service}"
        )
