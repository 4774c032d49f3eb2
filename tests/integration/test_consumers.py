"""Consumers: at most once per event id, an effect that fails leaves nothing behind, and on the
local bus a failing consumer is retried `max_retries` times and then dead-lettered."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import wiring
from inkwell.consumers import InvalidEvent
from inkwell.db import IntegrityConflict
from local import event_schemas
from local.bus import LocalEventBus
from local.sample_events import EVENTS_DIR
from tests.integration import failing_consumer
from tests.integration.conftest import Logs
from tests.integration.events_support import audit_log, processed_events
from tests.integration.support import sql
from users.consumers import audit

AUDIT = next(c for c in wiring.CONSUMERS if c.name == "users-audit")


def bus_event(detail_type: str = "user.registered", **data: Any) -> dict[str, Any]:
    """A fresh EventBridge event of `detail_type`, as EventBridge hands it to a consumer."""
    event = copy.deepcopy(json.loads((EVENTS_DIR / "bus" / f"{detail_type}.json").read_text()))
    event["id"] = str(uuid.uuid4())
    event["detail"]["eventId"] = str(uuid.uuid4())
    event["detail"]["correlationId"] = f"corr-{uuid.uuid4().hex}"
    event["detail"]["data"]["id"] = str(uuid.uuid4())
    event["detail"]["data"].update(data)
    return event


def redelivered(event: dict[str, Any]) -> dict[str, Any]:
    """The same event again: EventBridge retried it, or the relay published its row twice."""
    again = copy.deepcopy(event)
    again["id"] = str(uuid.uuid4())
    return again


# --- users-audit, called as Lambda calls it -------------------------------------------------


def test_the_same_event_twice_has_one_effect(clean_databases: dict[str, str]) -> None:
    event = bus_event("user.registered")
    event_schemas.validate(event)
    first = audit.handler(event, None)
    assert first == {"status": "processed", "eventId": event["detail"]["eventId"]}
    assert audit.handler(event, None) == {
        "status": "duplicate",
        "eventId": event["detail"]["eventId"],
    }
    assert audit.handler(redelivered(event), None)["status"] == "duplicate"

    (row,) = audit_log()
    assert str(row["event_id"]) == event["detail"]["eventId"]
    assert str(row["user_id"]) == event["detail"]["data"]["id"]
    assert row["detail_type"] == "user.registered"
    assert row["data"] == event["detail"]["data"]
    assert row["correlation_id"] == event["detail"]["correlationId"]
    (processed,) = processed_events()
    assert str(processed["event_id"]) == event["detail"]["eventId"]


def test_every_users_event_type_is_applied(clean_databases: dict[str, str]) -> None:
    user_id = str(uuid.uuid4())
    sent = [bus_event(t, id=user_id) for t in AUDIT.events]
    for event in sent:
        event_schemas.validate(event)
        assert audit.handler(event, None)["status"] == "processed"
    assert sorted(r["detail_type"] for r in audit_log()) == sorted(AUDIT.events)
    assert len(processed_events()) == len(sent)


def test_ids_are_remembered_per_consumer(clean_databases: dict[str, str]) -> None:
    event = bus_event()
    sql(
        "INSERT INTO processed_events (consumer, event_id) VALUES ('another-consumer',"
        " CAST(:id AS uuid))",
        id=event["detail"]["eventId"],
    )
    assert audit.handler(event, None)["status"] == "processed"
    assert len(audit_log()) == 1


def test_an_effect_that_fails_rolls_back_so_a_retry_applies_it(
    clean_databases: dict[str, str],
) -> None:
    event = bus_event("user.updated")
    event_id = event["detail"]["eventId"]
    # Something in the way of the effect: a row with the event's id already in audit_log.
    sql(
        "INSERT INTO audit_log (event_id, user_id, detail_type, data, occurred_at)"
        " VALUES (CAST(:id AS uuid), gen_random_uuid(), 'blocker', '{}', now())",
        id=event_id,
    )
    with pytest.raises(IntegrityConflict):
        audit.handler(event, None)
    assert processed_events() == []  # rolled back with the effect: not remembered

    sql("DELETE FROM audit_log WHERE detail_type = 'blocker'")
    assert audit.handler(redelivered(event), None)["status"] == "processed"
    (row,) = audit_log()
    assert (str(row["event_id"]), row["detail_type"]) == (event_id, "user.updated")
    assert len(processed_events()) == 1


def test_an_event_the_effect_cannot_use_is_not_remembered(
    clean_databases: dict[str, str],
) -> None:
    event = bus_event("user.deactivated", id="not-a-uuid")
    with pytest.raises(InvalidEvent):
        audit.handler(event, None)
    assert processed_events() == [] and audit_log() == []


def test_a_type_the_consumer_does_not_handle_fails_without_an_effect(
    clean_databases: dict[str, str],
) -> None:
    event = bus_event()
    event["detail-type"] = "user.exploded"
    with pytest.raises(ValueError, match=r"no effect for user\.exploded"):
        audit.handler(event, None)
    assert processed_events() == [] and audit_log() == []


def test_the_consumer_logs_with_the_events_correlation_id(
    clean_databases: dict[str, str], logs: Logs
) -> None:
    event = bus_event()
    audit.handler(event, None)
    audit.handler(event, None)
    lines = {line["message"]: line for line in logs.json_lines()}
    for message in ("event processed", "duplicate event ignored"):
        assert lines[message]["correlation_id"] == event["detail"]["correlationId"], message
        assert lines[message]["eventId"] == event["detail"]["eventId"]


# --- retries and dead letters on the local bus ----------------------------------------------


def declared(
    name: str, handler: str, max_retries: int = 2, events: tuple[str, ...] = ("user.registered",)
) -> wiring.Consumer:
    """A consumer declared as in wiring.CONSUMERS, its handler in failing_consumer."""
    return wiring.Consumer(
        name=name,
        handler=f"tests.integration.failing_consumer.{handler}",
        events=events,
        max_retries=max_retries,
    )


@pytest.fixture
def make_bus(tmp_path: Path, clean_databases: dict[str, str]) -> Iterator[Any]:
    buses: list[LocalEventBus] = []

    def make(*consumers: wiring.Consumer) -> LocalEventBus:
        bus = LocalEventBus(tmp_path, bus_name="test-bus", retry_delay_s=0.01, consumers=consumers)
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        bus.stop()


def put(bus: LocalEventBus, event: dict[str, Any]) -> str:
    answer = bus.put_events(
        {
            "Entries": [
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "EventBusName": bus.bus_name,
                }
            ]
        }
    )
    assert answer["FailedEntryCount"] == 0, answer
    event_id: str = answer["Entries"][0]["EventId"]
    return event_id


def test_a_failing_consumer_is_retried_then_dead_lettered(
    make_bus: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    failing = declared("always-fails", "handler", max_retries=2)
    bus = make_bus(failing)
    event = bus_event()
    bus_id = put(bus, event)
    assert bus.drain(10)

    deliveries = bus.log.read("deliveries")
    assert [(d["consumer"], d["attempt"], d["status"], d["error"]) for d in deliveries] == [
        ("always-fails", n, "failed", "ConsumerFailure") for n in (1, 2, 3)
    ]
    (letter,) = bus.log.read("dead-letters")
    assert (letter["consumer"], letter["eventId"], letter["attempt"]) == ("always-fails", bus_id, 3)
    assert letter["event"]["detail"] == event["detail"]
    assert letter["event"]["detail-type"] == "user.registered"

    from local import events as cli

    monkeypatch.setenv("INKWELL_DATA_DIR", str(tmp_path))
    assert cli.main(["--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["id"] == bus_id and row["detailType"] == "user.registered"
    assert row["correlationId"] == event["detail"]["correlationId"]
    assert row["deadLettered"] is True
    assert row["deliveries"] == [
        {"consumer": "always-fails", "attempt": n, "status": "failed"} for n in (1, 2, 3)
    ]
    assert cli.main(["--dead", "--json"]) == 0
    (dead,) = json.loads(capsys.readouterr().out)
    assert dead["event"]["id"] == bus_id and dead["error"] == "ConsumerFailure"
    assert cli.main(["--dead"]) == 0
    text = capsys.readouterr().out
    assert f"always-fails  user.registered  {bus_id}  after 3 attempts: ConsumerFailure" in text
    assert "1 dead letter(s)" in text
    assert cli.main([]) == 0
    text = capsys.readouterr().out
    assert "always-fails#3 failed" in text and "[DEAD-LETTERED]" in text


def test_max_retries_zero_dead_letters_after_one_attempt(make_bus: Any) -> None:
    bus = make_bus(declared("no-retries", "handler", max_retries=0))
    put(bus, bus_event())
    assert bus.drain(10)
    assert [d["attempt"] for d in bus.log.read("deliveries")] == [1]
    assert len(bus.log.read("dead-letters")) == 1


def test_a_consumer_that_recovers_within_its_retries_is_not_dead_lettered(
    make_bus: Any,
) -> None:
    bus = make_bus(declared("flaky", "flaky_handler", max_retries=2))
    event = bus_event()
    failing_consumer.FAIL_FIRST[event["detail"]["eventId"]] = 2
    put(bus, event)
    assert bus.drain(10)
    assert [(d["attempt"], d["status"]) for d in bus.log.read("deliveries")] == [
        (1, "failed"),
        (2, "failed"),
        (3, "ok"),
    ]
    assert bus.log.read("dead-letters") == []
    assert failing_consumer.ATTEMPTS[event["detail"]["eventId"]] == 3


def test_a_failing_consumer_does_not_hold_up_the_others(make_bus: Any) -> None:
    bus = make_bus(declared("always-fails", "handler", max_retries=1), AUDIT)
    event = bus_event()
    put(bus, event)
    assert bus.drain(10)
    by_consumer: dict[str, list[str]] = {}
    for d in bus.log.read("deliveries"):
        by_consumer.setdefault(d["consumer"], []).append(d["status"])
    assert by_consumer == {"always-fails": ["failed", "failed"], "users-audit": ["ok"]}
    assert [letter["consumer"] for letter in bus.log.read("dead-letters")] == ["always-fails"]
    (row,) = audit_log()
    assert str(row["event_id"]) == event["detail"]["eventId"]


def test_the_real_consumer_retried_after_a_failure_applies_once(make_bus: Any) -> None:
    """users-audit behind a transient failure (its first invocation fails before it runs):
    the bus retries, the retry applies it; the event published again is a duplicate."""
    bus = make_bus(declared("audit-behind-a-fault", "flaky_audit"))
    event = bus_event()
    event_id = event["detail"]["eventId"]
    failing_consumer.FAIL_FIRST[event_id] = 1
    put(bus, event)
    assert bus.drain(10)
    put(bus, event)  # the relay published the row again
    assert bus.drain(10)
    assert [
        (d["attempt"], d["status"], (d.get("result") or {}).get("status"))
        for d in bus.log.read("deliveries")
    ] == [(1, "failed", None), (2, "ok", "processed"), (1, "ok", "duplicate")]
    assert bus.log.read("dead-letters") == []
    (row,) = audit_log()
    assert (str(row["event_id"]), row["detail_type"]) == (event_id, "user.registered")
    assert len(processed_events()) == 1


def test_an_event_only_reaches_the_consumers_whose_rule_matches(make_bus: Any) -> None:
    registered_only = declared("registered-only", "flaky_handler", events=("user.registered",))
    updated_only = declared("updated-only", "flaky_handler", events=("user.updated",))
    bus = make_bus(registered_only, updated_only)
    put(bus, bus_event("user.updated"))
    wrong_source = bus_event("user.registered")
    wrong_source["source"] = "inkwell.content"  # the rule pins the source too
    put(bus, wrong_source)
    assert bus.drain(10)
    assert [d["consumer"] for d in bus.log.read("deliveries")] == ["updated-only"]
