"""Powertools Logger, Metrics and (opt-in) Tracer, shared by every function.

The request id is the correlation id: it is stamped on every log line of the invocation
and on every event the invocation publishes.

Tracing: Lambda active tracing records every invocation without any SDK. The Powertools
Tracer (X-Ray SDK, for custom subsegments) adds about half a second to each cold start, so
it is created only when ``INKWELL_XRAY_SDK=true``.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics

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
