"""One Lambda function per ``wiring`` Function, with exactly the access it declares.

Every function: the configured runtime and architecture (``runtime.py``), the shared
dependency layer, its own log group, its own errors alarm, X-Ray active tracing, a code
asset holding only ``wiring.py`` and its own domain package, and the common environment
(names from ``inkwell.env``). A ``FunctionGroup`` builds the functions of one stack (a
domain's nested stack, or the platform stack for the functions of no database domain).
What ``Function.access`` declares turns into the narrowest grant and nothing more:

- ``Access.DATABASE`` (routes, consumers, relays, schedulers): placed in the isolated
  subnets in its domain's database-clients security group; env: the proxy endpoint, the
  database name, the domain's application user, ``INKWELL_DB_AUTH=iam``,
  ``INKWELL_DB_TLS=verify-full``; IAM: ``rds-db:connect`` through its own domain's proxy
  as the application user, nothing else (no secret).
- ``Access.DATABASE`` on a maintenance function (``wiring.MAINTENANCE``): the domain's
  maintenance security group, straight to the instance; env: the instance endpoint, the
  owner user, the master secret's ARN and the RDS CA bundle of the layer
  (``INKWELL_DB_CA_BUNDLE``: the instance's certificate is signed by the RDS CA); IAM:
  ``rds-db:connect`` to the instance as the owner, and reading the master secret (it
  creates the owner and application users).
- ``Access.SIGNING_KEY``: may ``secretsmanager:GetSecretValue`` the JWT private keys,
  gets ``INKWELL_JWT_PRIVATE_KEYS_SECRET_ARN``.
- ``Access.SIGNING_KEY_ADMIN``: may get and put the JWT private keys (key rotation).
- ``Access.VERIFY_KEY``: gets the public keys (``INKWELL_JWT_PUBLIC_KEYS``), no AWS access.
- ``Access.EVENTS``: may ``events:PutEvents`` on the Inkwell bus only, gets
  ``INKWELL_EVENT_BUS_NAME``; in the VPC its security group reaches the EventBridge endpoint.
- ``Access.EMAIL``: with context ``emailSender``, ``INKWELL_EMAIL_TRANSPORT=ses`` and
  ``INKWELL_EMAIL_SENDER``, ``ses:SendEmail``/``ses:SendRawEmail`` on the sender's SES
  identity with ``ses:FromAddress`` = that address, and the SES endpoint in the VPC.
  Without it: ``INKWELL_EMAIL_TRANSPORT=log`` and no SES grant at all. Either way the
  password reset settings (what the reset email says): ``INKWELL_PASSWORD_RESET_TTL``
  from ``passwordResetTtlMinutes`` and, with ``passwordResetUrl``,
  ``INKWELL_PASSWORD_RESET_URL``.

**Execution roles, one per group of identical grants.** Functions whose grants are
identical share one role (``RoleKey``: the domain, the access set, VPC or not, the
maintenance function and each consumer on their own). Each role is an
``InlinePolicyRole`` (its grants inside the role resource, no separate policy resource)
with: writing to the log groups of its functions only; in the VPC the network-interface
actions Lambda needs; X-Ray; the grants of the access set above.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
from infra.cdk.inkwell_infra import rds_ca
from infra.cdk.inkwell_infra.config import InkwellConfig
from infra.cdk.inkwell_infra.database import DomainDatabase, allow_tcp
from infra.cdk.inkwell_infra.logs import retention_days
from infra.cdk.inkwell_infra.network import HTTPS_PORT, Network, endpoint_security_group
from infra.cdk.inkwell_infra.paths import FUNCTIONS_DIR
from inkwell import env

POWERTOOLS_METRICS_NAMESPACE = "Inkwell"

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
SECRET_READ = "secretsmanager:GetSecretValue"
SECRET_WRITE = "secretsmanager:PutSecretValue"


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
        super().__init__(scope, construct_id, inline_policies={"grants": self._grants}, **kwargs)

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
    # The maintenance function connects as the owner and reads the master secret.
    maintenance: bool = False

    @property
    def construct_id(self) -> str:
        """``users`` + {database, events} + VPC -> ``UsersDatabaseEventsVpc``."""
        if self.consumer is not None:
            parts = [self.consumer, "consumer"]
        elif self.maintenance:
            parts = [self.domain, "maintenance"]
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
        maintenance=function in wiring.MAINTENANCE,
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


@dataclass(frozen=True)
class Shared:
    """What every group of functions builds on (created in the platform stack)."""

    config: InkwellConfig
    layer: lambda_.ILayerVersion
    network: Network
    private_keys: secretsmanager.ISecret
    event_bus: events.IEventBus


class FunctionGroup(Construct):
    """Creates the given ``wiring`` functions in this construct's stack."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        shared: Shared,
        functions: Sequence[wiring.Function],
        database: DomainDatabase | None = None,
        public_keys: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._shared = shared
        self._config = shared.config
        self._database = database
        self._public_keys = public_keys
        self._endpoint_allowed: set[str] = set()
        self._code: dict[str, lambda_.Code] = {}
        self._roles_scope = Construct(self, "Roles")
        # The security-group rules to the endpoints (the migration trigger waits for them).
        self.paths = Construct(self, "Paths")
        # One execution role per RoleKey.
        self.roles: dict[RoleKey, iam.Role] = {}
        self.by_name: dict[str, lambda_.Function] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        # Errors >= 1 in 5 minutes, for every function (consumers and scheduled ones included).
        self.error_alarms: dict[str, cloudwatch.Alarm] = {}
        for function in functions:
            if function.name in self.by_name:
                raise ValueError(f"duplicate function name in wiring: {function.name}")
            self.by_name[function.name] = self._create(function)

    def __getitem__(self, name: str) -> lambda_.Function:
        return self.by_name[name]

    def database_of(self, function: wiring.Function) -> DomainDatabase:
        if self._database is None or self._database.domain != function.domain:
            raise ValueError(
                f"{function.name} needs database access but domain {function.domain!r} "
                f"is not in wiring.DATABASE_DOMAINS"
            )
        return self._database

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
        variables = {
            env.STAGE: config.stage,
            env.JWT_ISSUER: config.jwt_issuer,
            env.JWT_AUDIENCE: config.jwt_audience,
            env.CORS_ORIGINS: ",".join(config.cors_origins),
            env.POWERTOOLS_SERVICE_NAME: powertools_service(function),
            env.POWERTOOLS_METRICS_NAMESPACE: POWERTOOLS_METRICS_NAMESPACE,
            env.LOG_LEVEL: "INFO",
        }
        access = function.access
        if access & {wiring.Access.SIGNING_KEY, wiring.Access.SIGNING_KEY_ADMIN}:
            variables[env.JWT_PRIVATE_KEYS_SECRET_ARN] = self._shared.private_keys.secret_arn
        if wiring.Access.VERIFY_KEY in access:
            if self._public_keys is None:
                raise ValueError(f"{function.name} verifies tokens: the group needs public_keys")
            variables[env.JWT_PUBLIC_KEYS] = self._public_keys
        if wiring.Access.DATABASE in access:
            database = self.database_of(function)
            domain = database.domain
            variables[env.db_name(domain)] = domain
            variables[env.db_port(domain)] = str(database.port)
            variables[env.DB_AUTH] = env.DB_AUTH_IAM
            variables[env.DB_TLS] = "verify-full"
            if function in wiring.MAINTENANCE:
                variables[env.db_instance_host(domain)] = database.instance_endpoint
                variables[env.db_user(domain)] = env.owner_user(domain)
                variables[env.db_master_secret_arn(domain)] = database.secret.secret_arn
                # The instance's certificate is signed by the RDS CA, not a public one.
                variables[env.DB_CA_BUNDLE] = rds_ca.LAYER_PATH
            else:
                variables[env.db_host(domain)] = database.endpoint
                variables[env.db_user(domain)] = env.app_user(domain)
        if wiring.Access.EVENTS in access:
            variables[env.EVENT_BUS_NAME] = self._shared.event_bus.event_bus_name
        if wiring.Access.EMAIL in access:
            if config.email_sender:
                variables[env.EMAIL_TRANSPORT] = "ses"
                variables[env.EMAIL_SENDER] = config.email_sender
            else:
                variables[env.EMAIL_TRANSPORT] = "log"
            variables[env.PASSWORD_RESET_TTL] = str(config.password_reset_ttl_minutes * 60)
            if config.password_reset_url:
                variables[env.PASSWORD_RESET_URL] = config.password_reset_url
        return variables

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
        if key.consumer:
            whose = f"consumer {key.consumer}"
        elif key.maintenance:
            whose = f"{key.domain} maintenance"
        else:
            whose = f"{key.domain} functions"
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
            database = self.database_of(function)
            if key.maintenance:
                database.grant_owner_connect(role)
                database.grant_master_secret(role)
            else:
                database.grant_app_connect(role)
        private_keys = self._shared.private_keys.secret_arn
        if wiring.Access.SIGNING_KEY in key.access:
            role.add_to_policy(iam.PolicyStatement(actions=[SECRET_READ], resources=[private_keys]))
        if wiring.Access.SIGNING_KEY_ADMIN in key.access:
            role.add_to_policy(
                iam.PolicyStatement(actions=[SECRET_READ, SECRET_WRITE], resources=[private_keys])
            )
        if wiring.Access.EVENTS in key.access:
            # events:PutEvents on this bus's ARN, nothing else.
            self._shared.event_bus.grant_put_events_to(role)
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

    def _security_group(self, function: wiring.Function) -> ec2.ISecurityGroup | None:
        if wiring.Access.DATABASE not in function.access:
            return None
        database = self.database_of(function)
        if function in wiring.MAINTENANCE:
            return database.maintenance_security_group
        return database.clients_security_group

    def _create(self, function: wiring.Function) -> lambda_.Function:
        config = self._config
        platform = config.platform
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

        group = self._security_group(function)
        network = self._shared.network
        fn = lambda_.Function(
            scope,
            "Function",
            function_name=function_name,
            description=function.description or function.name,
            runtime=platform.runtime,
            architecture=platform.architecture,
            handler=function.handler,
            code=self._code_for(function.domain),
            layers=[self._shared.layer],
            memory_size=function.memory_mb,
            timeout=Duration.seconds(function.timeout_s),
            environment=self._environment(function),
            role=self._role_for(function, log_group),
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            vpc=network.vpc if group else None,
            vpc_subnets=network.isolated_subnets if group else None,
            security_groups=[group] if group else None,
        )

        # The network paths `access` needs from inside the VPC (IAM is on the role).
        if group is not None:
            if wiring.Access.EVENTS in function.access:
                self._allow_to_endpoint(group, network.events_security_group, "EventBridge")
            if function.access & {wiring.Access.SIGNING_KEY, wiring.Access.SIGNING_KEY_ADMIN}:
                self._allow_to_endpoint(
                    group, network.secrets_manager_security_group, "Secrets Manager"
                )
            if wiring.Access.EMAIL in function.access and config.email_sender:
                self._allow_to_endpoint(
                    group, endpoint_security_group(network.email_endpoint()), "SES"
                )

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
        self, group: ec2.ISecurityGroup, endpoint: ec2.ISecurityGroup, service: str
    ) -> None:
        """Let a security group reach a (closed) interface endpoint, with the rules in this
        stack. The group is per domain (and role), so the path is shared by its functions;
        IAM decides which of them may actually call the service."""
        key = f"{group.node.path}->{service}"
        if key in self._endpoint_allowed:
            return
        self._endpoint_allowed.add(key)
        construct_id = "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", service))
        owner = "Maintenance" if "Maintenance" in group.node.id else "Clients"
        allow_tcp(
            self.paths,
            f"{owner}To{construct_id}",
            group,
            endpoint,
            HTTPS_PORT,
            f"{group.node.id} to {service}",
        )
