"""Event consumers: Lambda functions subscribed by EventBridge rules to event types.

A consumer applies each event at most once: the event id is recorded in its own domain's
database in the same transaction as the effect, so a redelivered event (EventBridge and
Lambda both deliver at least once) finds its id and has no second effect. An effect that
raises rolls back, the invocation fails, Lambda retries it, and after the last retry the
event is parked in the consumer's dead-letter queue.

Effects are registered per event model (``@consumer.on(PostPublished)``) and receive the
event's data parsed into it (inkwell.event_models): ``event.data.author_id``, not a dict.
Data that does not match its model fails the invocation before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from inkwell.db import Session, database
from inkwell.event_models import MODELS, EventData
from inkwell.observability import ExecutionEnvironment, logger, set_correlation_id

D = TypeVar("D", bound=EventData)
Effect = Callable[[Session, "ReceivedEvent[Any]"], None]


class InvalidEvent(ValueError):
    """An event whose data does not match its type's model: the invocation fails (Lambda
    retries it, then parks it in the dead-letter queue). Names the fields, never values."""


@dataclass(frozen=True)
class ReceivedEvent(Generic[D]):
    """An EventBridge event as a consumer sees it: its data parsed into its type's model."""

    event_id: str
    detail_type: str
    source: str
    occurred_at: str
    correlation_id: str | None
    version: int
    data: D

    @classmethod
    def from_eventbridge(cls, event: dict[str, Any]) -> ReceivedEvent[EventData]:
        detail = event.get("detail") or {}
        detail_type = str(event["detail-type"])
        event_id = str(detail["eventId"])
        try:
            data = MODELS[detail_type].model_validate(detail.get("data") or {})
        except ValidationError as exc:
            fields = sorted({".".join(map(str, e["loc"])) or "data" for e in exc.errors()})
            raise InvalidEvent(
                f"{detail_type} {event_id}: invalid data at {', '.join(fields)}"
            ) from None
        return ReceivedEvent(
            event_id=event_id,
            detail_type=detail_type,
            source=str(event["source"]),
            occurred_at=str(detail["occurredAt"]),
            correlation_id=detail.get("correlationId"),
            version=int(detail.get("version", 1)),
            data=data,
        )


class Consumer:
    """One consumer function: effects per event type, applied once per event id."""

    def __init__(self, name: str, domain: str) -> None:
        self.name = name
        self.db = database(domain)
        self.effects: dict[str, Effect] = {}
        self.environment = ExecutionEnvironment()

    def on(self, *models: type[EventData]) -> Callable[[Effect], Effect]:
        """Register the effect of the event types of `models`; it receives their data
        parsed (``event.data`` is one of `models`)."""

        def register(effect: Effect) -> Effect:
            for model in models:
                self.effects[model.TYPE] = effect
            return effect

        return register

    def handler(self, event: dict[str, Any], context: Any) -> dict[str, str]:
        self.environment.start(context)
        detail_type = str(event.get("detail-type"))
        effect = self.effects.get(detail_type)
        if effect is None:
            # A rule delivered a type this consumer does not handle: wiring is out of step.
            raise ValueError(f"{self.name} has no effect for {detail_type}")
        set_correlation_id((event.get("detail") or {}).get("correlationId"))
        received = ReceivedEvent.from_eventbridge(event)
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
