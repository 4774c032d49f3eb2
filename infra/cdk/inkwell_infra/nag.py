"""cdk-nag: the AwsSolutions and Serverless rule packs, and every acknowledged finding.

``check(app)`` runs both packs on the whole app when it synthesizes (``make synth`` and
the infra tests); a finding that is neither fixed nor acknowledged here fails the synth,
and the report is ``cdk.out/validation-report.json``. This module is the one place where
findings are acknowledged: each on the constructs it concerns (never a whole stack), each
with the reason it does not apply or is accepted. cdk-nag 3 acknowledges each finding
individually (``AwsSolutions-IAM5[Resource::*]``), so a new kind of wildcard is a new
finding to look at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from aws_cdk import Acknowledgment, App, Stack, Validations, custom_resources
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct

import wiring
from infra.cdk.inkwell_infra.config import InkwellConfig
from infra.cdk.inkwell_infra.functions import InlinePolicyRole
from infra.cdk.inkwell_infra.runtime import RUNTIMES

NEWEST_RUNTIME = max(RUNTIMES, key=lambda name: tuple(map(int, name[6:].split("."))))

WILDCARD_ACTIONS = (
    "Lambda needs ec2:CreateNetworkInterface/Describe*/DeleteNetworkInterface on * to attach "
    "a function to its subnets, and X-Ray's PutTraceSegments/PutTelemetryRecords have no "
    "resource-level permissions; every other grant names its resource"
)


def check(app: App) -> None:
    """Run both rule packs on every stack of ``app`` when it synthesizes."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))


def _ack(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


T = TypeVar("T")


def _all(root: IConstruct, kind: type[T]) -> Iterable[T]:
    return (c for c in root.node.find_all() if isinstance(c, kind))


def acknowledge(stack: Stack, config: InkwellConfig) -> None:
    """Every accepted finding of the Inkwell app (``stack`` and its nested stacks)."""
    acks: list[Callable[[Stack, InkwellConfig], None]] = [
        _network,
        _databases,
        _functions,
        _api,
        _queues,
        _cdk_owned,
        _signing_keys,
        _alarm_topic,
    ]
    for add in acks:
        add(stack, config)


def _network(stack: Stack, config: InkwellConfig) -> None:
    if not config.flow_logs:
        for vpc in _all(stack, ec2.Vpc):
            _ack(
                vpc,
                "AwsSolutions-VPC7",
                f"stage {config.stage}: flow logs are on by default for stage=prod "
                "(flowLogs); a disposable stage skips their ingestion cost",
            )


def _databases(stack: Stack, config: InkwellConfig) -> None:
    for instance in _all(stack, rds.DatabaseInstance):
        if not config.multi_az:
            _ack(
                instance,
                "AwsSolutions-RDS3",
                f"stage {config.stage}: single-AZ halves the instance cost of a disposable "
                "stage; stage=prod defaults to Multi-AZ (multiAz)",
            )
        if not config.deletion_protection:
            _ack(
                instance,
                "AwsSolutions-RDS10",
                f"stage {config.stage}: a disposable stage must be deletable; stage=prod "
                "defaults to deletion protection (deletionProtection)",
            )
        _ack(
            instance,
            "AwsSolutions-RDS11",
            "a non-default port hides nothing here: the instance is in isolated subnets, "
            "its security group admits only the proxy and the maintenance function, and "
            "every login is IAM-authenticated",
        )


def _runtime_reason(config: InkwellConfig) -> str:
    return (
        f"lambdaRuntime={config.lambda_runtime} is deliberate: the layer's bytecode is "
        f"compiled by a Python of exactly that version, and {NEWEST_RUNTIME} needs a "
        f"{NEWEST_RUNTIME} interpreter on the build machine; Lambda supports "
        f"{config.lambda_runtime} until its deprecation date (docs/deploy.md, Runtime). "
        f"-c lambdaRuntime={NEWEST_RUNTIME} moves every function"
    )


def _functions(stack: Stack, config: InkwellConfig) -> None:
    kinds = {f.name: f for f in wiring.all_functions()}
    runtime_reason = _runtime_reason(config)
    for fn in _all(stack, lambda_.Function):
        if config.lambda_runtime != NEWEST_RUNTIME and fn.runtime.name == config.lambda_runtime:
            _ack(fn, "AwsSolutions-L1", runtime_reason)
            _ack(fn, "Serverless-LambdaLatestVersion", runtime_reason)
        name = fn.node.scope.node.id if fn.node.scope else ""
        function = kinds.get(name)
        if function is None:
            continue
        _ack(fn, "Serverless-LambdaDLQ", _dlq_reason(function))
        if isinstance(function, wiring.Scheduled):
            _ack(
                fn,
                "Serverless-LambdaAsyncFailureDestination",
                "a scheduled run is not retried and has no failure destination on "
                "purpose: the next run (every few minutes) is the retry, and a failed run "
                "raises the function's errors alarm",
            )
    for role in _all(stack, InlinePolicyRole):
        _ack(role, "AwsSolutions-IAM5[Resource::*]", WILDCARD_ACTIONS)
        _ack(role, "Serverless-LambdaStarPermissions", WILDCARD_ACTIONS)


def _dlq_reason(function: wiring.Function) -> str:
    if isinstance(function, wiring.Route) or function == wiring.AUTHORIZER:
        return (
            "invoked synchronously by API Gateway: the caller gets the error, a "
            "dead-letter queue would never receive anything"
        )
    if isinstance(function, wiring.Consumer):
        return (
            "its failures go to its own dead-letter queue through the asynchronous "
            "invocation's on-failure destination (newer than a function DLQ, and it "
            "keeps the error)"
        )
    if isinstance(function, wiring.Scheduled):
        return "a scheduled run is not retried: the next run is the retry"
    return (
        "invoked synchronously at deploy time by a CloudFormation custom resource, "
        "which fails the deploy with the error"
    )


def _api(stack: Stack, config: InkwellConfig) -> None:
    for api in _all(stack, apigw.RestApi):
        _ack(
            api,
            "AwsSolutions-APIG2",
            "every function validates its own request (pydantic models) and answers "
            "application/problem+json 400/422 with the field errors; a gateway request "
            "validator would answer in another format",
        )
        role = api.node.try_find_child("CloudWatchRole")
        if role is not None:
            _ack(
                role,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
                "service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
                "the account-level role API Gateway needs to write access logs; this "
                "managed policy is the one AWS documents for it",
            )
    for method in _all(stack, apigw.Method):
        if method.http_method == "OPTIONS":
            continue
        _ack(
            method,
            "AwsSolutions-COG4",
            "authorization is Inkwell's own: a Lambda authorizer verifies ES256 JWTs "
            "issued by the users domain (docs/architecture.md); there is no Cognito pool",
        )
        route = next(
            (
                r
                for r in wiring.ROUTES
                if r.auth == "none"
                and method.resource.path == r.path
                and method.http_method in wiring.http_methods(r)
            ),
            None,
        )
        if route is not None:
            _ack(
                method,
                "AwsSolutions-APIG4",
                f"{method.http_method} {route.path} is the public liveness check: no "
                "identity, no data",
            )


def _queues(stack: Stack, config: InkwellConfig) -> None:
    for queue in _all(stack, sqs.Queue):
        if queue.node.id == "DeadLetterQueue":
            reason = (
                "this queue is a consumer's dead-letter queue (the rule target's DLQ "
                "and the function's on-failure destination); a DLQ of a DLQ would "
                "only move the problem"
            )
            _ack(queue, "AwsSolutions-SQS3", reason)
            _ack(queue, "Serverless-SQSRedrivePolicy", reason)


def _cdk_owned(stack: Stack, config: InkwellConfig) -> None:
    """Functions CDK creates itself (the trigger and custom-resource providers) and the
    EventBridge Scheduler roles of its scheduler targets."""
    basic = (
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]"
    )
    for provider in _all(stack, custom_resources.Provider):
        reason = (
            "CDK's custom-resource provider framework function (deploy time only): "
            "CDK sets its role, memory and tracing"
        )
        for construct in provider.node.find_all():
            if isinstance(construct, lambda_.Function):
                for rule in (
                    "Serverless-LambdaDefaultMemorySize",
                    "Serverless-LambdaTracing",
                    "Serverless-LambdaDLQ",
                    "Serverless-LambdaLatestVersion",
                    "AwsSolutions-L1",
                ):
                    _ack(construct, rule, reason)
            if isinstance(construct, iam.Role):
                _ack(construct, basic, reason)
                _ack(construct, "Serverless-LambdaStarPermissions", reason)
            if isinstance(construct, iam.Policy):
                for resource in _invoke_wildcards(construct):
                    _ack(
                        construct,
                        f"AwsSolutions-IAM5[Resource::{resource}]",
                        "CDK's provider framework invokes the one handler function and its "
                        "versions (ARN:*)",
                    )
    for nested in _all(stack, Stack):
        for child in nested.node.children:
            if child.node.id.startswith("SchedulerRoleForTarget"):
                for policy in _all(child, iam.Policy):
                    for statement in _invoke_wildcards(policy):
                        _ack(
                            policy,
                            f"AwsSolutions-IAM5[Resource::{statement}]",
                            "CDK's EventBridge Scheduler target grant: invoke the function "
                            "and its versions (ARN:*), on this one function only",
                        )


