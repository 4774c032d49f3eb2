"""The local event bus as the functions reach it: PutEvents over HTTP with their real client,
per-entry errors, rule matching, the gateway's /_aws/events mount and the relay timer."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import wiring
from inkwell import events, relay
from inkwell.db import database
from inkwell.eventbridge import Entry, EventBridgeClient, EventBridgeUnavailable
from local import event_schemas, gateway
from local.bus import LocalEventBus, ScheduleTimer, matches, serve
from local.dispatch import Dispatcher, ExecutionEnvironment
from local.events import summary
from tests.integration.events_support import BusWatch, insert_outbox_rows, outbox

BUS = "test-bus"


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[LocalEventBus]:
    """A bus of its own with no subscribers (the rules are not under test here)."""
    started = LocalEventBus(tmp_path, bus_name=BUS, retry_delay_s=0.01, consumers=())
    yield started
    started.stop()


@pytest.fixture
def bus_url(bus: LocalEventBus) -> Iterator[str]:
    server = serve(bus)
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def client_for(url: str) -> EventBridgeClient:
    client = EventBridgeClient(region="us-east-1")
    client.url = url
    return client


def detail(**data: Any) -> str:
    return json.dumps(
        {
            "eventId": str(uuid.uuid4()),
            "occurredAt": "2025-01-15T09:30:00Z",
            "correlationId": "c",
            "version": 1,
            "data": data,
        }
    )


def test_put_events_checks_each_entry_and_accepts_the_rest(
    bus: LocalEventBus, bus_url: str
) -> None:
    good = detail(
        id=str(uuid.uuid4()),
        username="alice",
        firstName=None,
        lastName=None,
        bio="",
        role="user",
        createdAt="2025-01-15T09:30:00Z",
    )
    entries = [
        Entry("inkwell.users", "user.registered", good, BUS),
        Entry("inkwell.users", "user.registered", good, "no-such-bus"),
        Entry("inkwell.users", "user.registered", "{not json", BUS),
        Entry("inkwell.users", "user.registered", "[1, 2]", BUS),
        Entry("", "user.registered", good, BUS),
        Entry("inkwell.users", "", good, BUS),
        Entry("inkwell.users", "user.updated", json.dumps({"pad": "x" * 256 * 1024}), BUS),
        Entry("inkwell.users", "user.registered", good, BUS),
    ]
    client = client_for(bus_url)
    try:
        results = client.put_events(entries)
    finally:
        client.close()
    assert [r.ok for r in results] == [True, False, False, False, False, False, False, True]
    assert [r.error_code for r in results] == [
        None,
        "InvalidArgument",
        "MalformedDetail",
        "MalformedDetail",
        "InvalidArgument",
        "InvalidArgument",
        "InvalidArgument",
        None,
    ]
    assert "no-such-bus does not exist" in (results[1].error_message or "")
    logged = [r["event"] for r in bus.log.read("events")]
    assert [e["id"] for e in logged] == [results[0].event_id, results[7].event_id]
    for event in logged:
        event_schemas.validate(event)  # a real EventBridge event around our detail
        assert event["detail"] == json.loads(good)
        assert event["account"] and event["region"] == "us-east-1"


def test_the_answer_counts_the_failed_entries(bus: LocalEventBus) -> None:
    answer = bus.put_events(
        {
            "Entries": [
                {"Source": "s", "DetailType": "t", "Detail": "{}", "EventBusName": BUS},
                {"Source": "s", "DetailType": "t", "Detail": "nope", "EventBusName": BUS},
                {"Source": "s", "DetailType": "t", "Detail": "{}", "EventBusName": "other"},
            ]
        }
    )
    assert answer["FailedEntryCount"] == 2
    assert "EventId" in answer["Entries"][0]


def test_only_put_events_is_spoken(bus_url: str) -> None:
    other = httpx.post(bus_url, content=b"{}", headers={"X-Amz-Target": "AWSEvents.ListRules"})
    assert other.status_code == 400
    assert other.json()["__type"] == "UnknownOperationException"
    garbage = httpx.post(bus_url, content=b"{nope", headers={"X-Amz-Target": "AWSEvents.PutEvents"})
    assert garbage.status_code == 400
    assert garbage.json()["__type"] == "SerializationException"


def test_the_client_reports_an_unusable_answer_as_unavailable(tmp_path: Path) -> None:
    # The gateway without a bus attached answers PutEvents as an unknown route.
    server, thread = gateway.start_in_thread(0, Dispatcher(throttling=False))
    client = client_for(server.url + gateway.EVENTS_PATH)
    try:
        with pytest.raises(EventBridgeUnavailable, match="HTTP 40"):
            client.put_events([Entry("inkwell.users", "user.updated", "{}", BUS)])
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_gateway_mounts_the_bus_at_aws_events(bus: LocalEventBus) -> None:
    server, thread = gateway.start_in_thread(0, Dispatcher(throttling=False))
    server.bus = bus
    client = client_for(server.url + gateway.EVENTS_PATH)
    try:
        (result,) = client.put_events([Entry("inkwell.users", "user.updated", detail(), BUS)])
        again = client.put_events([Entry("inkwell.users", "user.updated", detail(), BUS)])
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert result.ok and again[0].ok
    assert [r["event"]["id"] for r in bus.log.read("events")] == [
        result.event_id,
        again[0].event_id,
    ]


def test_publish_leaves_only_the_entries_the_bus_refused(
    clean_databases: dict[str, str], event_bus: LocalEventBus
) -> None:
    """Every entry's result is checked, not just the call's (real per-entry errors)."""
    rows = [events.OutboxRow(i, "inkwell.test", "test.published", {"n": i}) for i in range(1, 13)]
    rows[4] = events.OutboxRow(5, "inkwell.test", "test.published", {"pad": "x" * 300_000})
    rows[11] = events.OutboxRow(12, "inkwell.test", "test.published", {"pad": "y" * 300_000})
    watch = BusWatch(event_bus)
    accepted, failed = events.publish(rows)
    assert accepted == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]
    assert sorted(failed) == [5, 12]
    assert all(reason.startswith("InvalidArgument:") for reason in failed.values())
    assert [e["detail"].get("n") for e in watch.events()] == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]


def test_the_relay_marks_only_the_accepted_rows(
    clean_databases: dict[str, str], event_bus: LocalEventBus
) -> None:
    rows = insert_outbox_rows(5)
    rows += insert_outbox_rows(1, data={"pad": "x" * 300_000})  # EventBridge refuses it
    rows += insert_outbox_rows(3)
    watch = BusWatch(event_bus)
    result = relay.relay_once(database("users"), grace_s=0)
    assert (result.published, result.failed) == (8, 1)
    stored = outbox()
    assert [r["published_at"] is None for r in stored] == [False] * 5 + [True] + [False] * 3
    assert [r["attempts"] for r in stored] == [0] * 5 + [1] + [0] * 3
    assert (stored[5]["last_error"] or "").startswith("InvalidArgument:")
    assert len(watch.events()) == 8


def test_rule_matching_follows_the_declared_patterns() -> None:
    (audit,) = [c for c in wiring.CONSUMERS if c.name == "users-audit"]
    pattern = audit.pattern()
    assert pattern == {"source": ["inkwell.users"], "detail-type": list(audit.events)}
    assert matches(pattern, {"source": "inkwell.users", "detail-type": "user.updated"})
    assert not matches(pattern, {"source": "inkwell.users", "detail-type": "user.exploded"})
    assert not matches(pattern, {"source": "inkwell.content", "detail-type": "user.updated"})
    assert not matches(pattern, {"detail-type": "user.updated"})


def test_the_bus_routes_by_the_wiring_when_not_told_otherwise(tmp_path: Path) -> None:
    default = LocalEventBus(tmp_path, bus_name=BUS)
    try:
        assert default.consumers == wiring.CONSUMERS
    finally:
        default.stop()


def test_an_event_without_a_subscriber_is_listed_as_such(bus: LocalEventBus) -> None:
    answer = bus.put_events(
        {
            "Entries": [
                {
                    "Source": "inkwell.users",
                    "DetailType": "user.updated",
                    "Detail": detail(),
                    "EventBusName": BUS,
                }
            ]
        }
    )
    assert bus.drain(10)
    (row,) = summary(bus.log, 20)
    assert row["id"] == answer["Entries"][0]["EventId"]
    assert row["deliveries"] == [] and row["deadLettered"] is False


def test_the_summary_shows_the_most_recent_events(bus: LocalEventBus) -> None:
    for i in range(5):
        bus.put_events(
            {
                "Entries": [
                    {
                        "Source": "inkwell.users",
                        "DetailType": "user.updated",
                        "Detail": detail(n=i),
                        "EventBusName": BUS,
                    }
                ]
            }
        )
    rows = summary(bus.log, 2)
    assert [r["correlationId"] for r in rows] == ["c", "c"]
    assert len(rows) == 2
    assert rows[-1]["id"] == bus.log.read("events")[-1]["event"]["id"]


def test_the_relay_timer_runs_on_its_interval_until_stopped() -> None:
    ticks = threading.Semaphore(0)
    timer = ScheduleTimer(ticks.release, interval_s=0.01).start()
    try:
        assert ticks.acquire(timeout=10) and ticks.acquire(timeout=10)
    finally:
        timer.stop()
    assert not timer._thread.is_alive()


def test_the_relay_timer_runs_the_real_relays(
    clean_databases: dict[str, str], event_bus: LocalEventBus
) -> None:
    rows = insert_outbox_rows(3, age_s=60)
    watch = BusWatch(event_bus)
    environment = ExecutionEnvironment("test-relays")
    timer = ScheduleTimer.for_scheduled(environment, interval_s=0.02).start()
    try:
        deadline = time.monotonic() + 10
        while any(r["published_at"] is None for r in outbox()):
            assert time.monotonic() < deadline, "the relay timer did not publish the outbox"
            time.sleep(0.02)
    finally:
        timer.stop()
        environment.close()
    assert sorted(watch.event_ids()) == sorted(str(r["event_id"]) for r in rows)
