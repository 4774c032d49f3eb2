"""Consumer: keeps each account's audit trail (registration, profile, role, deactivation).

Subscribed to the users events; a redelivered event is applied once (see inkwell.consumers).
"""

from __future__ import annotations

from inkwell.consumers import Consumer, ReceivedEvent
from inkwell.db import Session
from inkwell.event_models import UserDeactivated, UserRegistered, UserRoleChanged, UserUpdated

consumer = Consumer("users-audit", "users")


@consumer.on(UserRegistered, UserUpdated, UserRoleChanged, UserDeactivated)
def record(
    s: Session,
    event: ReceivedEvent[UserRegistered | UserUpdated | UserRoleChanged | UserDeactivated],
) -> None:
    s.execute(
        "INSERT INTO audit_log (event_id, user_id, detail_type, data, correlation_id, occurred_at)"
        " VALUES (CAST(:event_id AS uuid), CAST(:user_id AS uuid), :detail_type,"
        "         CAST(:data AS jsonb), :correlation_id, CAST(:occurred_at AS timestamptz))",
        event_id=event.event_id,
        user_id=event.data.id,
        detail_type=event.detail_type,
        data=event.data.model_dump_json(by_alias=True),
        correlation_id=event.correlation_id,
        occurred_at=event.occurred_at,
    )


handler = consumer.handler
