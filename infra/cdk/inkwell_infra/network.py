"""The VPC: private isolated subnets only, no NAT gateways, interface endpoints instead.

Nothing in the VPC talks to the internet. Functions that need a database run in the
isolated subnets next to the RDS Proxy; AWS APIs they call from there are reached through
interface VPC endpoints (private DNS on, so SDK clients need no configuration). Functions
without database access are not in the VPC at all.

Endpoints: Secrets Manager and EventBridge always; the SES API (service ``email``, which
serves the SES v1 and v2 APIs; ``email-smtp`` would be SMTP) only when email is sent
through SES (context ``emailSender``) by a function in the VPC, created on first demand by
``email_endpoint()``.
"""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)


class Network(Construct):
    """A two-AZ VPC with isolated subnets and the interface endpoints in-VPC code needs."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
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

        # Functions read their database secret and the JWT signing key from Secrets Manager.
        self.secrets_manager_endpoint = self.add_interface_endpoint(
            "SecretsManagerEndpoint", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER
        )
        # Functions that write to an outbox publish to the event bus after their commit,
        # and the outbox relays publish the rest: PutEvents from inside the VPC. Closed by
        # default: only the security groups of functions with ``Access.EVENTS`` are let in
        # (``InkwellFunctions`` calls ``allow_default_port_from`` for each).
        self.events_endpoint = self.add_interface_endpoint(
            "EventBridgeEndpoint", ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE, open=False
        )
        self._email_endpoint: ec2.InterfaceVpcEndpoint | None = None

    def email_endpoint(self) -> ec2.InterfaceVpcEndpoint:
        """The SES API endpoint (``ses``/``sesv2`` clients call ``email.<region>``), created
        the first time a function in the VPC needs it. Closed like the EventBridge one:
        only the security groups of functions with ``Access.EMAIL`` are let in."""
        if self._email_endpoint is None:
            self._email_endpoint = self.add_interface_endpoint(
                "EmailEndpoint", ec2.InterfaceVpcEndpointAwsService.EMAIL, open=False
            )
        return self._email_endpoint

    def add_interface_endpoint(
        self,
        construct_id: str,
        service: ec2.InterfaceVpcEndpointAwsService,
        *,
        open: bool = True,
    ) -> ec2.InterfaceVpcEndpoint:
        """An interface endpoint in the isolated subnets with private DNS.

        With ``open`` its security group admits HTTPS from the VPC CIDR; without it, no
        one until ``endpoint.connections.allow_default_port_from(group)``. Either way,
        callers with restricted egress must still be allowed out to it (the same call
        does both sides).
        """
        return self.vpc.add_interface_endpoint(
            construct_id,
            service=service,
            private_dns_enabled=True,
            subnets=ISOLATED,
            open=open,
        )
