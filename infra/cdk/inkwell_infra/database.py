"""One PostgreSQL database per domain, reached only through its RDS Proxy over TLS.

Each domain in ``wiring.DATABASE_DOMAINS`` gets its own RDS instance (storage encrypted,
private, in the isolated subnets, ``rds.force_ssl=1``), master credentials generated into
its own Secrets Manager secret, and an RDS Proxy that requires TLS. Functions connect to
the proxy endpoint and verify its certificate against the public Amazon trust store: the
proxy presents Amazon Trust Services certificates (ACM), so no RDS CA bundle has to be
shipped with the code. The proxy itself talks TLS to the instance.

Network path: ``clients`` security group -> proxy security group -> instance security
group, on the PostgreSQL port only. A function joins ``clients`` to get a path to this
database; IAM (``grant_connect_secret``) decides whether it may read the credentials.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.cdk.inkwell_infra.config import InkwellConfig
from infra.cdk.inkwell_infra.network import Network

# The newest major version in aws-cdk-lib 2.275 that RDS Proxy is documented to front;
# the local platform runs PostgreSQL 18, and the SQL we use is the same on both.
POSTGRES_VERSION = rds.PostgresEngineVersion.VER_17_9
POSTGRES_PORT = 5432
MASTER_USERNAME = "inkwell_admin"


class DomainDatabase(Construct):
    """The database of one domain: instance, generated secret, proxy and client SG."""

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

        # Functions of this domain join this group; it may only reach the proxy and the
        # Secrets Manager endpoint.
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
            parameters={"rds.force_ssl": "1"},
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
        )
        secret = self.instance.secret
        if secret is None:  # from_generated_secret always creates one
            raise RuntimeError("the database instance has no generated secret")
        self.secret: secretsmanager.ISecret = secret

        self.proxy = rds.DatabaseProxy(
            self,
            "Proxy",
            proxy_target=rds.ProxyTarget.from_instance(self.instance),
            secrets=[secret],
            vpc=vpc,
            vpc_subnets=network.isolated_subnets,
            security_groups=[proxy_security_group],
            require_tls=True,
            iam_auth=False,
            client_password_auth_type=rds.ClientPasswordAuthType.POSTGRES_SCRAM_SHA_256,
            idle_client_timeout=Duration.minutes(30),
            borrow_timeout=Duration.seconds(30),
            max_connections_percent=90,
        )
        self.endpoint = self.proxy.endpoint
        self.port = POSTGRES_PORT

        # clients -> proxy -> instance, nothing else. (ProxyTarget.from_instance already
        # opened proxy -> instance on the instance port.)
        port = ec2.Port.tcp(POSTGRES_PORT)
        proxy_security_group.add_ingress_rule(
            self.clients_security_group, port, f"{domain} functions to the proxy"
        )
        self.clients_security_group.add_egress_rule(
            proxy_security_group, port, f"to the {domain} database proxy"
        )
        # Clients read their credentials through the Secrets Manager endpoint. The proxy
        # reads the same secret; let it use the endpoint too rather than rely on a path to
        # the public Secrets Manager API (the subnets have none).
        for group, who in (
            (self.clients_security_group, "functions"),
            (proxy_security_group, "proxy"),
        ):
            network.secrets_manager_endpoint.connections.allow_default_port_from(
                group, f"{domain} {who} to Secrets Manager"
            )

    def grant_connect_secret(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read this database's credentials (and nothing else)."""
        return self.secret.grant_read(grantee)
