"""Domain events: written to the outbox with the change, published after commit.

A repository statement that changes state announces it by adding the outbox insert to the
same SQL statement (a data-modifying CTE), so the change and its event commit together or
not at all, at no extra round trip::

    WITH changed AS (UPDATE users SET ... RETURNING *)
    {outbox.emit("changed", "jsonb_build_object('id', id, ...)")}
    SELECT * FROM changed {outbox.JOIN}

The statement's result carries the outbox row (``outbox_id``, ``outbox_type``,
``outbox_detail``); this module's result hook (inkwell.db.on_result) takes it out of the
result and keeps it with the unit of work, which, once the transaction has committed
(Session.after_commit), publishes it to EventBridge and marks it published (one round
trip). If EventBridge is unavailable the request still succeeds and the relay publishes
the event later.

Envelope: ``source`` = ``inkwell.<domain>``, ``detail-type`` = ``<entity>.<verb>``,
``detail`` = ``{eventId, occurredAt, correlationId, version, data}``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from inkwell import env
from inkwell.db import Database, Row, Session, on_result
from inkwell.observability import correlation_id, logger

if TYPE_CHECKING:
    # The EventBridge client (http.client, SigV4) is imported when something is published,
    # not at the cold start of every function that merely uses the database.
    from inkwell.eventbridge import Entry, EventBridgeClient

EVENT_VERSION = 1
OUTBOX_COLUMNS = ("outbox_id", "outbox_source", "outbox_type", "outbox_detail")


@dataclass(frozen=True)
class OutboxRow:
    id: int
    source: str
    detail_type: str
    detail: dict[str, Any]

    def entry(self, bus_name: str) -> Entry:
        from inkwell.eventbridge import Entry

        return Entry(self.source, self.detail_type, json.dumps(self.detail), bus_name)


def iso_utc(column: str) -> str:
    """SQL: `column` (timestamptz) as the ISO 8601 UTC text events carry, e.g.
    ``2025-01-15T09:30:00.000000Z``."""
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def emit(from_cte: str, data_sql: str) -> str:
    """SQL: a CTE that writes one event per row of `from_cte`, data built by `data_sql`.

    Bind the parameters with `announce(detail_type)`.
    """
    return (
        ", outbox_insert AS ("
        " INSERT INTO outbox (event_id, source, detail_type, detail)"
        " SELECT ids.event_id, :event_source, :event_type, jsonb_build_object("
        "  'eventId', ids.event_id,"
        f"  'occurredAt', {iso_utc('clock_timestamp()')},"
        "  'correlationId', CAST(:event_correlation AS text),"
        "  'version', CAST(:event_version AS integer),"
        f"  'data', {data_sql})"
        f" FROM {from_cte}, LATERAL (SELECT gen_random_uuid() AS event_id) ids"
        " RETURNING id, source, detail_type, detail)"
    )


# Appended to the final SELECT of a statement that used `emit`.
JOIN = (
    ", outbox_insert.id AS outbox_id, outbox_insert.source AS outbox_source,"
    " outbox_insert.detail_type AS outbox_type, outbox_insert.detail AS outbox_detail"
)
FROM_OUTBOX = " LEFT JOIN outbox_insert ON true"


def announcing(change: str, data_sql: str, returning: str, *, before: str = "") -> str:
    """A whole statement: `change` (INSERT/UPDATE/DELETE without RETURNING) returning
    `returning`, plus one event per changed row with data `data_sql` (over ``changed``).

    `before` adds CTEs (ending with ", ") that run in the same statement.
    """
    return (
        f"WITH {before}changed AS ({change} RETURNING {returning})"
        f"{emit('changed', data_sql)}"
        f" SELECT changed.*{JOIN} FROM changed{FROM_OUTBOX}"
    )


def announce(domain: str, detail_type: str) -> dict[str, Any]:
    """The parameters of an `emit` CTE."""
    return {
        "event_source": f"inkwell.{domain}",
        "event_type": detail_type,
        "event_correlation": correlation_id(),
        "event_version": EVENT_VERSION,
    }


def take_outbox_row(row: dict[str, Any]) -> OutboxRow | None:
    """Remove the outbox columns from a result row; the event they describe, if any."""
    values = [row.pop(name, None) for name in OUTBOX_COLUMNS]
    if values[0] is None:
        return None
    detail = values[3] if isinstance(values[3], dict) else json.loads(values[3])
    return OutboxRow(int(values[0]), str(values[1]), str(values[2]), detail)


_EMITTED = "inkwell.events.emitted"


@on_result
def _collect_outbox_rows(session: Session, names: list[str], rows: list[Row]) -> None:
    """Take the outbox columns out of a statement's result; publish their events once the
    unit of work has committed."""
    if "outbox_id" not in names:
        return
    taken = [event for event in map(take_outbox_row, rows) if event is not None]
    if not taken:
        return
    pending: list[OutboxRow] | None = session.kept.get(_EMITTED)
    if pending is None:
        pending = session.kept[_EMITTED] = []
        session.after_commit(lambda: publish_committed(session.db, pending))
    pending.extend(taken)


def emitted(session: Session) -> list[OutboxRow]:
    """The events this unit of work wrote so far, to be published after its commit."""
    return list(session.kept.get(_EMITTED, ()))


def bus_name() -> str | None:
    return os.environ.get(env.EVENT_BUS_NAME) or None


# A request publishing after its commit waits at most this long for EventBridge: the
# relay is the backstop, so a slow EventBridge must not make writes slow.
REQUEST_TIMEOUT_S = 1.0
RELAY_TIMEOUT_S = 5.0


@cache
def client(timeout_s: float = RELAY_TIMEOUT_S) -> EventBridgeClient:
    from inkwell.eventbridge import EventBridgeClient

    return EventBridgeClient(timeout_s=timeout_s)


def publish(
    rows: Sequence[OutboxRow], *, timeout_s: float = RELAY_TIMEOUT_S
) -> tuple[list[int], dict[int, str]]:
    """Send rows to EventBridge in calls of at most 10, checking every entry's result.

    Returns the ids accepted and, for the others, why not. Never raises for EventBridge
    being unavailable: the caller leaves those rows for the relay.
    """
    from inkwell.eventbridge import MAX_ENTRIES_PER_CALL, EventBridgeUnavailable

    bus = bus_name()
    if bus is None:
        return [], {row.id: f"{env.EVENT_BUS_NAME} is not set" for row in rows}
    accepted: list[int] = []
    failed: dict[int, str] = {}
    for start in range(0, len(rows), MAX_ENTRIES_PER_CALL):
        batch = list(rows[start : start + MAX_ENTRIES_PER_CALL])
        try:
            results = client(timeout_s).put_events([row.entry(bus) for row in batch])
        except EventBridgeUnavailable as exc:
            failed.update({row.id: str(exc) for row in batch})
            continue
        for row, result in zip(batch, results, strict=True):
            if result.ok:
                accepted.append(row.id)
            else:
                failed[row.id] = f"{result.error_code}: {result.error_message}"
    return accepted, failed


def publish_committed(db: Database, rows: Sequence[OutboxRow]) -> None:
    """After commit: publish what the transaction wrote and mark it published.

    Anything not accepted stays in the outbox for the relay; the request succeeds either way.
    """
    accepted, failed = publish(rows, timeout_s=REQUEST_TIMEOUT_S)
    if failed:
        logger.warning(
            "events left for the relay",
            extra={"outboxIds": sorted(failed), "reason": next(iter(failed.values()))},
        )
    if accepted:
        try:
            with db.reader() as s:
                mark_published(s, accepted)
        except Exception as exc:  # the relay will publish them again; consumers dedupe
            logger.warning(
                "could not mark events published", extra={"errorType": type(exc).__name__}
            )


def mark_published(s: Any, ids: Sequence[int]) -> None:
    s.execute(
        "UPDATE outbox SET published_at = now()"
        " WHERE id = ANY(CAST(:ids AS bigint[])) AND published_at IS NULL",
        ids=list(ids),
    )
