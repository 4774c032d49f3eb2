"""Event consumers: Lambda functions subscribed by EventBridge rules to event types.

A consumer applies each event at most once: the event id is recorded in its own domain's
database in the same transaction as the effect, so a redelivered event (EventBridge and
Lambda both deliver at least once) finds its id and has no second effect. An effect that
raises rolls back, the invocation fails, Lambda retries it, and after the last retry the
event is parked in the consumer's dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inkwell.db import Session, database
from inkwell.observability import ExecutionEnvironment, logger, set_correlation_id

Effect = Callable[[Session, "ReceivedEvent"], None]


@dataclass(frozen=True)
class ReceivedEvent:
    """An EventBridge event as a consumer sees it."""

    event_id: str
    detail_type: str
    source: str
    occurred_at: str
    correlation_id: str | None
    version: int
    data: dict[str, Any]

    @classmethod
    def from_eventbridge(cls, event: dict[str, Any]) -> ReceivedEvent:
        detail = event.get("detail") or {}
        return cls(
            event_id=str(detail["eventId"]),
            detail_type=str(event["detail-type"]),
            source=str(event["source"]),
            occurred_at=str(detail["occurredAt"]),
            correlation_id=detail.get("correlationId"),
            version=int(detail.get("version", 1)),
            data=dict(detail.get("data") or {}),
        )


class Consumer:
    """One consumer function: effects per event type, applied once per event id."""

    def __init__(self, name: str, domain: str) -> None:
        self.name = name
        self.db = database(domain)
        self.effects: dict[str, Effect] = {}
        self.environment = ExecutionEnvironment()

    def on(self, *detail_types: str) -> Callable[[Effect], Effect]:
        def register(effect: Effect) -> Effect:
            for detail_type in detail_types:
                self.effects[detail_type] = effect
            return effect

        return register

    def handler(self, event: dict[str, Any], context: Any) -> dict[str, str]:
        self.environment.start(context)
        received = ReceivedEvent.from_eventbridge(event)
        set_correlation_id(received.correlation_id)
        effect = self.effects.get(received.detail_type)
        if effect is None:
            # A rule delivered a type this consumer does not handle: wiring is out of step.
            raise ValueError(f"{self.name} has no effect for {received.detail_type}")
        with self.db.transaction() as s:
            first = s.row(
                "INSERT INTO processed_events (consumer, event_id)"
                " VALUES (:consumer, CAST(:event_id AS uuid))"
                " ON CONFLICT DO NOTHING RETURNING event_id",
                consumer=self.name,
                event_id=received.event_id,
            )
            if first is None:
                logger.info("duplicate event ignored", extra={"eventId": received.event_id})
                return {"status": "duplicate", "eventId": received.event_id}
            effect(s, received)
        logger.info(
            "event processed",
            extra={"eventId": received.event_id, "detailType": received.detail_type},
        )
        return {"status": "processed", "eventId": received.event_id}
