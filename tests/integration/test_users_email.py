"""users-email, through its real handler as Lambda calls it, with real users rows: a
notification is emailed to its recipient once (a redelivered event sends nothing), unknown
and deactivated recipients get nothing, a send that fails is retried and then sends once.
Email goes through the log transport, or moto's SES where the transport is ses."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest

import wiring
from inkwell import email
from inkwell.email import EmailNotSent
from local import event_schemas, sample_events
from local.bus import LocalEventBus
from tests.conftest import Api
from tests.email_support import SENDER, sent
from tests.integration.conftest import Logs
from tests.integration.events_support import BusWatch, closed_port, processed_events
from tests.integration.support import USERS, Account
from users.consumers import email as users_email

CONSUMER = next(c for c in wiring.CONSUMERS if c.name == "users-email")
ALICE_EMAIL = "alice@example.com"  # what Api.register gives user "alice"
EMAILED = "email (log transport, not sent)"
NOT_EMAILED = "notification not emailed"


def notification(recipient_id: str, **data: Any) -> dict[str, Any]:
    """A fresh notification.created event for `recipient_id`, as EventBridge delivers it."""
    event = copy.deepcopy(sample_events.bus_event("notification.created"))
    event["id"] = str(uuid.uuid4())
    event["detail"]["eventId"] = str(uuid.uuid4())
    event["detail"]["correlationId"] = f"corr-{uuid.uuid4().hex}"
    event["detail"]["data"].update(
        {"id": str(uuid.uuid4()), "commentId": str(uuid.uuid4()), "recipientId": recipient_id},
        **data,
    )
    event_schemas.validate(event)
    return event


def redelivered(event: dict[str, Any]) -> dict[str, Any]:
    """The same event (same detail.eventId) again, as EventBridge or a relay may send it."""
    again = copy.deepcopy(event)
    again["id"] = str(uuid.uuid4())
    return again


def emails(logs: Logs) -> list[dict[str, Any]]:
    """The emails the log transport wrote."""
    return [line["email"] for line in logs.json_lines() if line.get("message") == EMAILED]


def logged_by_inkwell(logs: Logs) -> str:
    """Everything logged but the AWS SDK's own wire-level DEBUG records (request bodies,
    which only a developer turning botocore's logger up to DEBUG sees)."""
    records = [
        f"{r.getMessage()} {r.__dict__}"
        for r in logs.caplog.records
        if r.name.split(".")[0] not in ("botocore", "boto3", "urllib3")
    ]
    return "\n".join([logs.stream.getvalue(), *records, *logs.printed])


def skipped(logs: Logs) -> list[dict[str, Any]]:
    return [line for line in logs.json_lines() if line.get("message") == NOT_EMAILED]


def test_a_notification_is_emailed_to_its_recipient_once(
    email_env: pytest.MonkeyPatch, alice: Account, logs: Logs
) -> None:
    event = notification(
        alice.id, subject="New reply", text="bob replied:\n\nIndeed.", kind="reply"
    )
    event_id = event["detail"]["eventId"]
    assert users_email.handler(event, None) == {"status": "processed", "eventId": event_id}
    assert emails(logs) == [
        {
            "to": "a***@example.com",
            "from": None,
            "subject": "New reply",
            "text": "bob replied:\n\nIndeed.",
        }
    ]
    assert ALICE_EMAIL not in logged_by_inkwell(logs)

    assert users_email.handler(redelivered(event), None) == {
        "status": "duplicate",
        "eventId": event_id,
    }
    assert users_email.handler(event, None)["status"] == "duplicate"
    assert len(emails(logs)) == 1
    (row,) = processed_events("users-email")
    assert str(row["event_id"]) == event_id


def test_each_notification_is_its_own_email(
    email_env: pytest.MonkeyPatch, alice: Account, logs: Logs
) -> None:
    for n in range(3):
        users_email.handler(notification(alice.id, subject=f"Comment {n}"), None)
    assert [e["subject"] for e in emails(logs)] == ["Comment 0", "Comment 1", "Comment 2"]


