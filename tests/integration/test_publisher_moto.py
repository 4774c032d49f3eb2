"""The publisher against moto's EventBridge over real HTTP: the functions' own SigV4 client,
a rule (the one declared in the wiring) targeting SQS to read back what was published,
and moto's request recorder to see each PutEvents call."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.moto_api import recorder

import wiring
from inkwell import events, relay
from inkwell.db import database
from inkwell.eventbridge import MAX_ENTRIES_PER_CALL
from local import event_schemas, platform
from tests.conftest import Api
from tests.integration.events_support import events_endpoint, insert_outbox_rows, outbox
from tests.integration.support import PASSWORD, USERS, sql

pytestmark = pytest.mark.xdist_group("moto")

REGION = "us-east-1"
AUDIT = next(c for c in wiring.CONSUMERS if c.name == "users-audit")


@dataclass
class MotoBus:
    url: str
    queue_url: str
    recording: Path
    sqs: Any
    eventbridge: Any

    def received(self) -> list[dict[str, Any]]:
        """Every event the rule delivered to the queue since last asked (then deleted)."""
        found: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            messages = answer.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def put_events_calls(self) -> list[list[dict[str, Any]]]:
        """The Entries of each PutEvents request moto received while recording."""
        calls = []
        text = self.recording.read_text() if self.recording.exists() else ""
        for line in text.splitlines():
            record = json.loads(line)
            headers = {k.lower(): v for k, v in record["headers"].items()}
            if headers.get("x-amz-target") != "AWSEvents.PutEvents":
                continue
            body = record["body"]
            raw = base64.b64decode(body) if record.get("body_encoded") else body.encode()
            calls.append(json.loads(raw)["Entries"])
        return calls


@pytest.fixture
def moto_bus(
    moto_url: str,
    tmp_path: Path,
    clean_databases: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[MotoBus]:
    """moto reset; the bus the functions publish to, the users-audit rule (its declared
    pattern) targeting an SQS queue; the functions' client pointed at moto; recording on."""
    httpx.post(f"{moto_url}/moto-api/reset").raise_for_status()
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)
    eventbridge = boto3.client("events", endpoint_url=moto_url, region_name=REGION)
    bus_arn = eventbridge.create_event_bus(Name=platform.LOCAL_BUS_NAME)["EventBusArn"]
    assert bus_arn.endswith(f"event-bus/{platform.LOCAL_BUS_NAME}")
    queue_url = sqs.create_queue(QueueName=f"{AUDIT.name}-target")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    eventbridge.put_rule(
        Name=AUDIT.name,
        EventBusName=platform.LOCAL_BUS_NAME,
        EventPattern=json.dumps(AUDIT.pattern()),
        State="ENABLED",
    )
    eventbridge.put_targets(
        Rule=AUDIT.name,
        EventBusName=platform.LOCAL_BUS_NAME,
        Targets=[{"Id": "queue", "Arn": queue_arn}],
    )
    recording = tmp_path / "moto-recording.jsonl"
    monkeypatch.setattr(recorder, "_location", str(recording))
    httpx.post(f"{moto_url}/moto-api/recorder/start-recording").raise_for_status()
    try:
        with events_endpoint(moto_url):
            yield MotoBus(moto_url, queue_url, recording, sqs, eventbridge)
    finally:
        httpx.post(f"{moto_url}/moto-api/recorder/stop-recording").raise_for_status()


def validate_as_delivered(event: dict[str, Any]) -> None:
    """Check an event read back from the queue against its schema. moto's default SQS input
    template drops the `account` field that EventBridge delivers (moto/events/utils.py
    DEFAULT_EVENT_INPUT_TEMPLATE), so it is put back; everything else is as moto sent it."""
    event_schemas.validate({"account": "123456789012", **event})


def users_rows(n: int) -> list[events.OutboxRow]:
    types = list(AUDIT.events)
    return [
        events.OutboxRow(
            i,
            "inkwell.users",
            types[i % len(types)],
            {
                "eventId": str(uuid.uuid4()),
                "occurredAt": "2025-01-15T09:30:00.000000Z",
                "correlationId": f"corr-{i}",
                "version": 1,
                "data": {"n": i},
            },
        )
        for i in range(1, n + 1)
    ]


