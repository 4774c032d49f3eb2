"""One PostgreSQL database per domain: functions reach it through its RDS Proxy, the
maintenance function directly; everyone authenticates with IAM, over TLS.

Each domain in ``wiring.DATABASE_DOMAINS`` gets its own RDS instance (storage encrypted,
private, in the isolated subnets, ``rds.force_ssl=1``, IAM database authentication on),
master credentials generated into its own Secrets Manager secret, and an RDS Proxy with
**end-to-end IAM authentication** (``DefaultAuthScheme.IAM_AUTH``): clients present an
IAM token to the proxy, and the proxy presents one to the database with its own role, so
the proxy holds no database secret and no function reads one
(docs/decisions/rds-proxy-end-to-end-iam.md).

Database users (created by the maintenance function's migrations, ``inkwell.env``):
``<domain>_app`` for every function of the domain, through the proxy; ``<domain>_owner``
for the maintenance function (migrations, DDL), straight to the instance. The master user
is only used by the maintenance function to create those two on the first deploy, and its
secret rotates (single-user rotation, hosted by Secrets Manager).

Network paths, on the PostgreSQL port only: ``clients`` security group -> proxy ->
instance; ``maintenance`` security group -> instance. A function joins one of them to get
a path to this database; IAM (``rds-db:connect`` as one user) decides who it may be.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.cdk.inkwell_infra.config import InkwellConfig
from infra.cdk.inkwell_infra.logs import retention_days
from infra.cdk.inkwell_infra.network import HTTPS_PORT, Network
from inkwell import env

# The newest major version in aws-cdk-lib 2.275 that RDS Proxy is documented to front;
# the local platform runs PostgreSQL 18, and the SQL we use is the same on both.
POSTGRES_VERSION = rds.PostgresEngineVersion.VER_17_9
POSTGRES_PORT = 5432
MASTER_USERNAME = "inkwell_admin"


MASTER_ROTATION_DAYS = 30


def allow_tcp(
    scope: Construct,
    construct_id: str,
    source: ec2.ISecurityGroup,
    target: ec2.ISecurityGroup,
    port: int,
    description: str,
) -> None:
    """``source`` may reach ``target`` on ``port``: both rules (egress of the source,
    ingress of the target), created in ``scope``.

    CDK would put a rule between two stacks' groups in the stack of one of them, which
    may be deployed after what needs the path (a migration on first deploy); here the
    rules belong to the stack that needs them.
    """
    ec2.CfnSecurityGroupEgress(
        scope,
        f"{construct_id}Egress",
        group_id=source.security_group_id,
        destination_security_group_id=target.security_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=description,
    )
    ec2.CfnSecurityGroupIngress(
        scope,
        f"{construct_id}Ingress",
        group_id=target.security_group_id,
        source_security_group_id=source.security_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=description,
    )


class DomainDatabase(Construct):
    """The database of one domain: instance, master secret, proxy, client and
    maintenance security groups."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain: str,
        network: Network,
        config: InkwellConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        self.domain = domain
        vpc = network.vpc
        engine = rds.DatabaseInstanceEngine.postgres(version=POSTGRES_VERSION)

        # The maintenance function joins this group: the instance, and the endpoints it
        # needs (Secrets Manager for the master secret, EventBridge).
        self.maintenance_security_group = ec2.SecurityGroup(
            self,
            "MaintenanceSecurityGroup",
            vpc=vpc,
            description=f"Maintenance function of the {domain} domain (migrations)",
            allow_all_outbound=False,
        )
        # Functions of this domain join this group; it may only reach the proxy (and the
        # endpoints of the AWS APIs its functions call).
        self.clients_security_group = ec2.SecurityGroup(
            self,
            "ClientsSecurityGroup",
            vpc=vpc,
            description=f"Lambda functions of the {domain} domain (database clients)",
            allow_all_outbound=False,
        )
        proxy_security_group = ec2.SecurityGroup(
            self,
            "ProxySecurityGroup",
            vpc=vpc,
            description=f"RDS Proxy of the {domain} database",
            allow_all_outbound=False,
        )
        instance_security_group = ec2.SecurityGroup(
            self,
            "InstanceSecurityGroup",
            vpc=vpc,
            description=f"RDS instance of the {domain} database",
            allow_all_outbound=False,
        )

        parameters = rds.ParameterGroup(
            self,
            "Parameters",
            engine=engine,
            description=f"Inkwell {domain} database: TLS only",
            parameters={"rds.force_ssl": "1", "log_min_duration_statement": "1000"},
        )

        self.instance = rds.DatabaseInstance(
            self,
            "Instance",
            engine=engine,
            instance_type=ec2.InstanceType(config.db_instance_class),
            vpc=vpc,
            vpc_subnets=network.isolated_subnets,
            security_groups=[instance_security_group],
            publicly_accessible=False,
            storage_encrypted=True,
            storage_type=rds.StorageType.GP3,
            allocated_storage=20,
            max_allocated_storage=100,
            multi_az=config.multi_az,
            database_name=domain,
            port=POSTGRES_PORT,
            credentials=rds.Credentials.from_generated_secret(MASTER_USERNAME),
            parameter_group=parameters,
            ca_certificate=rds.CaCertificate.RDS_CA_RSA2048_G1,
            backup_retention=Duration.days(config.backup_retention_days),
            delete_automated_backups=not config.is_prod,
            deletion_protection=config.deletion_protection,
            removal_policy=(
                RemovalPolicy.SNAPSHOT if config.snapshot_on_removal else RemovalPolicy.DESTROY
            ),
            auto_minor_version_upgrade=True,
            copy_tags_to_snapshot=True,
            # A physical name (inkwell-<stage>-<domain>): dashboards and alarms name it.
            instance_identifier=f"{config.name_prefix}-{domain}",
            iam_authentication=True,
            cloudwatch_logs_exports=["postgresql"],
            enable_performance_insights=False,
        )
        # The exported PostgreSQL log, with the stage's retention (RDS would create the
        # group without one; CDK's retention setting would add a custom resource).
        postgres_log = logs.LogGroup(
            self,
            "PostgresLog",
            log_group_name=f"/aws/rds/instance/{config.name_prefix}-{domain}/postgresql",
            retention=retention_days(config.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        self.instance.node.add_dependency(postgres_log)
        secret = self.instance.secret
        if secret is None:  # from_generated_secret always creates one
            raise RuntimeError("the database instance has no generated secret")
        self.secret: secretsmanager.ISecret = secret

        # End-to-end IAM: the proxy connects to the database as the client's user with an
        # IAM token of its own role, which may connect as the application user only.
        self.proxy_role = iam.Role(
            self,
            "ProxyRole",
            assumed_by=iam.ServicePrincipal("rds.amazonaws.com"),
            description=f"RDS Proxy of the {domain} database: connects as {env.app_user(domain)}",
        )
        self.instance.grant_connect(self.proxy_role, env.app_user(domain))
        self.proxy = rds.DatabaseProxy(
            self,
            "Proxy",
            proxy_target=rds.ProxyTarget.from_instance(self.instance),
            db_proxy_name=f"{config.name_prefix}-{domain}",
            default_auth_scheme=rds.DefaultAuthScheme.IAM_AUTH,
            role=self.proxy_role,
            vpc=vpc,
            vpc_subnets=network.isolated_subnets,
            security_groups=[proxy_security_group],
            require_tls=True,
            idle_client_timeout=Duration.minutes(30),
            borrow_timeout=Duration.seconds(30),
            max_connections_percent=90,
        )
        self.endpoint = self.proxy.endpoint
        self.port = POSTGRES_PORT

        # clients -> proxy -> instance; maintenance -> instance; nothing else. (The proxy
        # target already opened proxy -> instance on the instance port.)
        allow_tcp(
            self,
            "ClientsToProxy",
            self.clients_security_group,
            proxy_security_group,
            POSTGRES_PORT,
            f"{domain} functions to the proxy",
        )
        allow_tcp(
            self,
            "MaintenanceToInstance",
            self.maintenance_security_group,
            instance_security_group,
            POSTGRES_PORT,
            f"{domain} maintenance to the instance",
        )
        allow_tcp(
            self,
            "MaintenanceToSecretsManager",
            self.maintenance_security_group,
            network.secrets_manager_security_group,
            HTTPS_PORT,
            f"{domain} maintenance to Secrets Manager (master secret)",
        )

        # The master secret rotates: single-user rotation hosted by Secrets Manager, its
        # function in the isolated subnets with a path to the instance and the endpoint.
        rotation_group = ec2.SecurityGroup(
            self,
            "RotationSecurityGroup",
            vpc=vpc,
            description=f"Master secret rotation of the {domain} database",
            allow_all_outbound=False,
        )
        allow_tcp(
            self,
            "RotationToInstance",
            rotation_group,
            instance_security_group,
            POSTGRES_PORT,
            f"{domain} master rotation to the instance",
        )
        allow_tcp(
            self,
            "RotationToSecretsManager",
            rotation_group,
            network.secrets_manager_security_group,
            HTTPS_PORT,
            f"{domain} master rotation to Secrets Manager",
        )
        self.rotation = secret.add_rotation_schedule(
            "Rotation",
            automatically_after=Duration.days(MASTER_ROTATION_DAYS),
            # Not while the first deploy's migration reads it: the first rotation is due
            # after the interval.
            rotate_immediately_on_update=False,
            hosted_rotation=secretsmanager.HostedRotation.postgre_sql_single_user(
                function_name=f"{config.name_prefix}-{domain}-master-rotation",
                vpc=vpc,
                vpc_subnets=network.isolated_subnets,
                security_groups=[rotation_group],
            ),
        )

    @property
    def instance_endpoint(self) -> str:
        """Host name of the instance itself (the maintenance function's, not the proxy's)."""
        return self.instance.db_instance_endpoint_address

    def grant_app_connect(self, grantee: iam.IGrantable) -> iam.Grant:
        """``rds-db:connect`` through this domain's proxy, as its application user only."""
        return self.proxy.grant_connect(grantee, env.app_user(self.domain))

    def grant_owner_connect(self, grantee: iam.IGrantable) -> iam.Grant:
        """``rds-db:connect`` to the instance, as the domain's owner user only."""
        return self.instance.grant_connect(grantee, env.owner_user(self.domain))

    def grant_master_secret(self, grantee: iam.IGrantable) -> iam.Grant:
        """Read the master credentials (the maintenance function: creates the users)."""
        return self.secret.grant_read(grantee)
