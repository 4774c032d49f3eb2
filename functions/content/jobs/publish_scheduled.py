"""Scheduled: publishes every scheduled post whose time has come (every minute on AWS, every
few seconds under `make run`), each announced by post.published like any other publish."""

from __future__ import annotations

from typing import Any

from content import service
from inkwell.observability import flush_metrics, set_correlation_id, with_lambda_context


@with_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    # The scheduler's invocation id is the correlation id of the events it causes.
    set_correlation_id(str((event or {}).get("id") or "") or None)
    try:
        return {"published": service.publish_scheduled()}
    finally:
        flush_metrics()
