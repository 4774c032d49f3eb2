"""The outbox relay: publishes what the writers could not, oldest first.

Runs on a schedule per domain (EventBridge Scheduler on AWS, a timer under `make run`).
Rows are claimed with ``FOR UPDATE SKIP LOCKED`` inside a transaction, so relays running at
once never publish the same row twice; a row younger than the grace period is left to the
request that wrote it, which normally publishes it within milliseconds. A row EventBridge
refused MAX_ATTEMPTS times (say, a detail over 256 KB) is parked: the relay skips it, so
it cannot hold up the others, while the outbox-age alarm keeps pointing at it until an
operator deals with it (its `last_error` says why). Published rows, and the consumers'
processed-event ids, are deleted after the retention period.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from inkwell import env, events
from inkwell.db import Database, database
from inkwell.observability import logger, metrics, with_lambda_context

BATCH = 100
MAX_ATTEMPTS = 10


@dataclass
class RelayResult:
    published: int = 0
    failed: int = 0
    cleaned: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"published": self.published, "failed": self.failed, "cleaned": self.cleaned}


def _grace_s() -> int:
    return int(os.environ.get(env.OUTBOX_GRACE_SECONDS, "10"))


def _retention_s() -> int:
    return int(os.environ.get(env.OUTBOX_RETENTION_SECONDS, str(7 * 86400)))


def relay_once(db: Database, *, grace_s: int | None = None, batch: int = BATCH) -> RelayResult:
    """Claim one batch of unpublished rows, publish them, record the outcome."""
    result = RelayResult()
    with db.transaction() as s:
        claimed = s.rows(
            "SELECT id, source, detail_type, detail FROM outbox"
            " WHERE published_at IS NULL AND attempts < :max_attempts"
            "   AND created_at < now() - make_interval(secs => CAST(:grace AS integer))"
            " ORDER BY id LIMIT :batch FOR UPDATE SKIP LOCKED",
            grace=_grace_s() if grace_s is None else grace_s,
            batch=batch,
            max_attempts=MAX_ATTEMPTS,
        )
        if not claimed:
            return result
        rows = [
            events.OutboxRow(r["id"], r["source"], r["detail_type"], r["detail"]) for r in claimed
        ]
        accepted, failed = events.publish(rows)
        if accepted:
            events.mark_published(s, accepted)
        if failed:
            s.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = reasons.error"
                " FROM unnest(CAST(:ids AS bigint[]), CAST(:errors AS text[]))"
                "   AS reasons (id, error)"
                " WHERE outbox.id = reasons.id",
                ids=list(failed),
                errors=[reason[:500] for reason in failed.values()],
            )
        result.published, result.failed = len(accepted), len(failed)
    return result


def clean_up(db: Database, retention_s: int | None = None) -> int:
    """Delete published outbox rows and processed-event ids older than the retention.

    A processed-event id must outlive any redelivery: EventBridge retries for at most
    24 hours, so the 7-day default leaves a wide margin (replaying the archive from further
    back than the retention would apply those events again).
    """
    keep = _retention_s() if retention_s is None else retention_s
    with db.reader() as s:
        removed = s.rows(
            "WITH old_ids AS ("
            "  DELETE FROM processed_events WHERE ctid IN ("
            "   SELECT ctid FROM processed_events WHERE processed_at"
            "    < now() - make_interval(secs => CAST(:keep AS integer)) LIMIT 10000))"
            " DELETE FROM outbox WHERE id IN ("
            " SELECT id FROM outbox WHERE published_at"
            "  < now() - make_interval(secs => CAST(:keep AS integer)) LIMIT 10000)"
            " RETURNING id",
            keep=keep,
        )
    return len(removed)


def oldest_unpublished_age_s(db: Database) -> float:
    """Seconds since the oldest unpublished event was written (0 when there is none)."""
    with db.reader() as s:
        age = s.scalar(
            "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)"
            " FROM outbox WHERE published_at IS NULL"
        )
    return float(age or 0)


def report_backlog(db: Database) -> float:
    """Emit the outbox age metric that the 'outbox is stuck' alarm watches."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    age = oldest_unpublished_age_s(db)
    if os.environ.get(env.POWERTOOLS_METRICS_DISABLED, "").lower() == "true":
        return age  # single_metric does not honour the switch by itself
    # A metric of its own (one EMF record), so its Domain dimension never mixes with the
    # invocation's other metrics; `service` is added as on every Powertools metric.
    with single_metric(
        name="OutboxOldestUnpublishedAgeSeconds",
        unit=MetricUnit.Seconds,
        value=age,
        namespace=metrics.namespace,
        default_dimensions={"service": metrics.service or db.domain},
    ) as metric:
        metric.add_dimension(name="Domain", value=db.domain)
    return age


def run(db: Database, *, budget_s: float = 50, grace_s: int | None = None) -> RelayResult:
    """Relay batches until the outbox is drained, a batch fails, or the time budget is spent."""
    total = RelayResult()
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        step = relay_once(db, grace_s=grace_s)
        total.published += step.published
        total.failed += step.failed
        if step.failed or step.published < BATCH:
            break
    total.cleaned = clean_up(db)
    if total.published or total.failed:
        logger.info("outbox relayed", extra=total.to_dict())
    return total


def handler_for(domain: str) -> Any:
    """The scheduled Lambda handler of a domain's relay."""

    @with_lambda_context
    def handler(event: dict[str, Any], context: Any) -> dict[str, float]:
        db = database(domain)
        remaining = context.get_remaining_time_in_millis() / 1000 if context else 60
        result: dict[str, float] = dict(run(db, budget_s=max(1.0, remaining - 5)).to_dict())
        result["oldestUnpublishedAgeSeconds"] = report_backlog(db)
        return result

    return handler
