"""Consumer handlers for the local bus's retry and dead-letter tests (loaded by dotted path,
as Lambda loads a handler): one that always fails, one that fails a set number of times per
event before it succeeds."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class ConsumerFailure(RuntimeError):
    pass


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    raise ConsumerFailure(f"cannot handle {event['detail-type']}")


# Failures still to come, per event id (the test sets them); attempts seen per event id.
FAIL_FIRST: Counter[str] = Counter()
ATTEMPTS: Counter[str] = Counter()
_lock = threading.Lock()


def flaky_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    event_id = event["detail"]["eventId"]
    with _lock:
        ATTEMPTS[event_id] += 1
        if FAIL_FIRST[event_id] > 0:
            FAIL_FIRST[event_id] -= 1
            raise ConsumerFailure(f"transient failure for {event_id}")
    return {"status": "processed", "eventId": event_id}


def flaky_audit(event: dict[str, Any], context: Any) -> dict[str, str]:
    """The real users-audit consumer behind a fault that clears after FAIL_FIRST attempts."""
    from users.consumers import audit

    event_id = event["detail"]["eventId"]
    with _lock:
        ATTEMPTS[event_id] += 1
        failing = FAIL_FIRST[event_id] > 0
        if failing:
            FAIL_FIRST[event_id] -= 1
    if failing:
        raise ConsumerFailure(f"transient failure for {event_id}")
    return audit.handler(event, context)
