"""The Inkwell application: a platform stack (``inkwell-<stage>``) with one nested stack per
database domain and one for the API.

- platform (this template): the network, the event bus and its archive, the dependency
  layer, the JWT private-key secret, the functions of no database domain (the authorizer,
  health), the alarm topic, the dashboard and the outputs;
- ``Users``, ``Content``, ``Comments`` (``domain.DomainStack``): each domain's database,
  functions, event subscriptions, schedules, migration trigger and alarms;
- ``Api`` (``api.ApiStack``): the REST API, its authorizers, routes and WAF;
- ``Invoke`` (``api.InvokePermissions``): the routes' Lambda invoke permissions.

docs/decisions/nested-stacks-per-domain.md says why; a test keeps every template under
60 % of CloudFormation's 500 resources, also with twenty more routes in one domain.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as sns_subscriptions
from constructs import Construct

import wiring
from infra.cdk.inkwell_infra.api import ApiStack, InvokePermissions
from infra.cdk.inkwell_infra.config import InkwellConfig
from infra.cdk.inkwell_infra.domain import DomainStack, construct_id
from infra.cdk.inkwell_infra.events import InkwellBus
from infra.cdk.inkwell_infra.functions import FunctionGroup, Shared
from infra.cdk.inkwell_infra.keys import PrivateKeys
from infra.cdk.inkwell_infra.layer import DependencyLayer
from infra.cdk.inkwell_infra.monitoring import attach_alarm_actions, dashboard
from infra.cdk.inkwell_infra.network import Network


class InkwellStack(Stack):
    def __init__(
        self, scope: Construct, construct_id_: str, *, config: InkwellConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id_, **kwargs)
        self.config = config
        # CDK renders tags on DBProxyTargetGroup, which CloudFormation rejects.
        untaggable = ["AWS::RDS::DBProxyTargetGroup"]
        Tags.of(self).add("project", "inkwell", exclude_resource_types=untaggable)
        Tags.of(self).add("stage", config.stage, exclude_resource_types=untaggable)

        self.network = Network(self, "Network", config=config)
        self.event_bus = InkwellBus(self, "EventBus", config=config)
        self.layer = DependencyLayer(
            self, "DependencyLayer", name_prefix=config.name_prefix, platform=config.platform
        )
        self.private_keys = PrivateKeys(self, "JwtPrivateKeys", name_prefix=config.name_prefix)
        shared = Shared(
            config=config,
            layer=self.layer.layer,
            network=self.network,
            private_keys=self.private_keys.secret,
            event_bus=self.event_bus.bus,
        )

        self.domains: dict[str, DomainStack] = {
            domain: DomainStack(
                self,
                construct_id(domain),
                domain=domain,
                shared=shared,
                functions=[f for f in wiring.all_functions() if f.domain == domain],
                description=f"Inkwell {domain} domain ({config.stage})",
            )
            for domain in wiring.DATABASE_DOMAINS
        }
        keys = [d.signing_keys for d in self.domains.values() if d.signing_keys is not None]
        if len(keys) != 1:
            raise ValueError(
                f"{wiring.SIGNING_KEYS.name} must belong to a database domain "
                "(its nested stack runs the signing-keys custom resource)"
            )
        self.signing_keys = keys[0]

        # The functions of no database domain (authorizer, health) live here.
        self.platform_functions = FunctionGroup(
            self,
            "Functions",
            shared=shared,
            functions=[
                f for f in wiring.all_functions() if f.domain not in wiring.DATABASE_DOMAINS
            ],
            public_keys=self.signing_keys.public_keys,
        )

        self.invoke_permissions = InvokePermissions(
            self, "Invoke", description=f"Inkwell API invoke permissions ({config.stage})"
        )
        self.api_stack = ApiStack(
            self,
            "Api",
            config=config,
            handlers={route.name: self.function(route.name) for route in wiring.ROUTES},
            authorizer_function=self.function(wiring.AUTHORIZER.name),
            permissions=self.invoke_permissions,
            description=f"Inkwell API ({config.stage})",
        )
        self.api = self.api_stack.api

        # Always a topic: alarms reach whoever subscribes (alarmEmail, or an on-call tool
        # subscribed by the team with alarmEmail=none).
        self.alarm_topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=f"{config.name_prefix}-alarms",
            display_name="Inkwell alarms",
            enforce_ssl=True,
        )
        if config.alarm_subscriber:
            self.alarm_topic.add_subscription(
                sns_subscriptions.EmailSubscription(config.alarm_subscriber)
            )
        self.alarm_count = attach_alarm_actions(self, self.alarm_topic)
        self.dashboard = dashboard(self, config)

        self._outputs()

    @property
    def databases(self) -> dict[str, Any]:
        return {domain: stack.database for domain, stack in self.domains.items()}

    def function(self, name: str) -> lambda_.Function:
        """A function by its wiring name, whichever stack holds it."""
        for group in (*(d.functions for d in self.domains.values()), self.platform_functions):
            if name in group.by_name:
                return group.by_name[name]
        raise KeyError(f"no function {name!r}")

    def _outputs(self) -> None:
        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the API stage")
        CfnOutput(
            self,
            "WebAclArn",
            value=self.api.web_acl.attr_arn,
            description="WAF web ACL on the API stage",
        )
        for domain, stack in self.domains.items():
            CfnOutput(
                self,
                f"{construct_id(domain)}DbProxyEndpoint",
                value=stack.database.endpoint,
                description=f"RDS Proxy endpoint of the {domain} database",
            )
        for maintenance in wiring.MAINTENANCE:
            CfnOutput(
                self,
                f"{construct_id(maintenance.name)}FunctionName",
                value=f"{self.config.name_prefix}-{maintenance.name}",
                description=(
                    f"{maintenance.description} Invoke for admin tasks: aws lambda invoke "
                    """--function-name <name> --payload '{"action":"..."}' out.json"""
                ),
            )
        CfnOutput(
            self, "EventBusName", value=self.event_bus.bus_name, description="The Inkwell event bus"
        )
        CfnOutput(self, "EventBusArn", value=self.event_bus.bus_arn)
        for stack in self.domains.values():
            for consumer_name, queue in stack.events.dead_letter_queues.items():
                CfnOutput(
                    self,
                    f"{construct_id(consumer_name)}DeadLetterQueueUrl",
                    value=queue.queue_url,
                    description=f"Events {consumer_name} did not process (redrive from here)",
                )
        CfnOutput(self, "AlarmTopicArn", value=self.alarm_topic.topic_arn)
        CfnOutput(self, "DashboardName", value=self.config.name_prefix)
