"""Inkwell's CDK constructs, one module per concern, and the app factory.

- ``network``: VPC (isolated subnets, no NAT) and interface endpoints (Secrets Manager,
  EventBridge, and SES when ``emailSender`` is set);
- ``database``: one RDS PostgreSQL + RDS Proxy per domain;
- ``layer``: the shared dependency layer (local pip bundling, no Docker);
- ``events``: the EventBridge bus and its archive; per consumer a rule, a dead-letter
  queue and retries; per scheduled function a schedule; per relay the outbox alarm;
- ``functions``: one Lambda per ``wiring`` Function, least-privilege grants on one
  execution role per group of functions with identical grants;
- ``api``: REST API, authorizers, gateway responses, throttling, WAF, CORS;
- ``stack``: assembles them, plus the migration triggers, the optional alarm topic and
  the outputs.

Everything that is wired (routes, functions, access, event types, consumers, schedules) comes
from ``functions/wiring.py``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Environment

from infra.cdk.inkwell_infra.config import InkwellConfig
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
) -> tuple[App, InkwellStack]:
    """Build the app and its single stack (``inkwell-<stage>``) without synthesizing."""
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    config = InkwellConfig.from_node(app.node)
    stack = InkwellStack(
        app,
        f"inkwell-{config.stage}",
        config=config,
        env=env,
        description=f"Inkwell blogging backend ({config.stage})",
    )
    return app, stack
