"""Consumer: emails each notification to its recipient (users-email).

The comments domain writes a user's notifications and announces each with
`notification.created`; events never carry email addresses, so this consumer, in the domain
that owns them, looks the recipient up and sends through the email port (`inkwell.email`:
the log locally, SES when enabled). Unknown and deactivated recipients get nothing.

At most once per event: the processed-event record (see inkwell.consumers) is written in
the transaction the email is sent in, so a redelivered event sends nothing, and a send that
raises rolls the record back, the invocation fails and Lambda retries it. (An email SES
accepted just before the transaction failed to commit would be sent again by the retry.)
"""

from __future__ import annotations

from inkwell import email
from inkwell.consumers import Consumer, ReceivedEvent
from inkwell.db import Session
from inkwell.event_models import NotificationCreated
from inkwell.observability import logger

consumer = Consumer("users-email", "users")


@consumer.on(NotificationCreated)
def send_notification(s: Session, event: ReceivedEvent[NotificationCreated]) -> None:
    data = event.data
    recipient = s.row(
        "SELECT email, is_active FROM users WHERE id = CAST(:id AS uuid)",
        id=data.recipient_id,
    )
    if recipient is None or not recipient["is_active"]:
        logger.info(
            "notification not emailed",
            extra={
                "notificationId": data.id,
                "recipientId": data.recipient_id,
                "reason": "unknown recipient" if recipient is None else "deactivated",
            },
        )
        return
    email.send(
        email.EmailMessage(
            to=str(recipient["email"]),
            subject=data.subject,
            text=data.text,
        )
    )


handler = consumer.handler