def test_publish_sends_at_most_10_per_call_and_every_entry_arrives_intact(
    moto_bus: MotoBus,
) -> None:
    rows = users_rows(23)
    accepted, failed = events.publish(rows)
    assert failed == {}
    assert accepted == [r.id for r in rows]

    calls = moto_bus.put_events_calls()
    assert [len(c) for c in calls] == [10, 10, 3]
    assert all(len(c) <= MAX_ENTRIES_PER_CALL for c in calls)
    sent = [entry for call in calls for entry in call]
    assert {e["EventBusName"] for e in sent} == {platform.LOCAL_BUS_NAME}
    assert [json.loads(e["Detail"]) for e in sent] == [r.detail for r in rows]

    received = moto_bus.received()
    assert len(received) == 23
    by_event_id = {e["detail"]["eventId"]: e for e in received}
    for row in rows:
        event = by_event_id[row.detail["eventId"]]
        assert event["source"] == row.source == "inkwell.users"
        assert event["detail-type"] == row.detail_type
        assert event["detail"] == row.detail
        assert event["region"] == REGION


def test_only_the_entries_eventbridge_refused_stay_for_the_relay(moto_bus: MotoBus) -> None:
    """moto answers per entry (FailedEntryCount): here for entries without a detail-type."""
    rows = insert_outbox_rows(12, source="inkwell.users", detail_type="user.updated")
    broken = [rows[2]["id"], rows[11]["id"]]
    sql("UPDATE outbox SET detail_type = '' WHERE id = ANY(CAST(:ids AS bigint[]))", ids=broken)
    db = database("users")

    first = relay.relay_once(db, grace_s=0)
    assert (first.published, first.failed) == (10, 2)
    stored = {r["id"]: r for r in outbox()}
    for row_id, row in stored.items():
        if row_id in broken:
            assert row["published_at"] is None and row["attempts"] == 1
            assert (row["last_error"] or "").startswith("InvalidArgument: Parameter DetailType")
        else:
            assert row["published_at"] is not None and row["attempts"] == 0
    assert [len(c) for c in moto_bus.put_events_calls()] == [10, 2]
    received = moto_bus.received()
    assert sorted(e["detail"]["eventId"] for e in received) == sorted(
        str(r["event_id"]) for r in rows if r["id"] not in broken
    )

    # Whatever made EventBridge refuse them clears; the next relay run publishes just those.
    sql("UPDATE outbox SET detail_type = 'user.updated' WHERE detail_type = ''")
    second = relay.run(db, grace_s=0)
    assert (second.published, second.failed) == (2, 0)
    assert all(r["published_at"] is not None for r in outbox())
    assert sorted(e["detail"]["eventId"] for e in moto_bus.received()) == sorted(
        str(r["event_id"]) for r in rows if r["id"] in broken
    )


def test_a_call_refused_as_a_whole_leaves_its_batch_for_the_relay(moto_bus: MotoBus) -> None:
    insert_outbox_rows(3, source="inkwell.users", detail_type="user.updated")
    moto_bus.eventbridge.delete_event_bus(Name=platform.LOCAL_BUS_NAME)  # ResourceNotFound
    result = relay.relay_once(database("users"), grace_s=0)
    assert (result.published, result.failed) == (0, 3)
    assert {r["last_error"] for r in outbox()} == {
        "PutEvents answered HTTP 400 (ResourceNotFoundException)"
    }
    assert moto_bus.received() == []


def test_relay_publishes_a_backlog_to_eventbridge_in_calls_of_10(moto_bus: MotoBus) -> None:
    rows = insert_outbox_rows(25, source="inkwell.users", detail_type="user.deactivated")
    result = relay.run(database("users"), grace_s=0)
    assert (result.published, result.failed) == (25, 0)
    assert [len(c) for c in moto_bus.put_events_calls()] == [10, 10, 5]
    sent_ids = [
        json.loads(e["Detail"])["eventId"] for call in moto_bus.put_events_calls() for e in call
    ]
    assert sent_ids == [str(r["event_id"]) for r in rows]  # oldest first
    assert len(moto_bus.received()) == 25


def test_a_registration_reaches_eventbridge_valid_correlated_and_without_email(
    moto_bus: MotoBus, api: Api
) -> None:
    request_id = f"moto-{uuid.uuid4()}"
    response = api.call(
        "POST",
        f"{USERS}/register",
        {
            "username": "erin",
            "email": "erin@example.com",
            "password": PASSWORD,
            "firstName": "Erin",
            "bio": "Writes about buses.",
        },
        headers={"X-Request-ID": request_id},
    )
    assert response.status == 201, response.body
    user = response.json()

    (event,) = moto_bus.received()
    validate_as_delivered(event)
    assert event["source"] == "inkwell.users"
    assert event["detail-type"] == "user.registered"
    assert event["detail"]["correlationId"] == request_id
    assert event["detail"]["data"]["id"] == user["id"]
    assert event["detail"]["data"]["username"] == "erin"
    assert "email" not in json.dumps(event).lower()
    assert "erin@example.com" not in json.dumps(event)
    (row,) = outbox()
    assert row["published_at"] is not None
    assert event["detail"] == row["detail"]
    (call,) = moto_bus.put_events_calls()
    assert [e["DetailType"] for e in call] == ["user.registered"]
