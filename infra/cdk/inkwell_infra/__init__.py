"""Inkwell's CDK constructs, one module per concern, and the app factory.

- ``stack``: the platform stack ``inkwell-<stage>``; ``domain``: one nested stack per
  database domain; ``api``: the nested API stack (REST API, authorizers, WAF);
- ``config``: the settings (CDK context); ``runtime``: the Lambda runtime/architecture and
  the interpreter that compiles for it;
- ``network``: VPC (isolated subnets, no NAT, flow logs in prod) and interface endpoints
  (Secrets Manager, EventBridge, and SES when ``emailSender`` is set);
- ``database``: one RDS PostgreSQL + RDS Proxy per domain, IAM authentication end to end;
- ``keys``: the JWT private-key secret and the custom resource that creates/rotates keys;
- ``layer``: the shared dependency layer (local pip bundling, no Docker);
- ``monitoring``: alarms beyond the per-function ones, alarm actions, the dashboard;
- ``nag``: cdk-nag rule packs and every acknowledged finding;
- ``events``: the EventBridge bus and its archive; per consumer a rule, a dead-letter
  queue and retries; per scheduled function a schedule; per relay the outbox alarm;
- ``functions``: one Lambda per ``wiring`` Function, least-privilege grants on one
  execution role per group of functions with identical grants;
- ``api``: REST API, authorizers, gateway responses, throttling, WAF, CORS.

Everything that is wired (routes, functions, access, event types, consumers, schedules) comes
from ``functions/wiring.py``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Environment

from infra.cdk.inkwell_infra.config import InkwellConfig
from infra.cdk.inkwell_infra.nag import acknowledge, check
from infra.cdk.inkwell_infra.stack import InkwellStack

__all__ = ["InkwellConfig", "InkwellStack", "create_app", "environment_from_os"]


def environment_from_os() -> Environment | None:
    """The target account/region when the CDK CLI knows them, else environment-agnostic.

    Nothing in the stack does a context lookup, so it synthesizes offline either way.
    """
    account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = os.environ.get("CDK_DEFAULT_REGION")
    if account and region:
        return Environment(account=account, region=region)
    return None


def create_app(
    context: Mapping[str, Any] | None = None,
    *,
    outdir: str | None = None,
    env: Environment | None = None,
    nag: bool = True,
) -> tuple[App, InkwellStack]:
    """Build the app (``inkwell-<stage>`` and its nested stacks) without synthesizing.

    With ``nag`` (the default: ``make synth``, ``make deploy``, the infra tests) cdk-nag's
    AwsSolutions and Serverless packs check it on synth (``nag.py``).
    """
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    config = InkwellConfig.from_node(app.node)
    stack = InkwellStack(
        app,
        f"inkwell-{config.stage}",
        config=config,
        env=env,
        description=f"Inkwell blogging backend ({config.stage})",
    )
    if nag:
        acknowledge(stack, config)
        check(app)
    return app, stack
