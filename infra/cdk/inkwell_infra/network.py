"""The VPC: private isolated subnets only, no NAT gateways, interface endpoints instead.

Nothing in the VPC talks to the internet. Functions that need a database run in the
isolated subnets next to the RDS Proxy; AWS APIs they call from there are reached through
interface VPC endpoints (private DNS on, so SDK clients need no configuration). Functions
without database access are not in the VPC at all.

Endpoints: Secrets Manager (the signing functions' private keys, the maintenance
functions' master secrets, the master secrets' rotation) and EventBridge always; the SES
API (service ``email``, which serves the SES v1 and v2 APIs) only when email is sent
through SES (context ``emailSender``) by a function in the VPC, created on first demand by
``email_endpoint()``. Every endpoint is closed by default: only the security groups that
need one are let in, by rules their own stack creates (``database.allow_tcp``).

With ``flowLogs`` (default on for ``stage=prod``) every accepted and rejected flow of the
VPC goes to a CloudWatch Logs group.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.cdk.inkwell_infra.config import InkwellConfig
from infra.cdk.inkwell_infra.logs import retention_days

ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
HTTPS_PORT = 443


class Network(Construct):
    """A two-AZ VPC with isolated subnets and the interface endpoints in-VPC code needs."""

    def __init__(self, scope: Construct, construct_id: str, *, config: InkwellConfig) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            # max_azs works environment-agnostically (Fn::GetAZs); no context lookup.
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated",
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=22,
                ),
            ],
        )
        self.isolated_subnets = ISOLATED
        self.flow_logs: logs.LogGroup | None = None
        if config.flow_logs:
            self.flow_logs = logs.LogGroup(
                self,
                "FlowLogs",
                retention=retention_days(config.log_retention_days),
                removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
            )
            self.vpc.add_flow_log(
                "FlowLog",
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_logs),
                traffic_type=ec2.FlowLogTrafficType.ALL,
            )

        self.secrets_manager_endpoint = self.add_interface_endpoint(
            "SecretsManagerEndpoint", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER
        )
        # Functions that write to an outbox publish to the event bus after their commit,
        # and the outbox relays publish the rest: PutEvents from inside the VPC.
        self.events_endpoint = self.add_interface_endpoint(
            "EventBridgeEndpoint", ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE
        )
        self._email_endpoint: ec2.InterfaceVpcEndpoint | None = None

    @property
    def secrets_manager_security_group(self) -> ec2.ISecurityGroup:
        return endpoint_security_group(self.secrets_manager_endpoint)

    @property
    def events_security_group(self) -> ec2.ISecurityGroup:
        return endpoint_security_group(self.events_endpoint)

    def email_endpoint(self) -> ec2.InterfaceVpcEndpoint:
        """The SES API endpoint (``ses``/``sesv2`` clients call ``email.<region>``), created
        the first time a function in the VPC needs it."""
        if self._email_endpoint is None:
            self._email_endpoint = self.add_interface_endpoint(
                "EmailEndpoint", ec2.InterfaceVpcEndpointAwsService.EMAIL
            )
        return self._email_endpoint

    def add_interface_endpoint(
        self, construct_id: str, service: ec2.InterfaceVpcEndpointAwsService
    ) -> ec2.InterfaceVpcEndpoint:
        """A closed interface endpoint in the isolated subnets with private DNS."""
        return self.vpc.add_interface_endpoint(
            construct_id,
            service=service,
            private_dns_enabled=True,
            subnets=ISOLATED,
            open=False,
        )


def endpoint_security_group(endpoint: ec2.InterfaceVpcEndpoint) -> ec2.ISecurityGroup:
    (group,) = endpoint.connections.security_groups
    return group
