"""Helpers of the events tests: the outbox as the database holds it, what reached the local
bus, and pointing the functions' EventBridge client somewhere else for a while."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from inkwell import events
from local.bus import LocalEventBus
from tests.integration.support import sql


def outbox(detail_type: str | None = None) -> list[dict[str, Any]]:
    """The outbox rows, oldest first (optionally of one type)."""
    rows = sql("SELECT * FROM outbox ORDER BY id")
    return [r for r in rows if detail_type is None or r["detail_type"] == detail_type]


def audit_log() -> list[dict[str, Any]]:
    return sql("SELECT * FROM audit_log ORDER BY occurred_at, event_id")


def processed_events(consumer: str = "users-audit") -> list[dict[str, Any]]:
    return sql("SELECT * FROM processed_events WHERE consumer = :c", c=consumer)


def insert_outbox_rows(
    n: int,
    *,
    source: str = "inkwell.test",
    detail_type: str = "test.relayed",
    age_s: int = 60,
    published: bool = False,
    data: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """`n` outbox rows written `age_s` seconds ago, in id order, as a writer would have."""
    rows = []
    for i in range(n):
        event_id = str(uuid.uuid4())
        detail = {
            "eventId": event_id,
            "occurredAt": "2025-01-15T09:30:00.000000Z",
            "correlationId": f"corr-{i}",
            "version": 1,
            "data": {"n": i} if data is None else data,
        }
        (row,) = sql(
            "INSERT INTO outbox (event_id, source, detail_type, detail, created_at, published_at)"
            " VALUES (CAST(:event_id AS uuid), :source, :detail_type, CAST(:detail AS jsonb),"
            "  now() - make_interval(secs => CAST(:age AS integer)),"
            "  CASE WHEN :published THEN now() ELSE NULL END)"
            " RETURNING id, event_id",
            event_id=event_id,
            source=source,
            detail_type=detail_type,
            detail=json.dumps(detail),
            age=age_s,
            published=published,
        )
        rows.append(row)
    return rows


class BusWatch:
    """What the local bus received (and delivered) after this watch was started."""

    def __init__(self, bus: LocalEventBus) -> None:
        self.bus = bus
        self._events = len(bus.log.read("events"))
        self._deliveries = len(bus.log.read("deliveries"))
        self._dead = len(bus.log.read("dead-letters"))

    def events(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        found = [r["event"] for r in self.bus.log.read("events")[self._events :]]
        return [e for e in found if detail_type is None or e["detail-type"] == detail_type]

    def event_ids(self) -> list[str]:
        """The detail.eventId (the outbox's id of the event) of every event received."""
        return [e["detail"]["eventId"] for e in self.events()]

    def deliveries(self, consumer: str | None = None) -> list[dict[str, Any]]:
        found = self.bus.log.read("deliveries")[self._deliveries :]
        return [d for d in found if consumer is None or d["consumer"] == consumer]

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.bus.log.read("dead-letters")[self._dead :]


def closed_port() -> int:
    """A local port nothing listens on (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def events_endpoint(url: str) -> Iterator[None]:
    """Point the functions' EventBridge client at `url` (a new client), then restore it."""
    old = os.environ.get("AWS_ENDPOINT_URL_EVENTS")
    events.client().close()
    events.client.cache_clear()
    os.environ["AWS_ENDPOINT_URL_EVENTS"] = url
    try:
        yield
    finally:
        events.client().close()
        events.client.cache_clear()
        if old is None:
            os.environ.pop("AWS_ENDPOINT_URL_EVENTS", None)
        else:
            os.environ["AWS_ENDPOINT_URL_EVENTS"] = old
