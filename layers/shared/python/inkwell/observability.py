"""Powertools Logger, Metrics and (opt-in) Tracer, shared by every function.

The request id is the correlation id: it is stamped on every log line of the invocation
and on every event the invocation publishes. Every log line of an invocation also carries
the Lambda context the way Powertools' ``inject_lambda_context`` writes it (``cold_start``,
``function_name``, ``function_memory_size``, ``function_arn``, ``function_request_id``):
``ExecutionEnvironment.start`` stamps it, per thread like the correlation id, with the cold
start counted per function rather than per process (the local platform runs every function
in one process).

Tracing: Lambda active tracing records every invocation without any SDK. The Powertools
Tracer (X-Ray SDK, for custom subsegments) adds about half a second to each cold start, so
it is created only when ``INKWELL_XRAY_SDK=true``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache, wraps
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.lambda_context import (
    LambdaContextModel,
    build_lambda_context_model,
)

from inkwell import env

logger = Logger(service=os.environ.get(env.POWERTOOLS_SERVICE_NAME, "inkwell"))
metrics = Metrics(namespace=os.environ.get(env.POWERTOOLS_METRICS_NAMESPACE, "Inkwell"))


@cache
def tracer() -> Any | None:
    if os.environ.get(env.XRAY_SDK, "").lower() != "true":
        return None
    from aws_lambda_powertools import Tracer

    return Tracer()


def count(name: str) -> None:
    """Add one to a business metric of this invocation (published by `flush_metrics`)."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def flush_metrics() -> None:
    """Publish the invocation's metrics (as EMF log lines), if it recorded any."""
    if metrics.metric_set:
        metrics.flush_metrics()


def set_correlation_id(request_id: str | None) -> None:
    # Kept per thread (a context variable), not on the shared formatter: the local platform
    # runs its execution environments (gateway, consumers, relays) as threads of one process,
    # and a consumer must not stamp its event's id on a concurrent request's lines and events.
    logger.thread_safe_append_keys(correlation_id=request_id)


def correlation_id() -> str | None:
    """The request id of the invocation in progress (None outside a request)."""
    value = logger.thread_safe_get_current_keys().get("correlation_id")
    return str(value) if value else None


# What Powertools' LambdaContextModel holds (function_name, function_memory_size, ...).
_CONTEXT_KEYS = tuple(vars(LambdaContextModel()))


class ExecutionEnvironment:
    """One function's execution environment: its first invocation is the cold start."""

    def __init__(self) -> None:
        self.invoked = False

    def start(self, context: Any) -> None:
        """Stamp the Lambda context of the invocation starting on every line it logs."""
        # Provisioned concurrency initializes ahead of the first request (as Powertools says).
        cold = not self.invoked and (
            os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "provisioned-concurrency"
        )
        self.invoked = True
        if context is not None and hasattr(context, "aws_request_id"):
            logger.thread_safe_append_keys(
                cold_start=cold, **vars(build_lambda_context_model(context))
            )
        else:  # called without a context (a test): no other invocation's fields linger
            logger.thread_safe_remove_keys(list(_CONTEXT_KEYS))
            logger.thread_safe_append_keys(cold_start=cold)


Handler = TypeVar("Handler", bound=Callable[[Any, Any], Any])


def with_lambda_context(handler: Handler) -> Handler:
    """A plain handler function whose log lines carry the Lambda context."""
    environment = ExecutionEnvironment()

    @wraps(handler)
    def start_then_handle(event: Any, context: Any) -> Any:
        environment.start(context)
        return handler(event, context)

    return start_then_handle  # type: ignore[return-value]
