"""The Inkwell stack: network, databases, signing key, event bus, layer, functions, API,
event routing (rules, DLQs, schedules), triggers, alarm notifications, outputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack, Tags, triggers
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as sns_subscriptions
from constructs import Construct

import wiring
from infra.cdk.inkwell_infra.api import InkwellApi
from infra.cdk.inkwell_infra.config import InkwellConfig
from infra.cdk.inkwell_infra.database import DomainDatabase
from infra.cdk.inkwell_infra.events import EventRouting, InkwellBus
from infra.cdk.inkwell_infra.functions import InkwellFunctions
from infra.cdk.inkwell_infra.layer import DependencyLayer
from infra.cdk.inkwell_infra.network import Network

JWT_SECRET_LENGTH = 64


def validate_maintenance(
    domains: Sequence[str], maintenance: Sequence[wiring.Function]
) -> None:
    """Each database domain has exactly one maintenance function, with database access:
    it is what applies the domain's migrations on deploy."""
    for domain in domains:
        found = [m for m in maintenance if m.domain == domain]
        if len(found) != 1:
            raise ValueError(
                f"database domain {domain!r} needs exactly one maintenance function in "
                f"wiring.MAINTENANCE (it applies the migrations), found {len(found)}"
            )
        if wiring.Access.DATABASE not in found[0].access:
            raise ValueError(f"{found[0].name} must declare Access.DATABASE")


def _construct_id(name: str) -> str:
    """``users`` -> ``Users``, ``users-maintenance`` -> ``UsersMaintenance``."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


class InkwellStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: InkwellConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        # CDK renders tags on DBProxyTargetGroup, which CloudFormation rejects.
        untaggable = ["AWS::RDS::DBProxyTargetGroup"]
        Tags.of(self).add("project", "inkwell", exclude_resource_types=untaggable)
        Tags.of(self).add("stage", config.stage, exclude_resource_types=untaggable)

        self.network = Network(self, "Network")

        self.databases: dict[str, DomainDatabase] = {
            domain: DomainDatabase(
                self,
                f"{_construct_id(domain)}Database",
                domain=domain,
                network=self.network,
                config=config,
            )
            for domain in wiring.DATABASE_DOMAINS
        }

        self.signing_key = secretsmanager.Secret(
            self,
            "JwtSigningKey",
            description="Inkwell JWT signing key (HS256)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=JWT_SECRET_LENGTH,
                exclude_punctuation=True,
            ),
        )

        self.event_bus = InkwellBus(self, "EventBus", config=config)

        self.layer = DependencyLayer(self, "DependencyLayer", name_prefix=config.name_prefix)

        self.functions = InkwellFunctions(
            self,
            "Functions",
            config=config,
            layer=self.layer.layer,
            network=self.network,
            databases=self.databases,
            signing_key=self.signing_key,
            event_bus=self.event_bus.bus,
        )

        self.events = EventRouting(
            self, "Events", config=config, bus=self.event_bus, functions=self.functions
        )

        self.api = InkwellApi(
            self,
            "Api",
            config=config,
            handlers={route.name: self.functions[route.name] for route in wiring.ROUTES},
            authorizer_function=self.functions[wiring.AUTHORIZER.name],
        )

        # Maintenance functions (migrations) run on every deploy that changes them, once
        # their database, its proxy and the network path to both are in place. A failed
        # migration fails the deployment.
        validate_maintenance(wiring.DATABASE_DOMAINS, wiring.MAINTENANCE)
        self.triggers: dict[str, triggers.Trigger] = {}
        for maintenance in wiring.MAINTENANCE:
            handler = self.functions[maintenance.name]
            database = self.functions.database_of(maintenance)
            self.triggers[maintenance.name] = triggers.Trigger(
                self,
                f"{_construct_id(maintenance.name)}Trigger",
                handler=handler,
                invocation_type=triggers.InvocationType.REQUEST_RESPONSE,
                timeout=Duration.seconds(maintenance.timeout_s + 30),
                execute_after=[
                    database,
                    self.network.secrets_manager_endpoint,
                    self.network.events_endpoint,
                ],
                execute_on_handler_change=True,
            )

        self.alarm_topic = self._notify_alarms(config.alarm_email)

        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the API stage")
        CfnOutput(
            self,
            "WebAclArn",
            value=self.api.web_acl.attr_arn,
            description="WAF web ACL on the API stage",
        )
        for domain, database in self.databases.items():
            CfnOutput(
                self,
                f"{_construct_id(domain)}DbSecretArn",
                value=database.secret.secret_arn,
                description=f"Secret with the {domain} database master credentials",
            )
            CfnOutput(
                self,
                f"{_construct_id(domain)}DbProxyEndpoint",
                value=database.endpoint,
                description=f"RDS Proxy endpoint of the {domain} database",
            )
        for maintenance in wiring.MAINTENANCE:
            CfnOutput(
                self,
                f"{_construct_id(maintenance.name)}FunctionName",
                value=self.functions[maintenance.name].function_name,
                description=(
                    f"{maintenance.description} Invoke for admin tasks: aws lambda invoke "
                    """--function-name <name> --payload '{"action":"..."}' out.json"""
                ),
            )
        CfnOutput(
            self,
            "EventBusName",
            value=self.event_bus.bus_name,
            description="The Inkwell event bus",
        )
        CfnOutput(self, "EventBusArn", value=self.event_bus.bus_arn)
        for consumer_name, queue in self.events.dead_letter_queues.items():
            CfnOutput(
                self,
                f"{_construct_id(consumer_name)}DeadLetterQueueUrl",
                value=queue.queue_url,
                description=f"Events {consumer_name} did not process (redrive from here)",
            )
        if self.alarm_topic is not None:
            CfnOutput(self, "AlarmTopicArn", value=self.alarm_topic.topic_arn)

    def _notify_alarms(self, email: str | None) -> sns.Topic | None:
        """With ``alarmEmail``: one topic, that address subscribed, every alarm of the
        stack (API, functions, DLQs, outboxes) notifying it on ALARM and on OK."""
        if not email:
            return None
        topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=f"{self.config.name_prefix}-alarms",
            display_name="Inkwell alarms",
            enforce_ssl=True,
        )
        topic.add_subscription(sns_subscriptions.EmailSubscription(email))
        action = cloudwatch_actions.SnsAction(topic)
        for construct in self.node.find_all():
            if isinstance(construct, cloudwatch.Alarm):
                construct.add_alarm_action(action)
                construct.add_ok_action(action)
        return topic