def test_an_unknown_recipient_gets_nothing(
    email_env: pytest.MonkeyPatch, clean_databases: dict[str, str], logs: Logs
) -> None:
    nobody = str(uuid.uuid4())
    event = notification(nobody)
    assert users_email.handler(event, None)["status"] == "processed"
    assert emails(logs) == []
    (line,) = skipped(logs)
    assert (line["recipientId"], line["reason"]) == (nobody, "unknown recipient")
    assert line["notificationId"] == event["detail"]["data"]["id"]
    assert len(processed_events("users-email")) == 1


def test_a_deactivated_recipient_gets_nothing(
    email_env: pytest.MonkeyPatch, api: Api, alice: Account, logs: Logs
) -> None:
    response = api.call("DELETE", f"{USERS}/{alice.id}", token=alice.token)
    assert response.status == 204, response.body
    assert users_email.handler(notification(alice.id), None)["status"] == "processed"
    assert emails(logs) == []
    (line,) = skipped(logs)
    assert (line["recipientId"], line["reason"]) == (alice.id, "deactivated")


def test_over_ses_the_recipient_gets_one_email(ses: Any, alice: Account, logs: Logs) -> None:
    event = notification(alice.id)
    data = event["detail"]["data"]
    assert users_email.handler(event, None)["status"] == "processed"
    (message,) = sent()
    assert message.destinations == {"ToAddresses": [ALICE_EMAIL]}
    assert message.source == f"Inkwell <{SENDER}>"
    assert (message.subject, message.body) == (data["subject"], data["text"])

    assert users_email.handler(redelivered(event), None)["status"] == "duplicate"
    assert len(sent()) == 1
    assert ALICE_EMAIL not in logged_by_inkwell(logs)


def test_a_send_that_fails_is_not_remembered_and_its_retry_sends_once(
    ses: Any, email_env: pytest.MonkeyPatch, alice: Account
) -> None:
    """SES unreachable: the invocation fails, the processed-event record rolls back with it,
    and Lambda's retry (SES back) sends the email, once."""
    event = notification(alice.id)
    email_env.setenv("AWS_ENDPOINT_URL_SESV2", f"http://127.0.0.1:{closed_port()}")
    email.reset()
    with pytest.raises(EmailNotSent, match="unreachable"):
        users_email.handler(event, None)
    assert processed_events("users-email") == []
    assert sent() == []

    email_env.delenv("AWS_ENDPOINT_URL_SESV2")
    email.reset()
    assert users_email.handler(redelivered(event), None)["status"] == "processed"
    assert users_email.handler(redelivered(event), None)["status"] == "duplicate"
    (message,) = sent()
    assert message.destinations == {"ToAddresses": [ALICE_EMAIL]}
    assert len(processed_events("users-email")) == 1


def test_an_email_ses_rejects_is_not_retried(
    ses: Any, email_env: pytest.MonkeyPatch, alice: Account, logs: Logs
) -> None:
    """MessageRejected (an unverified sender) would be rejected again: the event counts as
    processed, with a warning."""
    email_env.setenv("INKWELL_EMAIL_SENDER", "unverified@inkwell.example")
    email.reset()
    event = notification(alice.id)
    assert users_email.handler(event, None)["status"] == "processed"
    assert sent() == []
    (warning,) = [line for line in logs.json_lines() if line.get("level") == "WARNING"]
    assert warning["errorCode"] == "MessageRejected" and warning["to"] == "a***@example.com"
    assert users_email.handler(redelivered(event), None)["status"] == "duplicate"
    assert ALICE_EMAIL not in logged_by_inkwell(logs)


def test_the_bus_delivers_notifications_to_users_email(
    email_env: pytest.MonkeyPatch, alice: Account, event_bus: LocalEventBus, logs: Logs
) -> None:
    """Through the rule the wiring declares, to the handler the wiring names."""
    assert event_bus.drain(10)
    watch = BusWatch(event_bus)
    event = notification(alice.id, subject="Your comment was approved", kind="approved")
    answer = event_bus.put_events(
        {
            "Entries": [
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "EventBusName": event_bus.bus_name,
                }
            ]
        }
    )
    assert answer["FailedEntryCount"] == 0, answer
    assert event_bus.drain(10)
    assert [(d["consumer"], d["status"]) for d in watch.deliveries()] == [(CONSUMER.name, "ok")]
    assert [e["subject"] for e in emails(logs)] == ["Your comment was approved"]