def _invoke_wildcards(policy: iam.Policy) -> list[str]:
    """The ``<Function.Arn>:*`` resources of a scheduler role's policy, as cdk-nag names
    them (the logical id of the function's resource in its template)."""
    found = []
    document = Stack.of(policy).resolve(policy.document.to_json())
    for statement in document.get("Statement", []):
        for resource in statement.get("Resource", []):
            if isinstance(resource, dict) and "Fn::Join" in resource:
                parts = resource["Fn::Join"][1]
                if len(parts) == 2 and parts[1] == ":*" and "Fn::GetAtt" in parts[0]:
                    found.append(f"<{parts[0]['Fn::GetAtt'][0]}.Arn>:*")
    return found


def _signing_keys(stack: Stack, config: InkwellConfig) -> None:
    from infra.cdk.inkwell_infra.keys import PrivateKeys

    for keys in _all(stack, PrivateKeys):
        _ack(
            keys.secret,
            "AwsSolutions-SMG4",
            "the JWT private keys rotate through the signing-keys custom resource: bump "
            "jwtKeyGeneration and deploy (docs/deploy.md); a Secrets Manager rotation "
            "could not also hand the new public key to the authorizer",
        )


def _alarm_topic(stack: Stack, config: InkwellConfig) -> None:
    for subscription in _all(stack, sns.Subscription):
        _ack(
            subscription,
            "Serverless-SNSRedrivePolicy",
            "the alarmEmail subscription: an undeliverable alarm email would land in a "
            "queue nobody reads; the alarm's state stays in CloudWatch and on the dashboard",
        )
